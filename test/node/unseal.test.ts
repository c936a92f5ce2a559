// Unseal abuse (issue 10 item 6): refused shares are counted, not audited one by one; a forged share
// is refused on its own and the good ones are kept; only an operator may reset; calls are rate limited.
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { sha256 } from '@noble/hashes/sha2.js';
import { generateIdentityKey } from '../../src/crypto/identity.js';
import { decodeUnsealShare, encodeUnsealShare } from '../../src/crypto/sealing.js';
import { unsealShareDigest } from '../../src/node/keystore.js';
import { databaseFile } from '../../src/node/config.js';
import { RpcError } from '../../src/rpc/errors.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

async function expectStatus(p: Promise<unknown>, code: status, pattern: RegExp): Promise<void> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(RpcError);
  expect(status[(err as RpcError).code]).toBe(status[code]);
  expect((err as RpcError).message).toMatch(pattern);
}

type UnsealRes = { sealed: boolean; progress: number; threshold: number };
const unseal = (t: TestNode, share: string, opts = {}) => t.client.call<UnsealRes>('OperatorService', 'Unseal', { share, reset: false }, opts);
const auditRows = (t: TestNode, action: string) =>
  (t.node.db.prepare('SELECT detail_json FROM audit WHERE action = ?').all(action) as { detail_json: string }[]).map((r) => JSON.parse(r.detail_json) as Record<string, unknown>);

/** A well-formed share (valid checksum) with the x-coordinate of `real` and random y-values. */
function forgedLike(real: string): string {
  const bytes = decodeUnsealShare(real);
  const forged = new Uint8Array(randomBytes(bytes.length));
  forged[forged.length - 1] = bytes[bytes.length - 1]!;
  return encodeUnsealShare(forged);
}

describe('refused unseal calls', () => {
  let t: TestNode;
  beforeAll(async () => { t = await startTestNode({ unsealRateLimitPerMinute: 100_000 }); });
  afterAll(async () => { await t.stop(); });

  test('300 refused shares write no audit row each; one summary row counts them when the node unseals', async () => {
    const before = (t.node.db.prepare('SELECT COUNT(*) AS n FROM audit').get() as { n: number }).n;
    for (let i = 0; i < 300; i++) {
      const share = i % 3 === 0 ? 'gk-unseal-1:00000000:zz' : forgedLike(t.shares[i % 3]!);
      await expect(unseal(t, share)).rejects.toBeInstanceOf(RpcError);
    }
    expect((t.node.db.prepare('SELECT COUNT(*) AS n FROM audit').get() as { n: number }).n).toBe(before);
    const s = await t.client.call<{ unsealFailures: number; sealed: boolean }>('OperatorService', 'Status');
    expect(s).toMatchObject({ sealed: true, unsealFailures: 300 });
    await unseal(t, t.shares[0]!);
    expect((await unseal(t, t.shares[1]!)).sealed).toBe(false);
    const rows = auditRows(t, 'unseal.failed');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ count: 300, byReason: { malformed: 100, refused: 200 } });
  });
});

describe('a forged well-formed share', () => {
  let t: TestNode;
  beforeAll(async () => { t = await startTestNode(); });
  afterAll(async () => { await t.stop(); });

  test('is refused on its own, and the good share given before it is kept', async () => {
    expect(await unseal(t, t.shares[0]!)).toMatchObject({ sealed: true, progress: 1 });
    // Same x-coordinate as another real share, and a fresh one: both refused, neither discards share 1.
    await expectStatus(unseal(t, forgedLike(t.shares[1]!)), status.PERMISSION_DENIED, /not one of this node's unseal shares; the shares given so far are kept/);
    const fresh = new Uint8Array(randomBytes(33));
    fresh[32] = 250;
    await expectStatus(unseal(t, encodeUnsealShare(fresh)), status.PERMISSION_DENIED, /not one of this node's unseal shares/);
    expect((await t.client.call<{ unsealProgress: number }>('OperatorService', 'Status')).unsealProgress).toBe(1);
    expect((await unseal(t, t.shares[2]!)).sealed).toBe(false);
  });

  test('the database holds salted digests of the shares, never the shares', () => {
    const rows = t.node.db.prepare('SELECT x, salt, digest FROM unseal_share_digests ORDER BY x').all() as { x: number; salt: Buffer; digest: Buffer }[];
    expect(rows).toHaveLength(3);
    const file = fs.readFileSync(databaseFile(t.node.config));
    const wal = fs.existsSync(databaseFile(t.node.config) + '-wal') ? fs.readFileSync(databaseFile(t.node.config) + '-wal') : Buffer.alloc(0);
    for (const text of t.shares) {
      const share = decodeUnsealShare(text);
      const row = rows.find((r) => r.x === share[32])!;
      expect(row.salt.length).toBe(16);
      expect(Buffer.from(row.digest).equals(Buffer.from(unsealShareDigest(new Uint8Array(row.salt), share)))).toBe(true);
      expect(Buffer.from(row.digest).equals(Buffer.from(sha256(share)))).toBe(false);
      for (const blob of [file, wal]) {
        expect(blob.indexOf(Buffer.from(share.subarray(0, 32)))).toBe(-1);
        expect(blob.indexOf(Buffer.from(text))).toBe(-1);
      }
    }
    // Each share has its own random salt.
    expect(new Set(rows.map((r) => Buffer.from(r.salt).toString('hex'))).size).toBe(3);
  });
});

describe('a database initialized before share digests', () => {
  let t: TestNode;
  beforeAll(async () => { t = await startTestNode(); });
  afterAll(async () => { await t.stop(); });

  test('falls back to the combined check: a foreign set is refused, its own shares unseal', async () => {
    t.node.db.prepare('DELETE FROM unseal_share_digests').run();
    const other = await startTestNode();
    try {
      await unseal(t, other.shares[0]!);
      await expectStatus(unseal(t, other.shares[1]!), status.PERMISSION_DENIED, /do not open the data key/);
    } finally {
      await other.stop();
    }
    await unseal(t, t.shares[1]!);
    expect((await unseal(t, t.shares[2]!)).sealed).toBe(false);
  });
});

describe('reset', () => {
  let t: TestNode;
  beforeAll(async () => { t = await startTestNode(); });
  afterAll(async () => { await t.stop(); });

  test('an unsigned or non-operator reset is refused and the progress is kept; an operator reset clears it', async () => {
    await unseal(t, t.shares[0]!);
    await expectStatus(t.client.call('OperatorService', 'Unseal', { share: '', reset: true }), status.UNAUTHENTICATED, /must be signed/);
    const stranger = generateIdentityKey();
    await expectStatus(t.client.call('OperatorService', 'Unseal', { share: '', reset: true }, { sign: { role: 'operator', secretKey: stranger.secretKey } }),
      status.PERMISSION_DENIED, /not an operator key/);
    expect((await t.client.call<{ unsealProgress: number }>('OperatorService', 'Status')).unsealProgress).toBe(1);
    const res = await t.client.call<UnsealRes>('OperatorService', 'Unseal', { share: '', reset: true }, { sign: { role: 'operator', secretKey: t.operator.secretKey } });
    expect(res).toMatchObject({ sealed: true, progress: 0 });
    expect(auditRows(t, 'unseal.reset')).toEqual([{ discarded: 1 }]);
  });
});

describe('rate limit', () => {
  let t: TestNode;
  beforeAll(async () => { t = await startTestNode({ unsealRateLimitPerMinute: 1 }); });
  afterAll(async () => { await t.stop(); });

  test('one address gets a burst of 10 unseal calls, then RESOURCE_EXHAUSTED, even for a good share', async () => {
    const codes: string[] = [];
    for (let i = 0; i < 14; i++) {
      codes.push(await unseal(t, 'gk-unseal-1:00000000:00').then(() => 'OK', (e: RpcError) => status[e.code]));
    }
    // At 1 call a minute after the burst, at most one more call can have passed in the meantime.
    expect(codes.filter((c) => c === 'INVALID_ARGUMENT').length).toBeGreaterThanOrEqual(10);
    expect(codes.filter((c) => c === 'RESOURCE_EXHAUSTED').length).toBeGreaterThanOrEqual(3);
    await expectStatus(unseal(t, t.shares[0]!), status.RESOURCE_EXHAUSTED, /too many unseal calls/);
    const s = await t.client.call<{ unsealProgress: number; unsealFailures: number }>('OperatorService', 'Status');
    expect(s.unsealProgress).toBe(0);
    expect(s.unsealFailures).toBe(15);
  });
});
