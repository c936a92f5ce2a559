// The life-cycle operator commands against a devnet of 3 node processes on loopback (one devnet for the
// file): `election submit` builds, signs and submits a genesis snapshot (SubmitElection), with one
// member down and then again once it is back (the same command, safe to repeat); `ceremony status`
// shows the phase and who is awaited while that member is missing, follows the ceremony with --watch
// to COMPLETE, NOT_FOUND for an unknown epoch, refuses unsigned and non-operator calls; `status` exits
// 0/2/1 (unsealed, sealed, unreachable); `refresh` usage, fan-out and per-member errors.
import fs from 'node:fs';
import path from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { status as grpcStatus } from '@grpc/grpc-js';
import { Devnet } from '../../src/devnet/devnet.js';
import { generateIdentityKey } from '../../src/crypto/identity.js';
import { RpcError } from '../../src/rpc/errors.js';
import { hashOfCertificate } from '../../src/committee/roster.js';
import { tempDir } from '../helpers/node.js';
import { deadEndpoint, runBuiltCli, runCli } from '../helpers/cli.js';

interface Row { endpoint: string; ok: boolean; code?: string; error?: string; state?: string; phase?: string; kind?: string; epoch?: number;
  answered?: string[]; awaited?: string[]; secondsLeft?: number | null; threshold?: number; members?: string[] }

describe('election submit, ceremony status, status and refresh on a 3-node devnet', () => {
  const dir = tempDir('election-cli');
  const devnet = new Devnet({ dir, nodes: 3, threshold: 2, phaseTimeoutMs: 30_000 });
  const f = (name: string) => path.join(dir, name);
  let ep: string[];
  let dead: string;
  let op: string[];
  let stranger: string;
  let ids: string[];
  let submitArgs: string[];

  beforeAll(async () => {
    await devnet.create();
    await Promise.all(devnet.nodes.map((_, i) => devnet.startNode(i)));
    ep = devnet.nodes.map((n) => n.endpoint);
    dead = await deadEndpoint();
    op = ['--operator-key', devnet.operatorKeyFile];
    stranger = f('stranger.key');
    fs.writeFileSync(stranger, bytesToHex(generateIdentityKey().secretKey), { mode: 0o600 });
  }, 120_000);
  afterAll(async () => {
    await devnet.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('status exits as vault status: 2 sealed, 0 unsealed, 1 unreachable', async () => {
    const sealed = await runCli('status', ['--endpoint', ep[0]!, '--json']);
    expect([sealed.code, JSON.parse(sealed.out).sealed]).toEqual([2, true]);
    await Promise.all(devnet.nodes.map((_, i) => devnet.unseal(i)));
    const unsealed = await runCli('status', ['--endpoint', ep[0]!]);
    expect([unsealed.code, unsealed.out]).toEqual([0, expect.stringMatching(/sealed\s+false/)]);
    const down = await runBuiltCli('status', '--endpoint', dead);
    expect([down.code, down.err]).toEqual([1, expect.stringMatching(/cannot reach .*connection refused/)]);
    expect((await runBuiltCli('status', '--endpoint', 'localhost')).code).toBe(2);
  });

  test('ceremony status: NOT_FOUND before any ceremony, unsigned and non-operator calls refused', async () => {
    const none = await runCli('ceremony', ['status', '--endpoint', ep[0]!, ...op, '--json']);
    expect(none.code).toBe(1);
    expect(JSON.parse(none.out).members[0]).toMatchObject({ ok: false, code: 'NOT_FOUND', error: expect.stringMatching(/no ceremony/) });
    const denied = await runCli('ceremony', ['status', '--endpoint', ep[0]!, '--operator-key', stranger]);
    expect([denied.code, denied.out]).toEqual([1, expect.stringMatching(/FAILED PERMISSION_DENIED: this key is not an operator key/)]);
    const unsigned = await devnet.nodes[0]!.client.call('OperatorService', 'CeremonyStatus', { epoch: 0 }).catch((e: unknown) => e);
    expect(unsigned).toBeInstanceOf(RpcError);
    expect((unsigned as RpcError).code).toBe(grpcStatus.UNAUTHENTICATED);
    await expect(runCli('ceremony', ['status', '--endpoint', ep[0]!, '--epoch', '-1'])).rejects.toThrow(/--epoch/);
    await expect(runCli('ceremony', ['status'])).rejects.toThrow(/--endpoint/);
  });

  test('election submit: usage mistakes are caught before anything is sent', async () => {
    await expect(runCli('election', ['submit', '--epoch', '1', '--seats', '3', '--candidate', ep[0]!, '--self-stake', '1', '--endpoint', ep[0]!]))
      .rejects.toThrow(/--out FILE is required when building/);
    await expect(runCli('election', ['submit', '--snapshot', f('x.json'), '--epoch', '1', '--endpoint', ep[0]!])).rejects.toThrow(/either --snapshot/);
    await expect(runCli('election', ['submit', '--epoch', '1', '--seats', '3', '--out', f('y.json')])).rejects.toThrow(/--endpoint/);
    // A snapshot without governance signatures: exit 2 from the built CLI, nothing sent.
    expect((await runCli('snapshot', ['build', '--epoch', '1', '--seats', '2', '--endpoint', ep[0]!, '--endpoint', ep[1]!, '--self-stake', '5', ...op, '--out', f('unsigned.json')])).code).toBe(0);
    const unsignedDoc = await runBuiltCli('election', 'submit', '--snapshot', f('unsigned.json'), '--endpoint', ep[0]!, ...op);
    expect([unsignedDoc.code, unsignedDoc.err]).toEqual([2, expect.stringMatching(/no governance signatures/)]);
    // --out holding another epoch's snapshot is not silently replaced.
    await expect(runCli('election', ['submit', '--epoch', '2', '--seats', '2', '--candidate', ep[0]!, '--self-stake', '5', '--out', f('unsigned.json'),
      '--governance-key', devnet.governanceKeyFiles[0]!, '--endpoint', ep[0]!, ...op])).rejects.toThrow(/holds the snapshot of epoch 1, not 2/);
  });

  test('election submit runs genesis: a member down is reported, ceremony status shows who is awaited, the same command again completes it', async () => {
    // Node 3's candidacy as a file (mixed sources); then node 3 restarts, sealed, before the snapshot is submitted.
    const cand = await runCli('candidacy', ['get', '--endpoint', ep[2]!, '--epoch', '1', '--self-stake', '1200', ...op, '--out', f('cand-3.json'), '--json']);
    expect(cand.code).toBe(0);
    await devnet.stopNode(2);
    await devnet.startNode(2);
    expect((await runCli('status', ['--endpoint', ep[2]!])).code).toBe(2);
    submitArgs = ['submit', '--epoch', '1', '--seats', '3', '--threshold', '2', '--phase-timeout-ms', '30000',
      '--candidate', ep[0]!, '--candidate', ep[1]!, '--self-stake', '1000', '--candidacy', f('cand-3.json'),
      '--governance-key', devnet.governanceKeyFiles[0]!, '--governance-key', devnet.governanceKeyFiles[1]!,
      '--out', f('election-1.json'), '--endpoint', ep[0]!, ...op];
    const first = await runCli('election', submitArgs);
    expect(first.code).toBe(1); // node-1 accepted it, but node 3 (sealed) did not take the forwarded snapshot
    expect(first.out).toMatch(/elects 3 members, k = 2/);
    expect(first.out).toMatch(new RegExp(`${ep[0]!.replace(/\./g, '\\.')}\\s+ok\\s+epoch=1 elected=true snapshotHash=[0-9a-f]{16} forwardErrors=`));
    expect(first.err).toMatch(new RegExp(`forwarding did not reach ${ep[2]!.replace(/\./g, '\\.')}.*--endpoint ${ep[2]!.replace(/\./g, '\\.')}`));
    const signed = JSON.parse(fs.readFileSync(f('election-1.json'), 'utf8')) as { signatures: unknown[] };
    expect(signed.signatures).toHaveLength(2); // kept on disk before anything was sent

    // The two running members are in round 1, each holding the other's package and awaiting node 3.
    const node3 = (JSON.parse(cand.out) as { nodeId: string }).nodeId;
    // (Each pulls the other's package within moments; poll until both hold it.)
    let during: Awaited<ReturnType<typeof runCli>>;
    let rows: Row[];
    for (let t = 0; ; t++) {
      during = await runCli('ceremony', ['status', ...ep.flatMap((e) => ['--endpoint', e]), ...op, '--json']);
      rows = (JSON.parse(during.out) as { members: Row[] }).members;
      if (rows.slice(0, 2).every((r) => r.answered?.length === 1) || t > 50) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(during.code).toBe(1); // node 3 is sealed
    for (const r of rows.slice(0, 2)) {
      expect(r).toMatchObject({ ok: true, kind: 'genesis', epoch: 1, state: 'ROUND1', phase: 'round1', awaited: [node3], threshold: 2 });
      expect(r.answered).toHaveLength(1);
      expect(r.members).toHaveLength(3);
      expect(r.secondsLeft).toBeGreaterThan(0);
      expect(r.secondsLeft).toBeLessThanOrEqual(30);
    }
    expect(rows[2]).toMatchObject({ ok: false, code: 'FAILED_PRECONDITION', error: expect.stringMatching(/sealed/) });
    const table = await runCli('ceremony', ['status', '--endpoint', ep[0]!, ...op]);
    expect([table.code, table.out]).toEqual([0, expect.stringMatching(new RegExp(`genesis epoch 1  ROUND1  phase round1  answered 1/2  awaiting ${node3.slice(0, 8)}  deadline in \\d+s  k=2 of 3`))]);

    // Node 3 is unsealed; the same command again, now to every member (a node that has the snapshot
    // does not forward it again): it resubmits the kept file, and every member answers the same hash.
    await devnet.unseal(2);
    submitArgs.push('--endpoint', ep[1]!, '--endpoint', ep[2]!);
    const again = await runCli('election', submitArgs);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/resubmitting .*election-1\.json \(built earlier for epoch 1\)/);
    const hashes = [...again.out.matchAll(/ok\s+epoch=1 elected=true snapshotHash=([0-9a-f]{16})/g)].map((m) => m[1]);
    expect(hashes).toEqual(Array(3).fill(first.out.match(/snapshotHash=([0-9a-f]{16})/)![1]));

    // --watch follows every member to COMPLETE (plain lines: not a terminal).
    const watch = await runCli('ceremony', ['status', '--watch', '--interval-ms', '200', '--timeout', '60', ...ep.flatMap((e) => ['--endpoint', e]), ...op]);
    if (watch.code !== 0) throw new Error(`watch exited ${watch.code}: ${watch.out}${watch.err}`);
    for (const e of ep) {
      const lines = watch.out.split('\n').filter((l) => l.startsWith(e)); // a line per change of that node's view
      expect(lines[lines.length - 1]).toMatch(/genesis epoch 1  COMPLETE  k=2 of 3$/);
    }
    const done = JSON.parse((await runCli('ceremony', ['status', '--epoch', '1', ...ep.flatMap((e) => ['--endpoint', e]), ...op, '--json'])).out) as { members: Row[] };
    for (const r of done.members) expect(r).toMatchObject({ ok: true, state: 'COMPLETE', phase: '', answered: [], awaited: [], secondsLeft: null });
    ids = done.members[0]!.members!;
    expect(ids).toContain(node3);

    // On a terminal the rows are redrawn in place; a member that cannot be reached keeps the watch
    // going until --timeout, then exit 1.
    const tty = Object.getOwnPropertyDescriptor(process.stdout, 'isTTY');
    Object.defineProperty(process.stdout, 'isTTY', { value: true, configurable: true });
    let live: Awaited<ReturnType<typeof runCli>>;
    try {
      live = await runCli('ceremony', ['status', '--watch', '--interval-ms', '300', '--timeout', '1', '--endpoint', ep[0]!, '--endpoint', dead, ...op]);
    } finally {
      if (tty) Object.defineProperty(process.stdout, 'isTTY', tty); else delete (process.stdout as { isTTY?: boolean }).isTTY;
    }
    expect([live.code, live.err]).toEqual([1, expect.stringMatching(/not every node is COMPLETE or ABORTED after 1 s/)]);
    const frames = live.out.split('\x1b[2A');
    expect(frames.length).toBeGreaterThanOrEqual(3);
    for (const frame of frames) {
      expect(frame).toMatch(/\x1b\[2K\S+\s+genesis epoch 1  COMPLETE/);
      expect(frame).toMatch(/\x1b\[2K\S+\s+FAILED UNAVAILABLE/);
    }

    // Repeating once more after completion changes nothing (exit 0), also as --snapshot of the kept
    // file; a different epoch-1 snapshot, signed by two holders apart and combined, is read, sent and
    // refused by every member, row by row; an unknown epoch is NOT_FOUND.
    expect((await runCli('election', submitArgs)).code).toBe(0);
    expect((await runCli('election', ['submit', '--snapshot', f('election-1.json'), ...ep.flatMap((e) => ['--endpoint', e]), ...op])).code).toBe(0);
    for (const [i, copy] of ['u-a.json', 'u-b.json'].entries()) {
      fs.copyFileSync(f('unsigned.json'), f(copy));
      expect((await runCli('governance', ['sign', '--in', f(copy), '--governance-key', devnet.governanceKeyFiles[i]!])).code).toBe(0);
    }
    expect((await runCli('governance', ['combine', '--in', f('u-a.json'), '--in', f('u-b.json'), '--out', f('u-signed.json')])).code).toBe(0);
    const other = await runCli('election', ['submit', '--snapshot', f('u-signed.json'), ...ep.flatMap((e) => ['--endpoint', e]), ...op, '--json']);
    expect(other.code).toBe(1);
    for (const r of (JSON.parse(other.out) as { members: Row[] }).members) {
      expect(r.ok).toBe(false);
      expect(['ALREADY_EXISTS', 'FAILED_PRECONDITION']).toContain(r.code);
    }
    const unknown = await runCli('ceremony', ['status', '--epoch', '7', '--endpoint', ep[1]!, ...op]);
    expect([unknown.code, unknown.out]).toEqual([1, expect.stringMatching(/FAILED NOT_FOUND: no ceremony for epoch 7/)]);
  }, 120_000);

  test('refresh: usage, the default epoch from Status, and per-member refusals in the table', async () => {
    await expect(runCli('refresh', [])).rejects.toThrow(/--endpoint/);
    await expect(runCli('refresh', ['--endpoint', ep[0]!, '--epoch', '0'])).rejects.toThrow(/--epoch/);
    const nobody = await runCli('refresh', ['--endpoint', dead, ...op]);
    expect([nobody.code, nobody.err]).toEqual([1, expect.stringMatching(/no member answered Status/)]);
    // Epoch = active (1) + 1; a key that is not an operator's is refused by every member, row by row
    // (UNIMPLEMENTED while the nodes do not offer RefreshShares yet).
    const denied = await runCli('refresh', [...ep.flatMap((e) => ['--endpoint', e]), '--operator-key', stranger]);
    expect(denied.code).toBe(1);
    expect(denied.out).toMatch(/active committee: epoch 1; refreshing as epoch 2/);
    expect(denied.out.match(/FAILED (PERMISSION_DENIED|UNIMPLEMENTED)/g)).toHaveLength(3);
    expect(denied.err).toMatch(/3 of 3 members did not apply it/);
    // A refresh for an epoch that is not the next one: every member refuses (or does not offer
    // RefreshShares yet), and an unreachable member is a row too.
    const wrong = await runCli('refresh', [...ep.flatMap((e) => ['--endpoint', e]), '--endpoint', dead, '--epoch', '9', ...op, '--json']);
    expect(wrong.code).toBe(1);
    const rows = (JSON.parse(wrong.out) as { ok: boolean; members: Row[] }).members;
    for (const r of rows.slice(0, 3)) expect(['UNIMPLEMENTED', 'FAILED_PRECONDITION', 'INVALID_ARGUMENT']).toContain(r.code);
    expect(rows[3]).toMatchObject({ endpoint: dead, ok: false, code: 'UNAVAILABLE' });
  });

  test('a later round: election submit names the previous certificate, ceremony status --watch follows the hand-off, refresh runs the next epoch; the keys stay', async () => {
    const before = await devnet.committee(0);
    const all = ep.flatMap((e) => ['--endpoint', e]);
    // The same three members, now 3-of-3: a hand-off (k 2 → 3) without a new committee key.
    const sub = await runCli('election', ['submit', '--epoch', '2', '--seats', '3', '--threshold', '3', '--phase-timeout-ms', '30000',
      ...ep.flatMap((e) => ['--candidate', e]), '--self-stake', '1000',
      '--governance-key', devnet.governanceKeyFiles[0]!, '--governance-key', devnet.governanceKeyFiles[1]!,
      '--out', f('election-2.json'), '--endpoint', ep[0]!, ...op]);
    if (sub.code !== 0) throw new Error(`election submit exited ${sub.code}: ${sub.out}${sub.err}`);
    const doc = JSON.parse(fs.readFileSync(f('election-2.json'), 'utf8')) as { summary: { previousCertificateHash: string } };
    expect(doc.summary.previousCertificateHash).toBe(bytesToHex(hashOfCertificate(before.certificates[before.certificates.length - 1]!)));
    const watch2 = await runCli('ceremony', ['status', '--epoch', '2', '--watch', '--interval-ms', '300', '--timeout', '90', ...all, ...op]);
    if (watch2.code !== 0) throw new Error(`watch exited ${watch2.code}: ${watch2.out}${watch2.err}`);
    for (const e of ep) expect(watch2.out.split('\n').filter((l) => l.startsWith(e)).pop()).toMatch(/handoff epoch 2  COMPLETE  k=3 of 3$/);
    // Every member serves epoch 2 only once it is certified; the committee key and MPK are those of genesis.
    for (const i of [0, 1, 2]) {
      const v = await devnet.committee(i);
      expect([v.epoch, v.threshold, v.certificates.length]).toEqual([2, 3, 2]);
      expect(bytesToHex(v.committeeKey)).toBe(bytesToHex(before.committeeKey));
      expect(bytesToHex(v.masterPublicKey)).toBe(bytesToHex(before.masterPublicKey));
    }

    // refresh: the epoch defaults to the active one + 1 and every member applies it.
    const ref = await runCli('refresh', [...all, ...op]);
    if (ref.code !== 0) throw new Error(`refresh exited ${ref.code}: ${ref.out}${ref.err}`);
    expect(ref.out).toMatch(/active committee: epoch 2; refreshing as epoch 3/);
    expect((await runCli('refresh', [...all, '--epoch', '3', ...op])).code).toBe(0); // the same request again changes nothing
    const watch3 = await runCli('ceremony', ['status', '--epoch', '3', '--watch', '--interval-ms', '300', '--timeout', '90', ...all, ...op]);
    if (watch3.code !== 0) throw new Error(`watch exited ${watch3.code}: ${watch3.out}${watch3.err}`);
    const refreshed = await devnet.committee(1);
    expect([refreshed.epoch, refreshed.threshold]).toEqual([3, 3]);
    expect(bytesToHex(refreshed.committeeKey)).toBe(bytesToHex(before.committeeKey));
    // New shares: every verifying share changed, the group keys did not.
    for (const m of refreshed.members) {
      const old = before.members.find((x) => bytesToHex(x.nodeId) === bytesToHex(m.nodeId))!;
      expect(bytesToHex(m.signingVerifyingShare)).not.toBe(bytesToHex(old.signingVerifyingShare));
    }
  }, 240_000);
});
