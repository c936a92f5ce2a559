// Per-peer health with exponential backoff (issue 12, item 1), on a fake clock, and the fan-out wait
// that returns at k answers plus a grace: in process, no network.
import { jest } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import { PeerClients, PeerHealth } from '../../src/node/peer-clients.js';
import { gatherQuorum } from '../../src/node/quorum.js';
import { RpcError } from '../../src/rpc/errors.js';
import { generateIdentityKey } from '../../src/crypto/identity.js';

describe('peer health', () => {
  let t = 1_000_000;
  const now = () => t;
  beforeEach(() => { t = 1_000_000; });

  test('a failed peer is down for a backoff that doubles per failure up to the maximum, then one probe goes through', () => {
    const h = new PeerHealth({ baseBackoffMs: 500, maxBackoffMs: 4000, probeTimeoutMs: 1500, now });
    expect(h.admit('a')).toEqual({ kind: 'up' });
    h.observe('a', new RpcError(status.UNAVAILABLE, 'connection refused'));
    expect(h.isDown('a')).toBe(true);
    expect(h.admit('a')).toMatchObject({ kind: 'down', retryInMs: 500, failures: 1 });
    expect(h.refusing('a')).toBe(true);
    t += 499;
    expect(h.admit('a').kind).toBe('down');
    t += 1;
    // Still marked down, but no longer refusing: the next call is the probe (a fan-out asks it again).
    expect([h.isDown('a'), h.refusing('a')]).toEqual([true, false]);
    // The backoff expired: exactly one probe, with the short deadline; others still fail fast meanwhile.
    expect(h.admit('a')).toEqual({ kind: 'probe', timeoutMs: 1500 });
    expect(h.admit('a').kind).toBe('down');
    h.observe('a', new RpcError(status.DEADLINE_EXCEEDED, 'deadline'));
    expect(h.admit('a')).toMatchObject({ kind: 'down', retryInMs: 1000, failures: 2 });
    for (const expected of [2000, 4000, 4000]) {
      t += 10_000;
      expect(h.admit('a').kind).toBe('probe');
      h.failed('a');
      expect(h.admit('a')).toMatchObject({ kind: 'down', retryInMs: expected });
    }
    // Another peer is unaffected.
    expect(h.admit('b')).toEqual({ kind: 'up' });
  });

  test('any answer, a refusal included, marks the peer up; a cancelled probe lets the next call probe again', () => {
    const h = new PeerHealth({ baseBackoffMs: 100, now });
    h.failed('a');
    t += 100;
    expect(h.admit('a').kind).toBe('probe');
    h.observe('a', new RpcError(status.CANCELLED, 'we had enough answers'));
    expect(h.isDown('a')).toBe(true);
    expect(h.admit('a').kind).toBe('probe');
    h.observe('a', new RpcError(status.PERMISSION_DENIED, 'refused'));
    expect(h.isDown('a')).toBe(false);
    expect(h.admit('a')).toEqual({ kind: 'up' });
  });

  test('a call to a peer marked down fails fast with UNAVAILABLE naming the backoff, without a network call', async () => {
    const id = generateIdentityKey();
    const h = new PeerHealth({ baseBackoffMs: 60_000, maxBackoffMs: 60_000, now });
    const clients = new PeerClients(id.secretKey, id.publicKey, undefined, h);
    try {
      // Nothing listens on port 1: the first call fails at the transport level and marks the peer down.
      const first = await clients.call('127.0.0.1:1', 'GetProvisionReceipt', {}, 1000).then(() => undefined, (e: unknown) => e);
      expect(first).toBeInstanceOf(RpcError);
      expect(h.isDown('127.0.0.1:1')).toBe(true);
      const started = Date.now();
      const [second] = clients.fanOut(['127.0.0.1:1'], 'GetProvisionReceipt', {}, 5000);
      const err = await second!.then(() => undefined, (e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(1000);
      expect((err as RpcError).code).toBe(status.UNAVAILABLE);
      expect((err as RpcError).message).toMatch(/marked down after 1 failed call\(s\); next attempt in 60000 ms/);
    } finally {
      clients.close();
    }
  });
});

describe('fan-out quorum wait', () => {
  type Deferred = { p: Promise<string>; resolve: (v: string) => void; reject: (e: unknown) => void };
  const deferred = (): Deferred => {
    let resolve!: (v: string) => void;
    let reject!: (e: unknown) => void;
    const p = new Promise<string>((res, rej) => { resolve = res; reject = rej; });
    return { p, resolve, reject };
  };
  const flush = () => new Promise((r) => setImmediate(r));

  afterEach(() => { jest.useRealTimers(); });

  test('returns once k answered and then one more, without waiting for a silent member', async () => {
    const d = [deferred(), deferred(), deferred(), deferred(), deferred()];
    let settled = false;
    const wait = gatherQuorum(d.map((x, i) => ({ member: i, p: x.p })), { need: 3 }).then((r) => { settled = true; return r; });
    d[0]!.resolve('a'); d[1]!.resolve('b'); d[2]!.resolve('c');
    await flush();
    expect(settled).toBe(false);
    d[3]!.resolve('d');
    const r = await wait;
    expect(r.ok.map((x) => x.member).sort()).toEqual([0, 1, 2, 3]);
    expect(r.pending).toEqual([4]);
  });

  test('returns after the grace when only k answer', async () => {
    jest.useFakeTimers();
    const d = [deferred(), deferred(), deferred(), deferred()];
    let settled = false;
    const wait = gatherQuorum(d.map((x, i) => ({ member: i, p: x.p })), { need: 2, minGraceMs: 200, maxGraceMs: 2000, now: () => 0 })
      .then((r) => { settled = true; return r; });
    d[0]!.resolve('a'); d[1]!.reject(new Error('refused')); d[2]!.resolve('c');
    await Promise.resolve(); await Promise.resolve();
    jest.advanceTimersByTime(199);
    await Promise.resolve();
    expect(settled).toBe(false);
    jest.advanceTimersByTime(1);
    const r = await wait;
    expect(r.ok).toHaveLength(2);
    expect(r.failed.map((x) => x.member)).toEqual([1]);
    expect(r.pending).toEqual([3]);
  });

  test('returns at once when k can no longer be reached', async () => {
    const d = [deferred(), deferred(), deferred()];
    const wait = gatherQuorum(d.map((x, i) => ({ member: i, p: x.p })), { need: 2 });
    d[0]!.reject(new Error('no')); d[1]!.reject(new Error('no'));
    const r = await wait;
    expect(r.ok).toHaveLength(0);
    expect(r.failed).toHaveLength(2);
    expect(r.pending).toEqual([2]);
  });
});
