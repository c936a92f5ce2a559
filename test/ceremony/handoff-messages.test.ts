// Hand-off wire encodings (docs/handoff.md) and Acknowledge's refusals that need no complaint:
// public faults, equivocation and dealings nobody can attribute.
import { bytesToHex } from '@noble/hashes/utils.js';
import { signTagged } from '../../src/crypto/identity.js';
import {
  HandoffError, acknowledge, attributeDealing, deal, dealingBody, decodeAcknowledgement, decodeComplaint, decodeDealing,
  decodeProposal, encodeAcknowledgement, encodeDealing, encodeProposal, handoffSetup, propose,
  SEALED_SUB_SHARE_LENGTH, decodeHeldSubShares, encodeHeldSubShares, type HandoffSetup,
} from '../../src/ceremony/handoff/index.js';
import { genesis, makeNode, session, type Committee, type Node } from './lifecycle.js';

const hex = bytesToHex;

describe('hand-off messages', () => {
  const nodes = Array.from({ length: 5 }, (_, i) => makeNode(`m${i}`));
  let c0: Committee;
  let setup: HandoffSetup;
  let dealings: Uint8Array[];
  const keysOf = (n: Node) => ({ nodeId: n.nodeId, identitySecret: n.identitySecret, shares: c0.keys.get(hex(n.nodeId))! });
  beforeAll(async () => {
    c0 = genesis(nodes.slice(0, 4), 3, 'messages');
    setup = handoffSetup(c0.roster, 2, session(2), { threshold: 3, members: nodes });
    dealings = [];
    for (const n of c0.nodes) dealings.push((await deal(setup, keysOf(n))).encoded);
  }, 60_000);

  test('every message decodes to what was encoded, re-encodes byte for byte, and refuses truncation and trailing bytes', async () => {
    const d = dealings[0]!;
    expect(d.length).toBe(29 + 4 + 32 + 16 + 4 + 2 * (3 * 33 + 5 * SEALED_SUB_SHARE_LENGTH) + 64);
    expect(hex(encodeDealing(decodeDealing(d)))).toBe(hex(d));
    const me = setup.next.members[0]!;
    const node = nodes.find((n) => hex(n.nodeId) === hex(me.nodeId))!;
    const ack = await acknowledge(setup, node, dealings);
    expect(ack.acknowledgement.accepted).toHaveLength(4);
    expect(hex(encodeAcknowledgement(decodeAcknowledgement(ack.encoded)))).toBe(hex(ack.encoded));
    const acks = [ack.encoded];
    for (const m of setup.next.members.slice(1)) acks.push((await acknowledge(setup, nodes.find((n) => hex(n.nodeId) === hex(m.nodeId))!, dealings)).encoded);
    const p = propose(setup, node, acks.reverse()).encoded;
    expect(hex(encodeProposal(decodeProposal(p)))).toBe(hex(p));
    for (const [bytes, decode] of [[d, decodeDealing], [ack.encoded, decodeAcknowledgement], [p, decodeProposal]] as const) {
      expect(() => (decode as (b: Uint8Array) => unknown)(bytes.slice(0, bytes.length - 1))).toThrow(HandoffError);
      expect(() => (decode as (b: Uint8Array) => unknown)(new Uint8Array([...bytes, 0]))).toThrow(/trailing/);
    }
    expect(() => decodeComplaint(new Uint8Array(10))).toThrow(HandoffError);
    // what the engine stores (sealed) between Acknowledge and Combine comes back unchanged
    const held = decodeHeldSubShares(encodeHeldSubShares(ack.subShares));
    expect(Object.keys(held).sort()).toEqual(Object.keys(ack.subShares).sort());
    for (const d of Object.keys(held)) expect(hex(held[d]!.signing)).toBe(hex(ack.subShares[d]!.signing));
    expect(() => decodeHeldSubShares(encodeHeldSubShares(ack.subShares).slice(1))).toThrow(HandoffError);
  });

  test('a dealer that deals another member\'s share (C[0] != its verifying share) is refused without a complaint', async () => {
    const liar = c0.nodes[0]!;
    const stolen = c0.keys.get(hex(c0.nodes[1]!.nodeId))!;
    const own = c0.keys.get(hex(liar.nodeId))!;
    // deal with member 1's shares relabelled as the liar's: the sub-shares match the commitments, C[0] does not
    const fake = { derivation: { ...stolen.derivation, identifier: own.derivation.identifier, verifyingShares: { ...stolen.derivation.verifyingShares, [own.derivation.identifier]: stolen.derivation.verifyingShares[stolen.derivation.identifier]! } } };
    await expect(deal(setup, { ...keysOf(liar), shares: { ...own, ...fake } })).rejects.toThrow(/does not match the certified old roster/);
    const d = decodeDealing(dealings[0]!);
    d.suites.derivation.commitments[0] = decodeDealing(dealings[1]!).suites.derivation.commitments[0]!;
    d.signature = signTagged(liar.identitySecret, 'handoff-dealing', dealingBody(d));
    const forged = encodeDealing(d);
    expect(attributeDealing(setup, forged).publicFault).toMatch(/C\[0\] is not the dealer's verifying share/);
    const me = nodes.find((n) => hex(n.nodeId) === hex(setup.next.members[3]!.nodeId))!;
    const ack = await acknowledge(setup, me, [forged, ...dealings.slice(1)]);
    expect(ack.complaints).toEqual([]);
    expect(ack.acknowledgement.accepted.map((r) => hex(r.dealer))).toEqual(c0.nodes.slice(1).map((n) => hex(n.nodeId)));
    expect(ack.refused).toEqual([{ dealer: liar.nodeId, reason: 'the derivation C[0] is not the dealer\'s verifying share' }]);
  });

  test('two different signed dealings from one dealer, or a dealing signed by someone else, are not accepted', async () => {
    const second = (await deal(setup, keysOf(c0.nodes[2]!))).encoded;
    const me = nodes.find((n) => hex(n.nodeId) === hex(setup.next.members[1]!.nodeId))!;
    const ack = await acknowledge(setup, me, [...dealings, second]);
    expect(ack.acknowledgement.accepted.map((r) => hex(r.dealer))).not.toContain(hex(c0.nodes[2]!.nodeId));
    expect(ack.refused.map((r) => r.reason)).toContain('the dealer signed two different dealings');
    const d = decodeDealing(dealings[3]!);
    d.signature = signTagged(nodes[4]!.identitySecret, 'handoff-dealing', dealingBody(d));
    expect(() => attributeDealing(setup, encodeDealing(d))).toThrow(/not signed by its dealer/);
    const other = handoffSetup(c0.roster, 2, session(2), { threshold: 3, members: nodes });
    expect(() => attributeDealing(other, dealings[0]!)).toThrow(/another hand-off/);
  });
});
