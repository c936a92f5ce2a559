// The hand-off protocol end to end in process (DESIGN §3.4): 4 (k=3) → 5 (k=4) → 4 (k=3, another
// member removed) → refresh, both secrets through deal, acknowledge, qualify and combine; then a
// malicious dealer, false complaints and dishonest proposals.
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8, concatBytes } from '../../src/crypto/bytes.js';
import { hpkeSeal } from '../../src/crypto/hpke.js';
import { signTagged } from '../../src/crypto/identity.js';
import { assertKeyPackage } from '../../src/crypto/frost.js';
import {
  BadPartialError, combinePartials, deriveContractKey, evaluatePartial, verifyPartial,
} from '../../src/crypto/contract-key.js';
import {
  HandoffError, checkProposal, combine, dealingBody, decodeDealing, decodeProposal, encodeDealing, encodeProposal,
  propose, proposalBody, subShareInfo, verifyHandoffComplaint, decodeComplaint, encodeComplaint, complaintBody,
  decodeAcknowledgement, type HandoffSetup,
} from '../../src/ceremony/handoff/index.js';
import { discloseSharedSecret, splitSealed } from '../../src/ceremony/complaint.js';
import { frostSign, genesis, handOff, makeNode, type Committee, type Node } from './lifecycle.js';

const hex = bytesToHex;
const cid = utf8('demo-contract');

function contractKey(c: Committee, members: Node[]): Uint8Array {
  const partials = members.slice(0, c.roster.threshold).map((n) => evaluatePartial(c.keys.get(hex(n.nodeId))!.derivation, cid, 1));
  const { Y } = combinePartials(partials, c.publics.derivation.verifyingShares, c.roster.threshold, cid, 1);
  return deriveContractKey(Y, cid, 1).publicKey;
}

describe('hand-off 4 (k=3) → 5 (k=4) → 4 (k=3) → refresh, both secrets', () => {
  const nodes = Array.from({ length: 6 }, (_, i) => makeNode(`n${i}`));
  let c0: Committee;
  const steps: Committee[] = [];

  beforeAll(async () => {
    c0 = genesis(nodes.slice(0, 4), 3);
    const c1 = (await handOff(c0, nodes.slice(0, 5), 4)).next;                      // n4 joins
    const c2 = (await handOff(c1, [nodes[0]!, nodes[2]!, nodes[3]!, nodes[4]!], 3)).next; // n1 removed
    const c3 = (await handOff(c2, c2.nodes, 3)).next;                                // refresh
    steps.push(c1, c2, c3);
  }, 60_000);

  test('MPK and CPK are unchanged after every transition; key packages are frost.ts packages', () => {
    for (const c of steps) {
      expect(hex(c.roster.masterPublicKey)).toBe(hex(c0.roster.masterPublicKey));
      expect(hex(c.roster.committeeKey)).toBe(hex(c0.roster.committeeKey));
      for (const k of c.keys.values()) { assertKeyPackage(k.derivation); assertKeyPackage(k.signing); }
    }
    expect(steps.map((c) => [c.roster.members.length, c.roster.threshold])).toEqual([[5, 4], [4, 3], [4, 3]]);
  });

  test('k new members FROST-sign under the pinned CPK (schnorr.verify)', () => {
    for (const c of steps) {
      const msg = utf8(`epoch ${c.roster.epoch}`);
      const signers = [...c.keys.values()].reverse().map((k) => k.signing);
      expect(schnorr.verify(frostSign(signers, msg), msg, c0.roster.committeeKey)).toBe(true);
    }
  });

  test('contract-key partials from the new shares give the same pk_c as from the old', () => {
    const before = contractKey(c0, c0.nodes);
    for (const c of steps) expect(hex(contractKey(c, [...c.nodes].reverse()))).toBe(hex(before));
  });

  test('old shares are useless: their partials fail against the new verifying shares', () => {
    for (const [prev, c] of [[c0, steps[0]!], [steps[0]!, steps[1]!], [steps[1]!, steps[2]!]] as const) {
      const olds = prev.nodes.slice(0, c.roster.threshold).map((n) => prev.keys.get(hex(n.nodeId))!.derivation);
      const partials = olds.map((k) => evaluatePartial(k, cid, 1));
      for (const p of partials) {
        const S = c.publics.derivation.verifyingShares[p.identifier];
        if (S) expect(verifyPartial(p, S, cid, 1)).toBe(false);
      }
      expect(() => combinePartials(partials, c.publics.derivation.verifyingShares, c.roster.threshold, cid, 1)).toThrow(BadPartialError);
    }
    // the member removed at epoch 3 (n1) still has its epoch-2 share; it no longer fits anything
    const removed = steps[0]!.keys.get(hex(nodes[1]!.nodeId))!.derivation;
    const p = evaluatePartial(removed, cid, 1);
    for (const S of Object.values(steps[1]!.publics.derivation.verifyingShares)) expect(verifyPartial(p, S, cid, 1)).toBe(false);
  });

  test('a refresh changes every share of the same roster', () => {
    const [c2, c3] = [steps[1]!, steps[2]!];
    for (const [id, k] of c3.keys) expect(hex(k.signing.signingShare)).not.toBe(hex(c2.keys.get(id)!.signing.signingShare));
  });
});

/** A malicious dealer: re-seals one sub-share for one recipient with a wrong value, and signs it. */
function badSubShare(target: Node, suite: 'derivation' | 'signing') {
  return async (dealer: Node, encoded: Uint8Array, setup: HandoffSetup) => {
    const d = decodeDealing(encoded);
    const j = setup.next.members.findIndex((m) => hex(m.nodeId) === hex(target.nodeId));
    const wrong = new Uint8Array(32).fill(7);
    const { enc, ciphertext } = await hpkeSeal(target.transportKey, subShareInfo(setup, dealer.nodeId, target.nodeId, suite), wrong);
    d.suites[suite].sealed[j] = concatBytes(enc, ciphertext);
    d.signature = signTagged(dealer.identitySecret, 'handoff-dealing', dealingBody(d));
    return encodeDealing(d);
  };
}

describe('a dealer sending one bad sub-share', () => {
  const nodes = Array.from({ length: 5 }, (_, i) => makeNode(`b${i}`));
  test('is named by a verifiable complaint, excluded from Q, and the hand-off completes', async () => {
    const c0 = genesis(nodes.slice(0, 4), 3, 'bad-dealer');
    const culprit = c0.nodes[0]!;   // first in roster order: Q would take it
    const victim = nodes[4]!;
    const run = await handOff(c0, nodes, 4, {
      dealing: (dealer, encoded, setup) => (dealer === culprit ? badSubShare(victim, 'signing')(dealer, encoded, setup) : encoded),
    });
    const ack = run.acks.get(hex(victim.nodeId))!;
    expect(ack.complaints.map((c) => [hex(c.dealer), c.suite])).toEqual([[hex(culprit.nodeId), 'signing']]);
    expect(ack.acknowledgement.accepted.map((r) => hex(r.dealer))).not.toContain(hex(culprit.nodeId));
    const judged = await verifyHandoffComplaint(run.setup, ack.complaints[0]!.encoded);
    expect(judged.verdict).toBe('dealer-guilty');
    expect(judged.reason).toMatch(/does not match the sender's commitments/);
    expect(hex(judged.dealer)).toBe(hex(culprit.nodeId));
    // every other member acknowledged the culprit; Q is still the 3 honest dealers
    const q = decodeProposal(run.proposal).qualified.map((r) => hex(r.dealer));
    expect(q).toEqual(c0.nodes.slice(1).map((n) => hex(n.nodeId)));
    expect(hex(run.next.roster.committeeKey)).toBe(hex(c0.roster.committeeKey));
    const msg = utf8('after a bad dealer');
    expect(schnorr.verify(frostSign([...run.next.keys.values()].map((k) => k.signing), msg), msg, c0.roster.committeeKey)).toBe(true);
  }, 60_000);

  test('with fewer than k_old honest dealers left, no proposal can be made (the hand-off aborts, nothing combines)', async () => {
    const c0 = genesis(nodes.slice(0, 4), 3, 'two-bad-dealers');
    const [a, b] = [c0.nodes[0]!, c0.nodes[3]!];
    await expect(handOff(c0, nodes, 4, {
      dealing: (dealer, encoded, setup) => (dealer === a || dealer === b ? badSubShare(nodes[4]!, 'derivation')(dealer, encoded, setup) : encoded),
    })).rejects.toThrow(/only 2 dealers were acknowledged by every new member; need 3/);
  }, 60_000);

  test('a false complaint about an honest dealing is judged false, and a forged disclosure cannot make it true', async () => {
    const c0 = genesis(nodes.slice(0, 4), 3, 'false-complaint');
    const run = await handOff(c0, nodes.slice(0, 4), 3);
    const accuser = run.setup.next.members[1]!;
    const accuserNode = nodes.find((n) => hex(n.nodeId) === hex(accuser.nodeId))!;
    const honest = run.dealings[2]!;
    const d = decodeDealing(honest);
    const { enc } = splitSealed(d.suites.derivation.sealed[1]!);
    const make = (disclosure: { dhPoint: Uint8Array; proof: Uint8Array }) => {
      const unsigned = { epoch: run.setup.epoch, session: run.setup.session, accuser: accuser.nodeId, suite: 'derivation' as const, dealing: honest, disclosure };
      return encodeComplaint({ ...unsigned, signature: signTagged(accuserNode.identitySecret, 'handoff-complaint', complaintBody(unsigned)) });
    };
    // an honest disclosure opens the sub-share, which matches: the complaint is false
    const honestDisclosure = discloseSharedSecret(accuserNode.transportSecret, accuser.transportKey, enc);
    expect((await verifyHandoffComplaint(run.setup, make(honestDisclosure))).verdict).toBe('complaint-false');
    // a made-up DH value (so the ciphertext would not open) fails its proof
    const forged = { ...honestDisclosure, dhPoint: discloseSharedSecret(accuserNode.transportSecret, accuser.transportKey, splitSealed(d.suites.signing.sealed[1]!).enc).dhPoint };
    const v = await verifyHandoffComplaint(run.setup, make(forged));
    expect(v).toMatchObject({ verdict: 'complaint-false', reason: expect.stringMatching(/not proven/) });
    // a proof made with another key (another member's transport key) fails too
    const other = nodes.find((n) => hex(n.nodeId) === hex(run.setup.next.members[2]!.nodeId))!;
    expect((await verifyHandoffComplaint(run.setup, make(discloseSharedSecret(other.transportSecret, other.transportKey, enc)))).verdict).toBe('complaint-false');
    // a complaint signed by someone else is refused before judging
    const c = decodeComplaint(make(honestDisclosure));
    c.signature = signTagged(other.identitySecret, 'handoff-complaint', complaintBody(c));
    await expect(verifyHandoffComplaint(run.setup, encodeComplaint(c))).rejects.toThrow(HandoffError);
  }, 60_000);
});

describe('dishonest proposals are refused by every new member', () => {
  const nodes = Array.from({ length: 5 }, (_, i) => makeNode(`p${i}`));
  let run: Awaited<ReturnType<typeof handOff>>;
  let c0: Committee;
  const culpritIndex = 1;
  beforeAll(async () => {
    c0 = genesis(nodes.slice(0, 4), 3, 'proposals');
    const victim = nodes[4]!;
    run = await handOff(c0, nodes, 4, {
      dealing: (dealer, encoded, setup) => (dealer === c0.nodes[culpritIndex] ? badSubShare(victim, 'derivation')(dealer, encoded, setup) : encoded),
    });
  }, 60_000);

  const resign = (mutate: (p: ReturnType<typeof decodeProposal>) => void) => {
    const p = decodeProposal(run.proposal);
    mutate(p);
    const coordinator = nodes.find((n) => hex(n.nodeId) === hex(p.coordinator))!;
    p.signature = signTagged(coordinator.identitySecret, 'handoff-proposal', proposalBody(p));
    return encodeProposal(p);
  };

  test('the honest proposal passes and leaves out the complained dealer', () => {
    const q = checkProposal(run.setup, run.proposal).qualified.map((r) => hex(r.dealer));
    expect(q).toEqual([0, 2, 3].map((i) => hex(c0.nodes[i]!.nodeId)));
  });

  test('a proposal that includes the complained dealer is refused', () => {
    const culprit = run.dealings.find((e) => hex(decodeDealing(e).dealer) === hex(c0.nodes[culpritIndex]!.nodeId))!;
    const bad = resign((p) => { p.qualified = [p.qualified[0]!, { dealer: c0.nodes[culpritIndex]!.nodeId, dealingHash: sha256(culprit) }, p.qualified[1]!]; });
    for (const m of run.setup.next.members) {
      expect(() => checkProposal(run.setup, bad, { ownAcknowledgement: run.acks.get(hex(m.nodeId))!.encoded })).toThrow(/Q differs/);
    }
    // the victim cannot even combine over it: it holds no sub-share from the culprit
    const victim = nodes[4]!;
    expect(() => combine(run.setup, victim, decodeProposal(bad).qualified, run.dealings, run.acks.get(hex(victim.nodeId))!.subShares)).toThrow(/did not acknowledge/);
  });

  test('a proposal that skips an acknowledged dealer is refused', () => {
    // Q = dealers 2 and 3 and ... : dealer 0 was acknowledged by everyone and comes first
    const skipped = resign((p) => { p.qualified = [p.qualified[1]!, p.qualified[2]!]; });
    expect(() => checkProposal(run.setup, skipped)).toThrow(/Q differs/);
    const reordered = resign((p) => { p.qualified = [p.qualified[0]!, p.qualified[2]!]; });
    expect(() => checkProposal(run.setup, reordered)).toThrow(/Q differs/);
  });

  test('a proposal with an acknowledgement altered or dropped, or signed by a non-member, is refused', () => {
    const dropped = resign((p) => { p.acknowledgements = p.acknowledgements.slice(1); });
    expect(() => checkProposal(run.setup, dropped)).toThrow(/acknowledgement from each/);
    const altered = resign((p) => {
      const a = decodeAcknowledgement(p.acknowledgements[4]!);
      const flipped = Uint8Array.from(p.acknowledgements[4]!);
      flipped[flipped.length - 70]! ^= 1; // inside the last dealing hash
      expect(a.accepted.length).toBeGreaterThan(0);
      p.acknowledgements[4] = flipped;
    });
    expect(() => checkProposal(run.setup, altered)).toThrow(/not signed by its member/);
    const stranger = makeNode('stranger');
    const p = decodeProposal(run.proposal);
    p.signature = signTagged(stranger.identitySecret, 'handoff-proposal', proposalBody(p));
    expect(() => checkProposal(run.setup, encodeProposal(p))).toThrow(/not signed by its coordinator/);
    expect(() => propose(run.setup, stranger, [])).toThrow(/coordinator must be/);
  });
});

