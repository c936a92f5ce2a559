// A node's snapshot intake over gRPC (issue 10, item 4): PeerService.OfferSnapshot and
// OperatorService.SubmitGenesis check governance signatures first, then the caps, then the caller,
// and run the election in a worker thread while the node keeps answering. In-process nodes on
// loopback ports with real SQLite files; the attacker is a second client with its own identity key.
import { jest } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import { generateIdentityKey } from '../../src/crypto/identity.js';
import { encodeMessage } from '../../src/rpc/messages.js';
import { RpcError } from '../../src/rpc/errors.js';
import { refusingEndpoint, signedCandidacy, signSnapshot, syntheticCandidacies, syntheticSnapshot, type CandidacyWire } from '../../src/committee/synthetic-snapshot.js';
import { SNAPSHOT_LIMITS } from '../../src/committee/snapshot-intake.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

jest.setTimeout(180_000);

const BIG = 16 * 1024 * 1024;

async function unsealedNode(): Promise<TestNode> {
  const t = await startTestNode({ maxMessageBytes: BIG });
  for (const share of t.shares.slice(0, 2)) await t.client.call('OperatorService', 'Unseal', { share });
  return t;
}

const counters = (t: TestNode) => t.node.context!.genesis.intake.runner.counters;
const operator = (t: TestNode) => ({ sign: { role: 'operator' as const, secretKey: t.operator.secretKey }, timeoutMs: 120_000 });
const peer = (key: { secretKey: Uint8Array }) => ({ sign: { role: 'peer' as const, secretKey: key.secretKey }, timeoutMs: 60_000 });

async function ownCandidacy(t: TestNode, selfStake = '1'): Promise<CandidacyWire> {
  return t.client.call<CandidacyWire>('OperatorService', 'GetCandidacy', { epoch: 1, selfStake, endpoint: '' }, operator(t));
}

async function codeOf(p: Promise<unknown>): Promise<number | undefined> {
  try { await p; } catch (err) { return err instanceof RpcError ? err.code : -1; }
  return undefined;
}

describe('an OfferSnapshot flood from any key holder', () => {
  let t: TestNode;
  beforeAll(async () => { t = await unsealedNode(); });
  afterAll(async () => { await t.stop(); });

  // Self-made candidacies, each validly signed by its own key: the probe's payload (4,000 there), here
  // one over the cap, so a refusal for the caps instead of the signatures would show.
  const flood = () => syntheticSnapshot({ epoch: 1, seats: 50, candidates: SNAPSHOT_LIMITS.maxCandidacies + 1, nominations: 0, targetsPerNomination: 0 });

  test('without valid governance signatures it is refused with PERMISSION_DENIED before any candidacy is verified or any election runs', async () => {
    const attacker = generateIdentityKey();
    const bytes = flood();
    const variants = [
      { snapshot: bytes, signatures: [] },
      signSnapshot(bytes, [attacker, generateIdentityKey()]),
      { snapshot: bytes, signatures: signSnapshot(new Uint8Array(4), t.governance).signatures },
    ];
    for (const snapshot of variants) {
      // The node answers Status while it refuses the flood, and the refusal comes without an election.
      const [offer, st] = await Promise.allSettled([
        t.client.call('PeerService', 'OfferSnapshot', { snapshot }, peer(attacker)),
        t.client.call<{ sealed: boolean }>('OperatorService', 'Status', {}),
      ]);
      expect(offer.status).toBe('rejected');
      expect(((offer as PromiseRejectedResult).reason as RpcError).code).toBe(status.PERMISSION_DENIED);
      expect(st.status).toBe('fulfilled');
    }
    expect(await codeOf(t.client.call('OperatorService', 'SubmitGenesis', { snapshot: variants[0], forward: false }, operator(t)))).toBe(status.PERMISSION_DENIED);
    expect(counters(t)).toEqual({ started: 0, finished: 0, workers: 0 });
    expect(t.node.context!.ceremonies.latest()).toBeUndefined();
  });

  test('a governance-signed snapshot offered by a key that is neither its candidate nor a member is refused before the election', async () => {
    const own = await ownCandidacy(t);
    const signed = signSnapshot(encodeMessage('Snapshot', {
      epoch: 1, seats: 3, threshold: 0, candidacies: [own, ...syntheticCandidacies(4, 1)], nominations: [],
    }), t.governance);
    const stranger = generateIdentityKey();
    const err = await t.client.call('PeerService', 'OfferSnapshot', { snapshot: signed }, peer(stranger)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect((err as RpcError).code).toBe(status.PERMISSION_DENIED);
    expect((err as RpcError).message).toMatch(/only a candidate of the snapshot or a member/);
    expect(counters(t)).toEqual({ started: 0, finished: 0, workers: 0 });
    expect(t.node.context!.ceremonies.latest()).toBeUndefined();
  });

  test('over-cap governance-signed snapshots are refused with RESOURCE_EXHAUSTED (malformed ones with INVALID_ARGUMENT) before the election', async () => {
    const own = await ownCandidacy(t);
    const junk = (i: number) => ({ ...own, identityKey: Uint8Array.from({ length: 32 }, (_, j) => (i + j * 7) & 0xff), endpoint: `x${i}:1` });
    const snap = (over: Record<string, unknown>) => signSnapshot(encodeMessage('Snapshot', {
      epoch: 1, seats: 3, threshold: 0, candidacies: [own, ...syntheticCandidacies(3, 1)], nominations: [], ...over,
    }), t.governance);
    const cases: [Record<string, unknown>, number][] = [
      [{ candidacies: [own, ...Array.from({ length: SNAPSHOT_LIMITS.maxCandidacies }, (_, i) => junk(i))] }, status.RESOURCE_EXHAUSTED],
      [{ nominations: Array.from({ length: SNAPSHOT_LIMITS.maxNominations + 1 }, (_, i) => ({ voter: `v${i}`, stake: '1', targets: [] })) }, status.RESOURCE_EXHAUSTED],
      [{ nominations: [{ voter: 'v', stake: '1', targets: Array.from({ length: SNAPSHOT_LIMITS.maxTargetsPerNomination + 1 }, () => new Uint8Array(16)) }] }, status.RESOURCE_EXHAUSTED],
      [{ seats: SNAPSHOT_LIMITS.maxSeats + 1 }, status.RESOURCE_EXHAUSTED],
    ];
    for (const [over, expected] of cases) {
      const signed = snap(over);
      expect(await codeOf(t.client.call('OperatorService', 'SubmitGenesis', { snapshot: signed, forward: false }, operator(t)))).toBe(expected);
      // Offered by any peer, the caps are checked before the caller is.
      expect(await codeOf(t.client.call('PeerService', 'OfferSnapshot', { snapshot: signed }, peer(generateIdentityKey())))).toBe(expected);
    }
    const malformed = signSnapshot(Uint8Array.of(0x22, 0x7f, 0x01), t.governance);
    expect(await codeOf(t.client.call('OperatorService', 'SubmitGenesis', { snapshot: malformed, forward: false }, operator(t)))).toBe(status.INVALID_ARGUMENT);
    expect(counters(t)).toEqual({ started: 0, finished: 0, workers: 0 });
    expect(t.node.context!.ceremonies.latest()).toBeUndefined();
  });
});

describe('a candidate offering a governance-signed snapshot', () => {
  test('is let through: the node elects (on its event loop: a small snapshot) and records its vote', async () => {
    const t = await unsealedNode();
    try {
      const candidate = generateIdentityKey();
      const own = await ownCandidacy(t, '5000');
      const signed = signSnapshot(encodeMessage('Snapshot', {
        epoch: 1, seats: 2, threshold: 2, nominations: [],
        candidacies: [own, signedCandidacy(candidate, refusingEndpoint(60_000), 4000n, 1), ...syntheticCandidacies(3, 1)],
      }), t.governance);
      await t.client.call('PeerService', 'OfferSnapshot', { snapshot: signed }, peer(candidate));
      expect(counters(t)).toEqual({ started: 1, finished: 1, workers: 0 });
      const c = t.node.context!.ceremonies.latest()!;
      expect(c.epoch).toBe(1);
      expect(c.state).toBe('ROUND1');
      expect(c.roster).toHaveLength(2);
    } finally {
      await t.stop();
    }
  });
});

// Past both inline bounds (candidacies and nomination targets), so it goes to the worker thread. The
// maximum-size snapshot (1,500 candidacies, 25,000 nominations) is bench/snapshot's workload, with its
// timing against the deadline; here it would only repeat that work.
describe('a snapshot larger than the inline bounds', () => {
  test('is elected in the worker thread while the node answers Status', async () => {
    const t = await unsealedNode();
    try {
      const own = await ownCandidacy(t);
      const candidates = 2 * SNAPSHOT_LIMITS.inlineMaxCandidacies;
      const nominations = Math.ceil((2 * SNAPSHOT_LIMITS.inlineMaxEdges) / SNAPSHOT_LIMITS.maxTargetsPerNomination);
      const bytes = syntheticSnapshot({
        epoch: 1, seats: SNAPSHOT_LIMITS.maxSeats, candidates: candidates - 1, include: [own],
        nominations, targetsPerNomination: SNAPSHOT_LIMITS.maxTargetsPerNomination,
      });
      const submit = t.client.call<{ epoch: number; roster: Uint8Array[] }>('OperatorService', 'SubmitGenesis',
        { snapshot: signSnapshot(bytes, t.governance), forward: false }, operator(t));
      submit.catch(() => undefined);
      while (counters(t).started === 0) await new Promise((r) => setTimeout(r, 5));
      const st = await t.client.call<{ sealed: boolean; ceremonyState: string }>('OperatorService', 'Status', {});
      const finishedWhenStatusAnswered = counters(t).finished;
      expect(st.sealed).toBe(false);
      expect(st.ceremonyState).toBe('');
      expect(finishedWhenStatusAnswered).toBe(0);
      const res = await submit;
      expect(res.epoch).toBe(1);
      expect(res.roster).toHaveLength(SNAPSHOT_LIMITS.maxSeats);
      expect(counters(t)).toEqual({ started: 1, finished: 1, workers: 1 });
    } finally {
      await t.stop();
    }
  });
});
