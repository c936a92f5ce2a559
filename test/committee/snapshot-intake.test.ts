// Snapshot intake (src/committee/snapshot-intake.ts) without a node: the wire scan and its caps, the
// order of the checks (governance, caps, caller before any election), and the election worker thread.
import { status } from '@grpc/grpc-js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { generateIdentityKey } from '../../src/crypto/identity.js';
import { encodeMessage } from '../../src/rpc/messages.js';
import { RpcError } from '../../src/rpc/errors.js';
import { MAX_GOVERNANCE_SIGNATURES, SnapshotError } from '../../src/committee/snapshot.js';
import { scanSnapshot, SnapshotIntake, SNAPSHOT_LIMITS, type SnapshotLimits } from '../../src/committee/snapshot-intake.js';
import { signSnapshot, syntheticCandidacies, syntheticSnapshot } from '../../src/committee/synthetic-snapshot.js';

const governance = [generateIdentityKey(), generateIdentityKey(), generateIdentityKey()];
const config = { keys: governance.map((g) => bytesToHex(g.publicKey)), threshold: 2 };
const small: SnapshotLimits = { ...SNAPSHOT_LIMITS, maxCandidacies: 20, maxNominations: 30, maxTargetsPerNomination: 4, maxSeats: 5 };

function code(fn: () => unknown): number | undefined {
  try { fn(); } catch (err) { return err instanceof RpcError ? err.code : -1; }
  return undefined;
}

describe('scanSnapshot', () => {
  test('reads epoch, seats, counts and candidate keys from the wire bytes', () => {
    const candidacies = syntheticCandidacies(6, 3);
    const bytes = encodeMessage('Snapshot', {
      epoch: 3, seats: 4, threshold: 0, candidacies, nominations: [{ voter: 'a', stake: '1', targets: [new Uint8Array(16), new Uint8Array(16)] }],
    });
    const scan = scanSnapshot(bytes, small);
    expect(scan).toMatchObject({ epoch: 3, seats: 4, candidacies: 6, nominations: 1, edges: 2 });
    expect([...scan.identityKeys].sort()).toEqual(candidacies.map((c) => bytesToHex(c.identityKey)).sort());
  });

  test.each([
    ['candidacies', { candidacies: syntheticCandidacies(21, 1) }, /more than 20 candidacies/],
    ['nominations', { nominations: Array.from({ length: 31 }, (_, i) => ({ voter: `v${i}`, stake: '1', targets: [] })) }, /more than 30 nominations/],
    ['targets of one nomination', { nominations: [{ voter: 'v', stake: '1', targets: Array.from({ length: 5 }, () => new Uint8Array(16)) }] }, /5 targets; at most 4/],
    ['seats', { seats: 6 }, /6 seats; at most 5/],
  ])('refuses too many %s as exhausted', (_what, over, message) => {
    const bytes = encodeMessage('Snapshot', { epoch: 1, seats: 2, threshold: 0, candidacies: [], nominations: [], ...over });
    let err: unknown;
    try { scanSnapshot(bytes, small); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(SnapshotError);
    expect((err as SnapshotError).kind).toBe('exhausted');
    expect((err as Error).message).toMatch(message);
  });

  test('refuses bytes that are not a Snapshot, and known fields with the wrong wire type, as invalid', () => {
    for (const bytes of [Uint8Array.of(0x22, 0x05, 0x01), Uint8Array.of(0x0a, 0x01, 0x01), Uint8Array.of(0x0f)]) {
      let err: unknown;
      try { scanSnapshot(bytes); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(SnapshotError);
      expect((err as SnapshotError).kind).toBe('invalid');
    }
  });
});

describe('SnapshotIntake.screen', () => {
  // Thousands of self-made candidacies, each validly signed by its own key: what the probe sent.
  const flood = syntheticSnapshot({ epoch: 1, seats: 2, candidates: 4000, nominations: 0, targetsPerNomination: 0 });

  test('an unsigned or wrongly signed snapshot is refused before its candidacies are looked at', () => {
    const intake = new SnapshotIntake(config);
    const outsider = generateIdentityKey();
    for (const signed of [
      { snapshot: flood, signatures: [] },
      signSnapshot(flood, [outsider, generateIdentityKey()]),
      signSnapshot(flood, [governance[0]!, governance[0]!]),
      { snapshot: flood, signatures: signSnapshot(new Uint8Array(8), governance).signatures },
    ]) {
      expect(code(() => intake.screen(signed, { caller: outsider.publicKey, members: [] }))).toBe(status.PERMISSION_DENIED);
    }
    expect(intake.runner.counters).toEqual({ started: 0, finished: 0, workers: 0 });
  });

  test('too many governance signatures are refused without verifying them', () => {
    const intake = new SnapshotIntake(config);
    const many = { snapshot: flood, signatures: Array.from({ length: MAX_GOVERNANCE_SIGNATURES + 1 }, () => signSnapshot(flood, [governance[0]!]).signatures[0]!) };
    expect(code(() => intake.screen(many))).toBe(status.RESOURCE_EXHAUSTED);
  });

  test('a governance-signed snapshot over the caps is refused with RESOURCE_EXHAUSTED', () => {
    const intake = new SnapshotIntake(config);
    expect(flood.length).toBeGreaterThan(0);
    expect(code(() => intake.screen(signSnapshot(flood, governance.slice(0, 2))))).toBe(status.RESOURCE_EXHAUSTED);
  });

  test('a peer that is neither a candidate of the signed snapshot nor a member is refused; a candidate or a member passes', () => {
    const intake = new SnapshotIntake(config);
    const candidacies = syntheticCandidacies(5, 1);
    const signed = signSnapshot(encodeMessage('Snapshot', { epoch: 1, seats: 3, threshold: 0, candidacies, nominations: [] }), governance.slice(1));
    const stranger = generateIdentityKey();
    expect(code(() => intake.screen(signed, { caller: stranger.publicKey, members: [] }))).toBe(status.PERMISSION_DENIED);
    expect(code(() => intake.screen(signed, { caller: candidacies[2]!.identityKey, members: [] }))).toBeUndefined();
    expect(code(() => intake.screen(signed, { caller: stranger.publicKey, members: [bytesToHex(stranger.publicKey)] }))).toBeUndefined();
  });
});

describe('the election: small snapshots on the event loop, large ones in a worker thread', () => {
  test.each([
    ['on the event loop', SNAPSHOT_LIMITS, 0],
    ['in a worker thread (every snapshot: inline bound 0)', { ...SNAPSHOT_LIMITS, inlineMaxCandidacies: 0 }, 1],
    ['in a worker thread (too many nomination targets for the event loop)', { ...SNAPSHOT_LIMITS, inlineMaxEdges: 119 }, 1],
  ])('%s: elects the roster the snapshot gives, shares one run for the same bytes, reports bad snapshots as INVALID_ARGUMENT', async (_, limits, workers) => {
    const intake = new SnapshotIntake(config, limits);
    const bytes = syntheticSnapshot({ epoch: 2, seats: 4, candidates: 12, nominations: 40, targetsPerNomination: 3 });
    const signed = signSnapshot(bytes, governance.slice(0, 2));
    const scan = intake.screen(signed);
    expect([scan.candidacies, scan.edges]).toEqual([12, 120]);
    const [a, b] = await Promise.all([intake.elect(signed, scan), intake.elect(signed, scan)]);
    expect(intake.runner.counters).toEqual({ started: 1, finished: 1, workers });
    expect(a.epoch).toBe(2);
    expect(a.members).toHaveLength(4);
    expect(a.members.map((m) => bytesToHex(m.nodeId))).toEqual(b.members.map((m) => bytesToHex(m.nodeId)));
    expect(typeof a.members[0]!.stake).toBe('bigint');

    const forged = syntheticCandidacies(3, 1);
    forged[1] = { ...forged[1]!, selfStake: '999999' };
    const bad = signSnapshot(encodeMessage('Snapshot', { epoch: 1, seats: 2, threshold: 0, candidacies: forged, nominations: [] }), governance.slice(0, 2));
    await expect(intake.elect(bad, intake.screen(bad))).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, message: expect.stringMatching(/candidacy 1: the candidacy signature/) });
  });

  test('an election past its deadline is stopped and refused with RESOURCE_EXHAUSTED', async () => {
    const intake = new SnapshotIntake(config, { ...SNAPSHOT_LIMITS, electionTimeoutMs: 1 });
    const signed = signSnapshot(syntheticSnapshot({ epoch: 1, seats: 3, candidates: 200, nominations: 500, targetsPerNomination: 8 }), governance.slice(0, 2));
    await expect(intake.elect(signed, intake.screen(signed))).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED });
  });
});
