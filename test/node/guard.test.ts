// Guards against resource exhaustion (issue 10 items 9 and 13): the replay registry records only
// authorised keys and is capped; the public rate limiter evicts least-recently-used buckets, never all,
// and charges a fanned-out call its real cost.
import { status } from '@grpc/grpc-js';
import { generateIdentityKey } from '../../src/crypto/identity.js';
import { NonceRegistry, signCall, verifyCall } from '../../src/rpc/auth.js';
import { RpcError } from '../../src/rpc/errors.js';
import { parseConfig } from '../../src/node/config.js';
import { clientAddress, makeGuards, TokenBuckets, fanOutCost } from '../../src/node/services/guard.js';
import type { NodeContext } from '../../src/node/context.js';
import type { CallContext } from '../../src/rpc/handler.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

function codeOf(f: () => unknown): string {
  try { f(); return 'OK'; } catch (err) { return err instanceof RpcError ? status[err.code] : String(err); }
}

describe('replay registry', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode();
    for (const share of t.shares.slice(0, 2)) await t.client.call('OperatorService', 'Unseal', { share });
  });
  afterAll(async () => { await t.stop(); });

  test('signed calls from 50 keys that are neither operators nor peers leave it empty', async () => {
    const strangers = Array.from({ length: 50 }, () => generateIdentityKey());
    const codes = new Set<string>();
    for (let round = 0; round < 8; round++) {
      await Promise.all(strangers.flatMap((k) => [
        t.client.call('OperatorService', 'GetCandidacy', { epoch: 1, selfStake: '1' }, { sign: { role: 'operator', secretKey: k.secretKey } }),
        t.client.call('PeerService', 'GetRosterCertificate', { epoch: 1 }, { sign: { role: 'peer', secretKey: k.secretKey } }),
      ].map((p) => p.then(() => codes.add('OK'), (e: RpcError) => codes.add(status[e.code])))));
    }
    expect([...codes]).toEqual(['PERMISSION_DENIED']);
    expect(t.node.nonces.size).toBe(0);
    // An operator's call is recorded (and so cannot be replayed).
    await t.client.call('OperatorService', 'GetCandidacy', { epoch: 1, selfStake: '1' }, { sign: { role: 'operator', secretKey: t.operator.secretKey } });
    expect(t.node.nonces.size).toBe(1);
  });

  test('under a flood of authorised nonces the cap holds: new calls are refused, none is forgotten inside the window', () => {
    const start = 1_000_000;
    const reg = new NonceRegistry(60_000, start, 100, 60);
    const a = generateIdentityKey();
    const b = generateIdentityKey();
    const method = '/gatekeeper.v1.OperatorService/GetCandidacy';
    const req = new Uint8Array([1, 2, 3]);
    const call = (k: typeof a, now: number) => signCall('operator', k.secretKey, method, req, now, k.publicKey);
    const first = call(a, start);
    const results: string[] = [];
    results.push(codeOf(() => verifyCall('operator', first, method, req, reg, 60_000, start)));
    for (let i = 1; i < 70; i++) results.push(codeOf(() => verifyCall('operator', call(a, start + i), method, req, reg, 60_000, start + i)));
    // One key gets at most 60 places; the rest of its calls are refused, not stored by forgetting others.
    expect(results.filter((r) => r === 'OK')).toHaveLength(60);
    expect(results.slice(60)).toEqual(Array(10).fill('RESOURCE_EXHAUSTED'));
    for (let i = 0; i < 45; i++) results.push(codeOf(() => verifyCall('operator', call(b, start + 100 + i), method, req, reg, 60_000, start + 100 + i)));
    expect(reg.size).toBe(100);
    expect(results.slice(70)).toEqual([...Array(40).fill('OK'), ...Array(5).fill('RESOURCE_EXHAUSTED')]);
    // The first call is still remembered: its replay is refused as a replay.
    expect(codeOf(() => verifyCall('operator', first, method, req, reg, 60_000, start + 1000))).toBe('UNAUTHENTICATED');
    // Once those timestamps leave the skew window they can go: a replay of them fails the timestamp check anyway.
    const later = start + 60_000 + 5_000;
    expect(codeOf(() => verifyCall('operator', first, method, req, reg, 60_000, later))).toBe('UNAUTHENTICATED');
    expect(codeOf(() => verifyCall('operator', call(a, later), method, req, reg, 60_000, later))).toBe('OK');
    expect(reg.size).toBe(1);
  });
});

describe('public rate limiter', () => {
  test('at the address cap it evicts refilled, then least recently used buckets, never all', () => {
    let now = 0;
    const b = new TokenBuckets(1, 5, 4, () => now);
    for (let i = 0; i < 5; i++) expect(b.take('hot')).toBe(true);
    expect(b.take('hot')).toBe(false);
    now = 100;
    for (const k of ['a', 'b', 'c']) b.take(k);
    // 'hot' calls again (now the most recently used); a fifth address evicts the least recently used
    // ('a', not yet refilled), nothing else.
    b.take('hot');
    now = 200;
    b.take('d');
    expect(b.size).toBe(4);
    expect(['a', 'b', 'c', 'd', 'hot'].filter((k) => b.has(k))).toEqual(['b', 'c', 'd', 'hot']);
    // 10,000 new addresses later the limiter still holds at most its cap, and a drained address that
    // keeps calling stays drained (it is the most recently used, so never the one evicted).
    for (let i = 0; i < 5; i++) b.take('hot');
    for (let i = 0; i < 10_000; i++) { b.take(`x${i}`); expect(b.take('hot')).toBe(false); }
    expect(b.size).toBe(4);
  });

  test('an address that has refilled is forgotten first, since forgetting it changes nothing', () => {
    let now = 0;
    const b = new TokenBuckets(1, 2, 3, () => now);
    b.take('old');
    now = 10_000;
    b.take('p'); b.take('q');
    b.take('r');
    expect(b.has('old')).toBe(false);
    expect(['p', 'q', 'r'].every((k) => b.has(k))).toBe(true);
  });

  test('IPv6 clients share one bucket per /64; IPv4 and IPv4-mapped addresses one per address', () => {
    expect(clientAddress('[2001:db8:1:2:aaaa::1]:5000')).toBe('2001:db8:1:2::/64');
    expect(clientAddress('[2001:0db8:0001:0002:ffff:ffff:ffff:ffff]:6000')).toBe('2001:db8:1:2::/64');
    expect(clientAddress('[2001:db8:1:3::1]:5000')).toBe('2001:db8:1:3::/64');
    expect(clientAddress('[::1]:5000')).toBe('0:0:0:0::/64');
    expect(clientAddress('[::ffff:192.0.2.7]:5000')).toBe('192.0.2.7');
    expect(clientAddress('192.0.2.7:5000')).toBe('192.0.2.7');
  });

  test('ProvisionContractKey costs the committee size; GetChallenge costs 1', () => {
    const config = parseConfig({ name: 'n', listen: '127.0.0.1:1', dataDir: '/tmp/x', publicRateLimitPerSecond: 10 }, '/tmp');
    const roster = Array.from({ length: 4 }, (_, i) => ({ identityKey: String(i) }));
    const node = { genesis: { activeCommittee: () => ({ roster }) } } as unknown as NodeContext;
    expect(fanOutCost('/gatekeeper.v1.WorkerService/ProvisionContractKey', node)).toBe(4);
    expect(fanOutCost('/gatekeeper.v1.WorkerService/PublishContractKey', node)).toBe(4);
    expect(fanOutCost('/gatekeeper.v1.WorkerService/GetChallenge', node)).toBe(1);
    const guards = makeGuards(config, () => new NonceRegistry(60_000), () => node);
    const ctx = (method: string, peer: string) => ({ method, peer } as unknown as CallContext);
    const provision = Array.from({ length: 4 }, () => codeOf(() => guards.rateLimit(ctx('/gatekeeper.v1.WorkerService/ProvisionContractKey', '127.0.0.9:5000'))));
    // 10 tokens: two provisions (4 + 4), then the third is refused.
    expect(provision).toEqual(['OK', 'OK', 'RESOURCE_EXHAUSTED', 'RESOURCE_EXHAUSTED']);
    const challenges = Array.from({ length: 11 }, () => codeOf(() => guards.rateLimit(ctx('/gatekeeper.v1.WorkerService/GetChallenge', '127.0.0.8:5000'))));
    expect(challenges.filter((c) => c === 'OK')).toHaveLength(10);
  });
});
