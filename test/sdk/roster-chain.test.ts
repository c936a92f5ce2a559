// The client's roster certificate chain (DESIGN §3.5, docs/roster.md) over real hand-offs: genesis
// signed by its own CPK, each next roster signed by the outgoing committee (old shares, same CPK) and
// naming the previous certificate's hash. The client accepts it from the pinned CPK and refuses a
// link signed by anything else or not chained.
import { schnorr } from '@noble/curves/secp256k1.js';
import { verifyRosterChain } from '../../src/sdk/client.js';
import { CommitteeVerificationError } from '../../src/sdk/errors.js';
import { encodeRoster, hashOfCertificate, rosterCertificateMessage, type RosterCertificate } from '../../src/committee/roster.js';
import { certify, genesis, handOff, makeNode, rosterOf, type Committee } from '../ceremony/lifecycle.js';

describe('roster certificate chain from the pinned CPK', () => {
  const nodes = Array.from({ length: 6 }, (_, i) => makeNode(`c${i}`));
  const committees: Committee[] = [];
  let foreign: Committee;
  beforeAll(async () => {
    committees.push(genesis(nodes.slice(0, 4), 3, 'chain'));
    committees.push((await handOff(committees[0]!, nodes.slice(0, 5), 4)).next);
    committees.push((await handOff(committees[1]!, nodes.slice(1, 5), 3)).next);
    committees.push((await handOff(committees[2]!, committees[2]!.nodes, 3)).next);
    foreign = genesis(nodes.slice(2, 6), 3, 'foreign');
  }, 60_000);
  const pinned = () => committees[0]!.roster.committeeKey;
  const chain = () => committees[3]!.chain;

  test('a chain of four certificates (genesis, two hand-offs, a refresh) verifies to the newest roster', () => {
    expect(chain()).toHaveLength(4);
    const newest = verifyRosterChain(chain(), pinned());
    expect(newest.epoch).toBe(4);
    expect(Buffer.from(encodeRoster(newest)).equals(Buffer.from(encodeRoster(committees[3]!.roster)))).toBe(true);
    // every prefix is a valid chain too
    expect(verifyRosterChain(chain().slice(0, 3), pinned()).epoch).toBe(3);
  });

  test('refuses a link signed by another committee key', () => {
    const c2 = committees[2]!;
    const forged = certify(c2.roster, [...foreign.keys.values()].map((k) => k.signing));
    expect(() => verifyRosterChain([...chain().slice(0, 2), forged], pinned())).toThrow(/epoch 3 roster certificate is not signed by the epoch 2 committee key/);
  });

  test('refuses a link signed by a single member key (BIP340, not the committee)', () => {
    const c2 = committees[2]!;
    const cert: RosterCertificate = { epoch: 3, rosterBytes: encodeRoster(c2.roster), signature: schnorr.sign(rosterCertificateMessage(3, encodeRoster(c2.roster)), nodes[1]!.identitySecret) };
    expect(() => verifyRosterChain([...chain().slice(0, 2), cert], pinned())).toThrow(CommitteeVerificationError);
  });

  test('refuses a link with a broken previous-certificate hash, even if the committee signed it', () => {
    const c1 = committees[1]!;
    const c2 = committees[2]!;
    const unlinked = rosterOf(3, 3, c2.nodes, c2.publics, hashOfCertificate(chain()[0]!)); // names genesis, skips epoch 2
    const cert = certify(unlinked, [...c1.keys.values()].map((k) => k.signing));
    expect(() => verifyRosterChain([...chain().slice(0, 2), cert], pinned())).toThrow(/does not chain to the epoch 2 certificate/);
  });

  test('refuses a chain that does not start at genesis, a reordered chain, and a different pinned key', () => {
    expect(() => verifyRosterChain(chain().slice(1), pinned())).toThrow(/not a genesis roster/);
    expect(() => verifyRosterChain([chain()[0]!, chain()[2]!, chain()[1]!, chain()[3]!], pinned())).toThrow(CommitteeVerificationError);
    expect(() => verifyRosterChain(chain(), foreign.roster.committeeKey)).toThrow(/not the pinned/);
  });
});
