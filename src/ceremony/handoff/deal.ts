// Hand-off phase 1, Deal (DESIGN §3.4): old member i, for each secret, picks f_i of degree k_new−1
// with f_i(0) = its share (reshare.ts dealReshare), publishes the Feldman commitments C_i (C_i[0] is
// its verifying share), seals f_i(x_j) to each new member j's transport key (HPKE, info binding
// epoch, session, dealer, recipient and secret), and signs the whole dealing with its identity key.
// Pure: no I/O; the engine stores the encoded dealing before it serves it.
import { randomBytes } from '@noble/hashes/utils.js';
import { concatBytes, equalBytes } from '../../crypto/bytes.js';
import { hpkeSeal } from '../../crypto/hpke.js';
import { signTagged } from '../../crypto/identity.js';
import { assertKeyPackage, type KeyPackage, type Rng, type Suite } from '../../crypto/frost.js';
import { dealReshare } from '../../crypto/reshare.js';
import {
  HandoffError, SUITES, dealingBody, dealingHash, encodeDealing, memberByNodeId, subShareInfo,
  type Dealing, type HandoffSetup, type SuiteDealing,
} from './messages.js';

/** What a dealer needs: its node id, identity key and its current key packages for both secrets. */
export interface DealerKeys {
  nodeId: Uint8Array;
  identitySecret: Uint8Array;
  shares: Record<Suite, KeyPackage>;
}

/** Deals both secrets to every new member. Returns the signed dealing, its encoding and hash. */
export async function deal(setup: HandoffSetup, dealer: DealerKeys, rng: Rng = randomBytes): Promise<{ dealing: Dealing; encoded: Uint8Array; hash: Uint8Array }> {
  const me = memberByNodeId(setup.old.members, dealer.nodeId);
  if (!me) throw new HandoffError('only a member of the old roster deals');
  const suites = {} as Record<Suite, SuiteDealing>;
  const newIds = setup.next.members.map((m) => m.identifier);
  for (const suite of SUITES) {
    const key = assertKeyPackage(dealer.shares[suite]);
    const group = setup.old.groups[suite];
    if (key.suite !== suite || key.identifier !== me.identifier) throw new HandoffError(`the ${suite} key package is not this dealer's`);
    if (!equalBytes(key.verifyingShares[key.identifier]!, group.verifyingShares[me.identifier]!) || !equalBytes(key.groupPublicKey, group.groupPublicKey))
      throw new HandoffError(`the ${suite} key package does not match the certified old roster`);
    const d = dealReshare(key, newIds, setup.next.threshold, rng);
    const sealed: Uint8Array[] = [];
    for (const [j, m] of setup.next.members.entries()) {
      const sub = d.subShares[j]!;
      const { enc, ciphertext } = await hpkeSeal(m.transportKey, subShareInfo(setup, dealer.nodeId, m.nodeId, suite), sub.subShare);
      sub.subShare.fill(0);
      sealed.push(concatBytes(enc, ciphertext));
    }
    suites[suite] = { commitments: d.commitment.commitments, sealed };
  }
  const unsigned = { epoch: setup.epoch, session: setup.session, dealer: Uint8Array.from(dealer.nodeId), suites };
  const dealing: Dealing = { ...unsigned, signature: signTagged(dealer.identitySecret, 'handoff-dealing', dealingBody(unsigned)) };
  const encoded = encodeDealing(dealing);
  return { dealing, encoded, hash: dealingHash(encoded) };
}
