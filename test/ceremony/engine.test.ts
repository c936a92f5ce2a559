// The ceremony engine in one process: fake peers (other engines behind an in-memory transport that can
// refuse connections or tamper with bytes), a fake clock, real SQLite in temp dirs, real signatures and
// HPKE. A toy protocol (commit to a value, then reveal it sealed to each member, complete with the sum)
// exercises every transition and every deadline.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import { AuditLog, allAuditEntries } from '../../src/audit/log.js';
import { SecretBox } from '../../src/node/keystore.js';
import { generateIdentityKey } from '../../src/crypto/identity.js';
import { generateTransportKeyPair, openFromPeer } from '../../src/crypto/hpke.js';
import { equalBytes, u32be, utf8 } from '../../src/crypto/bytes.js';
import { CeremonyEngine, sealContext, type Member, type Protocol } from '../../src/ceremony/engine.js';
import { EngineError, transition } from '../../src/ceremony/state.js';
import { BACKOFF_MAX_MS, FAILOVER_MS, PeerUnavailable, type WireMessage } from '../../src/ceremony/transport.js';

interface SumState { value: number; lie: boolean; commits: Record<string, string>; sum?: number }

const dec = new TextDecoder();
/** Commit (broadcast SHA-256 of the value), then share (the value, sealed to each member), then the sum. */
const sumProtocol: Protocol<SumState> = {
  kind: 'sum',
  first: 'commit',
  start(_ctx, params) {
    const value = params.value as number;
    return { state: { value, lie: !!params.lie, commits: {} }, outgoing: [{ to: '*', body: sha256(u32be(value)) }] };
  },
  phases: {
    commit: {
      run(state, inbox, ctx) {
        const commits = Object.fromEntries(inbox.map((r) => [r.sender, bytesToHex(r.body)]));
        const sent = state.lie ? state.value + 1 : state.value;
        return { kind: 'next', state: { ...state, commits }, phase: 'share', outgoing: ctx.members.filter((m) => m.id !== ctx.self).map((m) => ({ to: m.id, body: u32be(sent) })) };
      },
    },
    share: {
      run(state, inbox) {
        let sum = state.value;
        for (const r of inbox) {
          if (bytesToHex(sha256(r.body)) !== state.commits[r.sender]) {
            return { kind: 'blame', culprit: r.sender, reason: `member ${r.sender} revealed a value it did not commit to`, evidence: { sealed: bytesToHex(r.wire.body), signature: bytesToHex(r.wire.signature) } };
          }
          sum += new DataView(r.body.buffer, r.body.byteOffset).getUint32(0);
        }
        return { kind: 'complete', state: { ...state, sum }, result: { sum } };
      },
    },
  },
  encodeState: (s) => utf8(JSON.stringify(s)),
  decodeState: (b) => JSON.parse(dec.decode(b)) as SumState,
};

class Clock {
  t = 1_000_000;
  now = () => this.t;
}

interface Peer { id: string; db: Db; dir: string; engine: CeremonyEngine; identitySecret: Uint8Array; transport: { secretKey: Uint8Array; publicKey: Uint8Array }; box: SecretBox }

class FakeNet {
  readonly peers = new Map<string, Peer>();
  readonly down = new Set<string>();
  readonly fetches: string[] = [];
  tamper: ((m: WireMessage) => WireMessage) | undefined;
  readonly transitions: string[] = [];
  constructor(readonly clock: Clock) {}

  makeEngine(p: Omit<Peer, 'engine'>): CeremonyEngine {
    const engine = new CeremonyEngine({
      db: p.db, box: p.box, now: this.clock.now, audit: new AuditLog(p.db, this.clock.now),
      self: { id: p.id, identitySecret: p.identitySecret, transportSecret: p.transport.secretKey, transportKey: p.transport.publicKey },
      onTransition: (t) => this.transitions.push(`${p.id.slice(0, 4)}:${t.status}:${t.phase}`),
      transport: {
        fetch: async (peer, req) => {
          this.fetches.push(`${p.id}->${peer.id}:${req.phase}`);
          if (this.down.has(peer.id)) throw new PeerUnavailable('connection refused');
          const other = this.peers.get(peer.id);
          if (!other) throw new PeerUnavailable('connection refused');
          const m = await other.engine.serve(req, p.id, 0);
          return this.tamper ? this.tamper(m) : m;
        },
      },
      log: { warn: () => undefined },
    });
    engine.register(sumProtocol);
    return engine;
  }

  add(): Peer {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gk-engine-'));
    const id = generateIdentityKey();
    const base = { id: bytesToHex(id.publicKey), db: openDatabase(path.join(dir, 'db.sqlite')), dir, identitySecret: id.secretKey, transport: generateTransportKeyPair(), box: new SecretBox(new Uint8Array(randomBytes(32))) };
    const peer = { ...base, engine: this.makeEngine(base) };
    this.peers.set(peer.id, peer);
    return peer;
  }

  /** Restarts a peer: a new engine over the same database (what a process restart leaves). */
  restart(p: Peer): Peer {
    p.engine.close();
    const again = { ...p, engine: this.makeEngine(p) };
    this.peers.set(p.id, again);
    return again;
  }

  /** Ticks every member `rounds` times, 250 ms of fake time apart (a refused peer is asked again after 200 ms). */
  async tickAll(rounds = 1): Promise<void> {
    for (let i = 0; i < rounds; i++) {
      for (const p of this.peers.values()) await p.engine.tick();
      this.clock.t += 250;
    }
  }
}

const member = (p: Peer): Member => ({ id: p.id, endpoint: `fake:${p.id.slice(0, 8)}`, transportKey: bytesToHex(p.transport.publicKey) });

function setUp(n: number) {
  const clock = new Clock();
  const net = new FakeNet(clock);
  const peers = Array.from({ length: n }, () => net.add());
  const members = peers.map(member);
  const start = (p: Peer, value: number, extra: Record<string, unknown> = {}) =>
    p.engine.start('sum', { id: 'sum-1', epoch: 1, members, phaseTimeoutMs: 10_000, params: { value, ...extra } });
  return { clock, net, peers, members, start };
}

const audit = (p: Peer) => [...allAuditEntries(p.db)].map((e) => ({ action: e.action, detail: JSON.parse(e.detailJson) as Record<string, unknown> }));

async function expectCode(p: Promise<unknown> | (() => unknown), code: string): Promise<void> {
  let err: unknown;
  try { await (typeof p === 'function' ? p() : p); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(EngineError);
  expect((err as EngineError).code).toBe(code);
}

describe('ceremony engine', () => {
  test('RUNNING(commit) → RUNNING(share) → COMPLETE on every member, each transition audited and counted', async () => {
    const { net, peers, start } = setUp(3);
    await Promise.all(peers.map((p, i) => start(p, 10 * (i + 1))));
    await net.tickAll(3);
    for (const p of peers) {
      const c = p.engine.get('sum-1')!;
      expect(c.status).toBe('COMPLETE');
      expect(p.engine.state<SumState>('sum-1').sum).toBe(60);
      expect(audit(p).map((e) => e.action)).toEqual(expect.arrayContaining(['sum.started', 'sum.phase', 'sum.complete']));
      expect(net.transitions.filter((t) => t.startsWith(p.id.slice(0, 4)))).toEqual([`${p.id.slice(0, 4)}:RUNNING:commit`, `${p.id.slice(0, 4)}:RUNNING:share`, `${p.id.slice(0, 4)}:COMPLETE:share`]);
    }
  });

  test('the first messages are persisted with the record, before they can be served; addressed messages are sealed and signed', async () => {
    const { peers, start } = setUp(2);
    const [a, b] = peers as [Peer, Peer];
    await start(a, 5);
    const stored = a.engine.store.message('sum-1', 'commit', a.id, b.id)!;
    expect(stored.recipient).toBe('*');
    expect(equalBytes(stored.body, sha256(u32be(5)))).toBe(true);
    expect(equalBytes((await a.engine.serve({ ceremony: 'sum-1', phase: 'commit' }, b.id, 0)).signature, stored.signature)).toBe(true);
    await expectCode(a.engine.serve({ ceremony: 'sum-1', phase: 'commit' }, 'ab'.repeat(32), 0), 'ErrNotAMember');
    await expectCode(a.engine.serve({ ceremony: 'nope', phase: 'commit' }, b.id, 0), 'ErrUnknownCeremony');
    await expectCode(a.engine.serve({ ceremony: 'sum-1', phase: 'share' }, b.id, 0), 'ErrNotYet');
    await expectCode(start(a, 5), 'ErrCeremonyExists');
    await start(b, 7);
    await a.engine.tick();
    expect(a.engine.get('sum-1')!.phase).toBe('share');
    const sealed = a.engine.store.message('sum-1', 'share', a.id, b.id)!;
    expect(sealed.recipient).toBe(b.id);
    expect(sealed.body.length).toBeGreaterThan(65);
    expect(await openFromPeer(b.transport.secretKey, sealContext(sealed), sealed.body)).toEqual(u32be(5));
    await expect(openFromPeer(a.transport.secretKey, sealContext(sealed), sealed.body)).rejects.toThrow();
  });

  test('a restarted member resumes from SQLite and the ceremony completes', async () => {
    const { net, peers, start } = setUp(3);
    await Promise.all(peers.map((p, i) => start(p, i + 1)));
    await peers[0]!.engine.tick();
    expect(peers[0]!.engine.get('sum-1')!.phase).toBe('share');
    const again = net.restart(peers[0]!);
    await net.tickAll(3);
    expect(again.engine.get('sum-1')!.status).toBe('COMPLETE');
    expect(again.engine.state<SumState>('sum-1').sum).toBe(6);
  });

  test('deadline of the first phase: aborts naming the member that never answered', async () => {
    const { clock, net, peers, start } = setUp(3);
    await start(peers[0]!, 1);
    await start(peers[1]!, 2);
    net.down.add(peers[2]!.id);
    await net.tickAll(2);
    expect(peers[0]!.engine.get('sum-1')!.status).toBe('RUNNING');
    clock.t += 10_001;
    await net.tickAll();
    for (const p of peers.slice(0, 2)) {
      const c = p.engine.get('sum-1')!;
      expect(c.status).toBe('ABORTED');
      expect(c.error).toMatch(/^ErrTimeoutReached: the commit phase missed its deadline/);
      expect(c.error.split('still waiting for ')[1]).toBe(peers[2]!.id);
      expect(audit(p).find((e) => e.action === 'sum.aborted')!.detail).toMatchObject({ by: 'deadline', phase: 'commit' });
    }
  });

  test('deadline of the second phase: a member lost after the first phase is named', async () => {
    const { clock, net, peers, start } = setUp(3);
    await Promise.all(peers.map((p, i) => start(p, i)));
    await peers[0]!.engine.tick();
    await peers[1]!.engine.tick();
    net.down.add(peers[2]!.id);
    clock.t += 500;
    await net.tickAll(2);
    expect(peers[0]!.engine.get('sum-1')!.phase).toBe('share');
    clock.t += 10_001;
    await net.tickAll();
    const c = peers[0]!.engine.get('sum-1')!;
    expect(c.status).toBe('ABORTED');
    expect(c.error).toMatch(/the share phase missed its deadline.*still waiting for /);
    expect(c.error).toContain(peers[2]!.id);
    expect(c.error).not.toContain(peers[1]!.id);
  });

  test('a phase that blames a member aborts naming it, with the signed evidence audited', async () => {
    const { net, peers, start } = setUp(3);
    await start(peers[0]!, 1);
    await start(peers[1]!, 2);
    await start(peers[2]!, 3, { lie: true });
    await net.tickAll(3);
    for (const p of peers.slice(0, 2)) {
      const c = p.engine.get('sum-1')!;
      expect(c.status).toBe('ABORTED');
      expect(c.culprit).toBe(peers[2]!.id);
      expect(c.error).toMatch(/^ErrBlamed: member [0-9a-f]+ revealed a value it did not commit to/);
      const entry = audit(p).find((e) => e.action === 'sum.aborted')!;
      expect(entry.detail.culprit).toBe(peers[2]!.id);
      expect(Object.keys(entry.detail.evidence as object)).toEqual(['sealed', 'signature']);
    }
  });

  test('a message not signed by its sender is refused and asked again; the untampered one completes the phase', async () => {
    const { net, peers, start, clock } = setUp(2);
    await Promise.all(peers.map((p, i) => start(p, i + 3)));
    net.tamper = (m) => ({ ...m, body: Uint8Array.from(m.body, (x, i) => (i === 0 ? x ^ 1 : x)) });
    await net.tickAll(2);
    expect(peers[0]!.engine.get('sum-1')!.phase).toBe('commit');
    expect(peers[0]!.engine.store.message('sum-1', 'commit', peers[1]!.id, peers[0]!.id)).toBeUndefined();
    net.tamper = undefined;
    clock.t += BACKOFF_MAX_MS;
    await net.tickAll(3);
    expect(peers[0]!.engine.get('sum-1')!.status).toBe('COMPLETE');
  });

  test('pull with backoff: a failing member is asked again only after a pause that doubles up to the cap', async () => {
    const { net, peers, start, clock } = setUp(2);
    const [a, b] = peers as [Peer, Peer];
    await start(a, 1);
    net.down.add(b.id);
    const asked = () => net.fetches.filter((f) => f.startsWith(`${a.id}->`)).length;
    await a.engine.tick();
    expect(asked()).toBe(1);
    await a.engine.tick();
    expect(asked()).toBe(1);
    const gaps: number[] = [];
    for (let n = 2; n <= 7; n++) {
      let waited = 0;
      while (asked() < n) { clock.t += 50; waited += 50; await a.engine.tick(); }
      gaps.push(waited);
    }
    expect(gaps[1]!).toBeGreaterThan(gaps[0]!);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(BACKOFF_MAX_MS);
    expect(gaps[gaps.length - 1]).toBe(BACKOFF_MAX_MS);
  });

  test('coordinator: the first member in roster order, until it has refused connections for FAILOVER_MS', async () => {
    const { net, peers, members, start, clock } = setUp(3);
    const [a, b] = [peers[1]!, peers[0]!];
    await start(a, 1);
    expect(a.engine.coordinator('sum-1').id).toBe(members[0]!.id);
    net.down.add(b.id);
    await a.engine.tick();
    expect(a.engine.coordinator('sum-1').id).toBe(members[0]!.id);
    while (!a.engine.backoff.isDown(b.id)) { clock.t += 250; await a.engine.tick(); }
    expect(a.engine.backoff.isDown(b.id)).toBe(true);
    expect(a.engine.coordinator('sum-1').id).toBe(members[1]!.id);
    expect(clock.t - 1_000_000).toBeGreaterThanOrEqual(FAILOVER_MS);
  });

  test('a long poll answers as soon as the message is persisted', async () => {
    const { peers, start } = setUp(2);
    const [a, b] = peers as [Peer, Peer];
    await start(a, 1);
    await start(b, 2);
    const waiting = a.engine.serve({ ceremony: 'sum-1', phase: 'share' }, b.id, 5000);
    await a.engine.tick();
    const m = await waiting;
    expect(m.phase).toBe('share');
    expect(m.recipient).toBe(b.id);
  });

  test('operator abort; no move out of a terminal state; transitions check the move, then the deadline', async () => {
    const { peers, start, clock } = setUp(2);
    await start(peers[0]!, 1);
    const aborted = peers[0]!.engine.abort('sum-1', 'operator asked', 'operator');
    expect(aborted.status).toBe('ABORTED');
    expect(audit(peers[0]!).find((e) => e.action === 'sum.aborted')!.detail).toMatchObject({ by: 'operator', error: 'operator asked' });
    await expectCode(() => peers[0]!.engine.abort('sum-1', 'again', 'operator'), 'ErrInvalidStateChange');
    await expectCode(peers[0]!.engine.serve({ ceremony: 'sum-1', phase: 'share' }, peers[1]!.id, 5000), 'ErrNotYet');
    const clockRec = { status: 'RUNNING' as const, phase: 'commit', phaseDeadlineMs: clock.t, phaseTimeoutMs: 10 };
    await expectCode(() => transition(clockRec, 'RUNNING', 'share', clock.t + 1), 'ErrTimeoutReached');
    expect(transition(clockRec, 'ABORTED', 'commit', clock.t + 1).status).toBe('ABORTED');
    await expectCode(() => transition({ ...clockRec, status: 'COMPLETE' }, 'RUNNING', 'share', clock.t), 'ErrInvalidStateChange');
    await expectCode(peers[1]!.engine.start('nope', { id: 'x', epoch: 1, members: [member(peers[1]!)], phaseTimeoutMs: 1 }), 'ErrUnknownCeremony');
    await expectCode(peers[1]!.engine.start('sum', { id: 'x', epoch: 1, members: [member(peers[0]!)], phaseTimeoutMs: 1 }), 'ErrNotAMember');
  });

  test('votes: persisted before they are returned, one roster per epoch, across restarts', async () => {
    const { net, peers } = setUp(1);
    const p = peers[0]!;
    const snap = sha256(utf8('snapshot')), roster = sha256(utf8('roster'));
    const v = p.engine.vote(2, snap, roster);
    expect(equalBytes(p.engine.vote(2, snap, roster).signature, v.signature)).toBe(true);
    await expectCode(() => p.engine.vote(2, snap, sha256(utf8('another roster'))), 'ErrAlreadyVoted');
    const again = net.restart(p);
    await expectCode(() => again.engine.vote(2, snap, sha256(utf8('another roster'))), 'ErrAlreadyVoted');
    expect(again.engine.vote(3, snap, sha256(utf8('another roster'))).epoch).toBe(3);
    expect(audit(p).filter((e) => e.action === 'vote.cast')).toHaveLength(2);
    expect(hexToBytes(bytesToHex(v.rosterHash))).toEqual(roster);
  });
});
