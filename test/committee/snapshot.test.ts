import { bytesToHex } from '@noble/hashes/utils.js';
import { generateIdentityKey, signTagged } from '../../src/crypto/identity.js';
import { generateTransportKeyPair } from '../../src/crypto/hpke.js';
import { candidacyMessage } from '../../src/committee/candidacy.js';
import { electFromSnapshot, SnapshotError, verifyGovernance } from '../../src/committee/snapshot.js';
import { encodeMessage } from '../../src/rpc/messages.js';
import { nodeIdOf } from '../../src/node/identity.js';

const keys = Array.from({ length: 5 }, () => ({ id: generateIdentityKey(), transport: generateTransportKeyPair() }));

function candidacy(i: number, epoch = 1, stake = 1000n + BigInt(i)) {
  const k = keys[i]!;
  const fields = { identityKey: k.id.publicKey, endpoint: `127.0.0.1:${7000 + i}`, transportKey: k.transport.publicKey, selfStake: stake, epoch };
  return { ...fields, selfStake: stake.toString(), signature: signTagged(k.id.secretKey, 'candidacy', candidacyMessage(fields)) };
}

const nodeId = (i: number) => nodeIdOf(keys[i]!.id.publicKey);

function snapshot(over: Record<string, unknown> = {}) {
  return encodeMessage('Snapshot', {
    epoch: 1, seats: 3, threshold: 0, candidacies: [0, 1, 2, 3, 4].map((i) => candidacy(i)),
    nominations: [{ voter: 'alice', stake: '5000', targets: [nodeId(4), nodeId(0)] }], ...over,
  });
}

describe('election from a snapshot', () => {
  test('elects the best-backed candidates, sorted by node id, with the default threshold', () => {
    const out = electFromSnapshot(snapshot());
    expect(out.members).toHaveLength(3);
    const ids = out.members.map((m) => bytesToHex(m.nodeId));
    expect(ids).toEqual([...ids].sort());
    expect(ids).toContain(bytesToHex(nodeId(4)));
    expect(ids).toContain(bytesToHex(nodeId(0)));
    expect(out.threshold).toBe(3);
    expect(electFromSnapshot(snapshot()).members.map((m) => bytesToHex(m.nodeId))).toEqual(ids);
  });

  test.each([
    ['seats out of range', { seats: 9 }, /seats must be between 2 and/],
    ['a candidacy for another epoch', { seats: 2, candidacies: [candidacy(0), candidacy(1, 2)] }, /signed for epoch 2/],
    ['a duplicate candidate', { seats: 2, candidacies: [candidacy(0), candidacy(0)] }, /duplicate candidate|used by two/],
    ['a nomination of a non-candidate', { nominations: [{ voter: 'bob', stake: '1', targets: [new Uint8Array(16)] }] }, /is not a candidate/],
    ['a reserved voter id', { nominations: [{ voter: 'self:x', stake: '1', targets: [] }] }, /reserved/],
    ['a threshold above n', { threshold: 4 }, /threshold 4 is outside 2..3/],
    ['a single candidate', { candidacies: [candidacy(0)], seats: 2 }, /at least two candidacies/],
  ])('refuses %s', (_name, over, pattern) => {
    expect(() => electFromSnapshot(snapshot(over))).toThrow(SnapshotError);
    expect(() => electFromSnapshot(snapshot(over))).toThrow(pattern);
  });

  test('refuses a candidacy whose stake was raised after signing', () => {
    const forged = { ...candidacy(1), selfStake: '999999999' };
    expect(() => electFromSnapshot(snapshot({ seats: 2, candidacies: [candidacy(0), forged] }))).toThrow(/candidacy 1: the candidacy signature does not verify/);
  });

  test('governance: m distinct valid signatures from configured keys are required', () => {
    const g = [generateIdentityKey(), generateIdentityKey(), generateIdentityKey()];
    const bytes = snapshot();
    const cfg = g.map((k) => bytesToHex(k.publicKey));
    const sig = (k: { secretKey: Uint8Array; publicKey: Uint8Array }) => ({ key: k.publicKey, signature: signTagged(k.secretKey, 'snapshot', bytes) });
    expect(() => verifyGovernance({ snapshot: bytes, signatures: [sig(g[0]!), sig(g[1]!)] }, cfg, 2)).not.toThrow();
    expect(() => verifyGovernance({ snapshot: bytes, signatures: [sig(g[0]!), sig(g[0]!)] }, cfg, 2)).toThrow(/1 valid governance signature/);
    const outsider = generateIdentityKey();
    expect(() => verifyGovernance({ snapshot: bytes, signatures: [sig(g[0]!), sig(outsider)] }, cfg, 2)).toThrow(/1 valid/);
    expect(() => verifyGovernance({ snapshot: snapshot({ seats: 2 }), signatures: [sig(g[0]!), sig(g[1]!)] }, cfg, 2)).toThrow(/0 valid/);
  });
});
