// The coordinator's FROST round trip finishes at k (issue 12, item 1): the commit round ends as soon
// as k members committed and cancels the rest, the sign round goes to exactly that set, a signer that
// fails or returns a bad share is excluded and the round trip retried once, and a failure reports
// every member's refusal, bounded. One process, fake peers running the real FROST code.
import { status } from '@grpc/grpc-js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { ThresholdSigner } from '../../src/ceremony/signer.js';
import {
  decodeSigningCommitments, encodeSignatureShare, encodeSigningCommitments, identifierForPosition, publicPackage, signShare,
  signingCommit, verifyGroupSignature, type KeyPackage, type SigningNonces,
} from '../../src/crypto/frost.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { RpcError } from '../../src/rpc/errors.js';
import type { CeremonyRecord } from '../../src/store/ceremony-store.js';
import type { NodeContext } from '../../src/node/context.js';
import { runDkg, seededRng } from '../crypto/helpers.js';

type Behaviour = 'honest' | 'silent' | 'late' | 'bad-share' | 'refuse-commit' | 'refuse-sign' | 'wrong-identifier';

const enc = (v: unknown) => utf8(JSON.stringify(v));
const dec = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as unknown;

/** n members with real key packages (a small stand-in committee's when `keyless`: nobody gets to sign). */
function committee(n: number, k: number, keyless = false) {
  const ids = Array.from({ length: n }, (_, i) => identifierForPosition(i));
  const keys: KeyPackage[] = keyless ? runDkg('signing', ids.slice(0, 3), 2, seededRng('stand-in'))
    : runDkg('signing', ids, k, seededRng(`coordinate-${n}-${k}`));
  const roster = ids.map((id, i) => ({
    nodeId: bytesToHex(new Uint8Array(16).fill(i + 1)), identityKey: '', transportKey: '', endpoint: `member-${i}`, stake: '1', shareIdentifier: id,
  }));
  const c: CeremonyRecord = {
    epoch: 1, kind: 'genesis', state: 'COMPLETE', snapshot: new Uint8Array(), snapshotHash: new Uint8Array(), roster, threshold: k,
    phaseDeadlineMs: 0, phaseTimeoutMs: 0, error: '', updatedMs: 0,
  };
  return { keys, roster, c, pub: publicPackage(keys[0]!) };
}

interface Call { endpoint: string; method: string; timeoutMs: number; aborted: boolean }

/** Member i answers as `behaviour[i]` (default honest). */
function harness(n: number, k: number, behaviour: Record<number, Behaviour> = {}, opts: { down?: number[]; lateMs?: number; keyless?: boolean } = {}) {
  const { keys, roster, c, pub } = committee(n, k, opts.keyless);
  const nonces = new Map<string, SigningNonces>();
  const calls: Call[] = [];
  const answer = (i: number, method: string, req: Record<string, unknown>): Record<string, unknown> => {
    const b = behaviour[i] ?? 'honest';
    const session = `${i}/${bytesToHex(req.sessionId as Uint8Array)}`;
    if (method === 'FrostCommit') {
      if (b === 'refuse-commit') throw new RpcError(status.PERMISSION_DENIED, 'this member never provisioned that worker');
      const made = signingCommit(keys[i]!);
      nonces.set(session, made.nonces);
      const commitments = made.commitments;
      if (b === 'wrong-identifier') commitments.identifier = keys[(i + 1) % n]!.identifier;
      return { commitments: enc(encodeSigningCommitments(commitments)) };
    }
    if (b === 'refuse-sign') throw new RpcError(status.FAILED_PRECONDITION, 'unknown, expired or already used signing session');
    const mine = nonces.get(session);
    if (!mine) throw new RpcError(status.FAILED_PRECONDITION, 'unknown signing session');
    nonces.delete(session);
    const list = (req.commitments as Uint8Array[]).map((w) => decodeSigningCommitments(dec(w)));
    const share = signShare(keys[i]!, mine, list, req.message as Uint8Array);
    if (b === 'bad-share') share.share[31] = share.share[31]! ^ 1;
    return { signatureShare: enc(encodeSignatureShare(share)) };
  };
  const down = new Set((opts.down ?? []).map((i) => roster[i]!.endpoint));
  const ctx = {
    now: () => Date.now(),
    log: { warn: () => undefined, debug: () => undefined, info: () => undefined },
    peerHealth: { isDown: (e: string) => down.has(e) },
    peerFanOut: (endpoints: string[], method: string, req: Record<string, unknown>, timeoutMs: number, o: { signal?: AbortSignal } = {}) =>
      endpoints.map((endpoint) => new Promise((resolve, reject) => {
        const i = roster.findIndex((m) => m.endpoint === endpoint);
        const call: Call = { endpoint, method, timeoutMs, aborted: false };
        calls.push(call);
        const b = behaviour[i] ?? 'honest';
        const deadline = setTimeout(() => reject(new RpcError(status.DEADLINE_EXCEEDED, 'Deadline exceeded')), timeoutMs);
        o.signal?.addEventListener('abort', () => { call.aborted = true; clearTimeout(deadline); reject(new RpcError(status.CANCELLED, 'Cancelled on client')); });
        if (b === 'silent') return;
        const reply = () => {
          clearTimeout(deadline);
          try { resolve(answer(i, method, req)); } catch (err) { reject(err); }
        };
        if (b === 'late') setTimeout(reply, opts.lateMs ?? 300); else setImmediate(reply);
      })),
  } as unknown as NodeContext;
  const signer = new ThresholdSigner(ctx, () => ({ signing: pub, derivation: pub }), () => undefined);
  return { signer, c, roster, pub, calls };
}

const message = utf8('roster certificate of epoch 1');
const nodeOf = (h: { roster: { nodeId: string }[] }, i: number) => h.roster[i]!.nodeId;

describe('ThresholdSigner.coordinate', () => {
  test('every member honest: a BIP340 signature under the CPK from exactly k signers', async () => {
    const h = harness(5, 3);
    const sig = await h.signer.coordinate(h.c, message, 'roster');
    expect(sig).toBeDefined();
    expect(verifyGroupSignature(h.pub.groupPublicKey, message, sig!)).toBe(true);
    expect(h.calls.filter((x) => x.method === 'FrostCommit')).toHaveLength(5);
    expect(h.calls.filter((x) => x.method === 'FrostSign')).toHaveLength(3);
  });

  test('a member that never answers and one that answers late do not hold the signing up: it ends at k and cancels them', async () => {
    const h = harness(5, 3, { 1: 'silent', 2: 'late' }, { lateMs: 3000 });
    const started = Date.now();
    const sig = await h.signer.coordinate(h.c, message, 'roster', { budgetMs: 8000 });
    const took = Date.now() - started;
    expect(verifyGroupSignature(h.pub.groupPublicKey, message, sig!)).toBe(true);
    // The silent member's commit deadline was half the budget (4 s) and the late one answers after 3 s.
    expect(h.calls.find((x) => x.endpoint === 'member-1' && x.method === 'FrostCommit')!.timeoutMs).toBeGreaterThanOrEqual(3900);
    expect(took).toBeLessThan(1500);
    for (const i of [1, 2]) {
      expect(h.calls.find((x) => x.endpoint === `member-${i}` && x.method === 'FrostCommit')!.aborted).toBe(true);
      expect(h.calls.some((x) => x.endpoint === `member-${i}` && x.method === 'FrostSign')).toBe(false);
    }
    expect(h.calls.filter((x) => x.method === 'FrostSign').map((x) => x.endpoint).sort()).toEqual(['member-0', 'member-3', 'member-4']);
  });

  test('a signer that returns a bad share is named and excluded; the retry with fresh commitments signs without it', async () => {
    // The first set is the first three to commit, {0, 1, 2}; member 1's share is bad; the retry set is {0, 2, 3}.
    const h = harness(5, 3, { 1: 'bad-share', 4: 'late' }, { lateMs: 2000 });
    const refusals: string[] = [];
    const sig = await h.signer.coordinate(h.c, message, 'roster', { refusals, budgetMs: 6000 });
    expect(verifyGroupSignature(h.pub.groupPublicKey, message, sig!)).toBe(true);
    expect(refusals).toEqual([`node ${nodeOf(h, 1)}: FrostSign: its signature share does not verify`]);
    const commits = h.calls.filter((x) => x.method === 'FrostCommit');
    // Two commit rounds: every member, then every member but the bad signer.
    expect(commits.filter((x) => x.endpoint === 'member-1')).toHaveLength(1);
    expect(commits.filter((x) => x.endpoint === 'member-0')).toHaveLength(2);
    const signs = h.calls.filter((x) => x.method === 'FrostSign').map((x) => x.endpoint);
    expect(signs.slice(0, 3).sort()).toEqual(['member-0', 'member-1', 'member-2']);
    expect(signs.slice(3).sort()).toEqual(['member-0', 'member-2', 'member-3']);
  });

  test('a signer that fails in the sign round is excluded and the retry signs without it', async () => {
    const h = harness(4, 3, { 2: 'refuse-sign' });
    const refusals: string[] = [];
    const sig = await h.signer.coordinate(h.c, message, 'roster', { refusals });
    expect(verifyGroupSignature(h.pub.groupPublicKey, message, sig!)).toBe(true);
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatch(new RegExp(`^node ${nodeOf(h, 2)}: FrostSign: FAILED_PRECONDITION: unknown, expired`));
    expect(h.calls.filter((x) => x.method === 'FrostSign').slice(3).map((x) => x.endpoint).sort()).toEqual(['member-0', 'member-1', 'member-3']);
  });

  test('commitments under another member\'s identifier count as a refusal; the others suffice', async () => {
    const h = harness(5, 3, { 0: 'wrong-identifier' });
    const sig = await h.signer.coordinate(h.c, message, 'roster');
    expect(verifyGroupSignature(h.pub.groupPublicKey, message, sig!)).toBe(true);
    expect(h.calls.some((x) => x.endpoint === 'member-0' && x.method === 'FrostSign')).toBe(false);
  });

  test('members known down are not asked while enough others are', async () => {
    const h = harness(5, 3, {}, { down: [3, 4] });
    const refusals: string[] = [];
    const sig = await h.signer.coordinate(h.c, message, 'roster', { refusals });
    expect(verifyGroupSignature(h.pub.groupPublicKey, message, sig!)).toBe(true);
    expect(h.calls.some((x) => x.endpoint === 'member-3' || x.endpoint === 'member-4')).toBe(false);
  });

  test('too few members: fails within the budget, naming each member and why', async () => {
    const h = harness(4, 3, { 1: 'silent', 2: 'refuse-commit', 3: 'refuse-commit' });
    const refusals: string[] = [];
    const started = Date.now();
    const sig = await h.signer.coordinate(h.c, message, 'roster', { refusals, budgetMs: 600 });
    const took = Date.now() - started;
    expect(sig).toBeUndefined();
    // The refusals make k unreachable: the silent member is not waited for.
    expect(took).toBeLessThan(500);
    expect(refusals).toContain(`node ${nodeOf(h, 2)}: FrostCommit: PERMISSION_DENIED: this member never provisioned that worker`);
    expect(refusals).toContain(`node ${nodeOf(h, 1)}: FrostCommit: no answer yet (not waited for: too few members committed)`);
    expect(refusals).toContain('only 1 of the 3 commitments needed');
  });

  test('silent members: the commit round waits out their per-peer deadline from the budget, and says so', async () => {
    const h = harness(4, 3, { 1: 'silent', 2: 'silent' });
    const refusals: string[] = [];
    const started = Date.now();
    const sig = await h.signer.coordinate(h.c, message, 'roster', { refusals, budgetMs: 400 });
    const took = Date.now() - started;
    expect(sig).toBeUndefined();
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(400 + 300);
    expect(refusals).toContain(`node ${nodeOf(h, 1)}: FrostCommit: no answer within 200 ms`);
    expect(refusals).toContain(`node ${nodeOf(h, 2)}: FrostCommit: no answer within 200 ms`);
  });

  test('retries once only: two bad signers in turn leave no signature, both named', async () => {
    const h = harness(5, 3, { 0: 'bad-share', 3: 'bad-share' });
    const refusals: string[] = [];
    const sig = await h.signer.coordinate(h.c, message, 'roster', { refusals });
    expect(sig).toBeUndefined();
    expect(h.calls.filter((x) => x.method === 'FrostSign')).toHaveLength(6);
    expect(refusals).toEqual([0, 3].map((i) => `node ${nodeOf(h, i)}: FrostSign: its signature share does not verify`));
  });

  test('the refusals of a large committee are bounded in number and length', async () => {
    const h = harness(40, 30, Object.fromEntries(Array.from({ length: 40 }, (_, i) => [i, 'refuse-commit' as Behaviour])), { keyless: true });
    const refusals: string[] = [];
    expect(await h.signer.coordinate(h.c, message, 'roster', { refusals })).toBeUndefined();
    expect(refusals.length).toBeLessThanOrEqual(24);
    expect(refusals[refusals.length - 1]).toBe('(further refusals left out)');
    for (const r of refusals) expect(r.length).toBeLessThanOrEqual(200);
  });
});
