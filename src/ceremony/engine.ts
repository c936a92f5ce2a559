// The ceremony engine (issue 11 item 1; drand's internal/dkg is the model): one state machine for every
// committee ceremony. A protocol plugs in as phases, each a pure function from its state and inbox to a
// new state with the next phase's outgoing messages, completion, or blame with evidence. The engine
// alone does I/O: it persists the new state and the outgoing messages in one transaction before any of
// them can be served (messages are pulled, so "sent" means "servable"), enforces each phase's deadline,
// pulls what it lacks with backoff, signs every message and seals every addressed one to its
// recipient, chooses the coordinator with failover, and audits and counts every transition.
// docs/ceremony.md has the states, phases and deadlines.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { concatBytes, equalBytes, lp, u32be, utf8 } from '../crypto/bytes.js';
import { signTagged, verifyTagged } from '../crypto/identity.js';
import { openFromPeer, sealToPeer } from '../crypto/hpke.js';
import { deadlinePassed, EngineError, isTerminal, transition, type EngineState } from './state.js';
import { EngineStore, type EngineRecord, type MemberInfo, type StoredMessage, type VoteRow } from './store.js';
import { Backoff, chooseCoordinator, PeerUnavailable, Waiters, type Transport, type WireMessage } from './transport.js';
import type { Db } from '../store/database.js';
import { BoundedCache } from '../util/bounded-cache.js';

/** A member of a ceremony: identity key (x-only, hex) as its id, endpoint, HPKE transport key (hex). */
export type Member = MemberInfo;

/**
 * One received message: the opened body for the phase function, the signed wire bytes as evidence.
 * `opened` is false only in a phase that asked for `keepUnopened` (its body is then empty).
 */
export interface Received { sender: string; body: Uint8Array; wire: StoredMessage; opened: boolean }

export interface PhaseContext { ceremony: string; epoch: number; self: string; members: Member[] }

/** An outgoing message of the next phase: to one member (sealed to it) or '*' (a signed broadcast). */
export interface Outgoing { to: string; body: Uint8Array }

export type PhaseResult<S> =
  | { kind: 'wait' }
  | { kind: 'next'; state: S; phase: string; outgoing: Outgoing[] }
  | { kind: 'complete'; state: S; result: Record<string, unknown> }
  | {
    kind: 'blame'; culprit: string; reason: string; evidence: Record<string, string>;
    /** The error code the record names (default ErrBlamed), and the audit action (default <audit>.aborted). */
    code?: string; action?: string;
  };

export interface Phase<S> {
  /** Whose messages of this phase are needed (default: every other member). */
  from?(state: S, ctx: PhaseContext): string[];
  /** Pure: no I/O, no clock. Called once every awaited message is in the inbox. */
  run(state: S, inbox: Received[], ctx: PhaseContext): PhaseResult<S> | Promise<PhaseResult<S>>;
  /**
   * An addressed message that does not open is handed to run() (opened: false) instead of aborting
   * with the sender blamed: for a protocol whose complaint proves the bad ciphertext to the others.
   */
  keepUnopened?: boolean;
  /**
   * Run with fewer than every awaited message: once `count` of them are stored and the share `after`
   * (0..1) of the phase's timeout has passed (the others had their chance), the phase runs with the
   * messages it has. For a round that needs only some of its senders (a hand-off needs k_old
   * dealings, not every old member's).
   */
  quorum?(state: S, ctx: PhaseContext): { count: number; after: number } | undefined;
}

export interface Protocol<S> {
  kind: string;
  /** Prefix of the engine's audit actions (default: kind). */
  audit?: string;
  first: string;
  phases: Record<string, Phase<S>>;
  /** The state and first-phase messages of a new ceremony (pure but for fresh randomness). */
  start(ctx: PhaseContext, params: Record<string, unknown>): { state: S; outgoing: Outgoing[] } | Promise<{ state: S; outgoing: Outgoing[] }>;
  encodeState(s: S): Uint8Array;
  decodeState(b: Uint8Array): S;
  /** The state kept once the ceremony is over, without the secrets it no longer needs (applied at abort and by scrubState). */
  scrub?(s: S): S;
}

export interface StartOptions { id: string; epoch: number; members: Member[]; phaseTimeoutMs: number; params?: Record<string, unknown> }

/** A ceremony's first record and signed messages, made but not stored yet (CeremonyEngine.prepareStart). */
export interface PreparedStart { record: EngineRecord; messages: StoredMessage[] }

export interface EngineSelf { id: string; identitySecret: Uint8Array; transportSecret: Uint8Array; transportKey: Uint8Array }

/** Seals protocol state at rest (the node's SecretBox). */
export interface StateBox {
  seal(purpose: string, context: string, plaintext: Uint8Array): Uint8Array;
  open(purpose: string, context: string, sealed: Uint8Array): Uint8Array;
}

export interface EngineDeps {
  db: Db;
  self: EngineSelf;
  box: StateBox;
  transport: Transport;
  now(): number;
  audit: { append(actor: string, action: string, detail: Record<string, unknown>): unknown };
  /** Counts every transition (Prometheus in a node). */
  onTransition?(t: { kind: string; status: EngineState; phase: string }): void;
  log?: { warn(o: object, msg: string): void };
}

/** How errors name a member: its `name` (genesis: the node id) or its id. */
const nameOf = (c: { members: Member[] }, id: string) => c.members.find((m) => m.id === id)?.name ?? id;

/** What ceremony messages sign: lp(ceremony) || lp(phase) || lp(sender) || lp(recipient) || SHA-256(body). */
export function ceremonyMessageBytes(m: Omit<WireMessage, 'signature'>): Uint8Array {
  return concatBytes(lp(utf8(m.ceremony)), lp(utf8(m.phase)), lp(utf8(m.sender)), lp(utf8(m.recipient)), sha256(m.body));
}

/** HPKE context of an addressed message: binds ceremony, phase, sender and recipient. */
export const sealContext = (m: { ceremony: string; phase: string; sender: string; recipient: string }) =>
  `ceremony/${m.ceremony}/${m.phase}/${m.sender}/${m.recipient}`;

/** What a vote signs (DESIGN §3.3): u32be(epoch) || snapshot hash || roster hash. */
export function voteMessage(epoch: number, snapshotHash: Uint8Array, rosterHash: Uint8Array): Uint8Array {
  return concatBytes(u32be(epoch), snapshotHash, rosterHash);
}

/** Opened states of running ceremonies kept in memory (CeremonyEngine.openState). */
const OPENED_KEPT = 4;

/** Freezes plain objects and arrays all the way down (typed arrays cannot be frozen and are left as they are). */
function deepFreeze<T>(x: T): T {
  if (x === null || typeof x !== 'object' || ArrayBuffer.isView(x) || Object.isFrozen(x)) return x;
  for (const v of Object.values(x)) deepFreeze(v);
  return Object.freeze(x);
}

/** How long serve() holds a call whose answer does not exist yet (below callers' 3 s deadline). */
export const LONG_POLL_MS = 2000;

export class CeremonyEngine {
  readonly store: EngineStore;
  readonly backoff: Backoff;
  private readonly protocols = new Map<string, Protocol<unknown>>();
  private readonly waiters = new Waiters();
  private readonly opened = new BoundedCache<{ sealed: Uint8Array; state: unknown }>(OPENED_KEPT);
  private ticking = false;

  constructor(private readonly deps: EngineDeps) {
    this.store = new EngineStore(deps.db);
    this.backoff = new Backoff(deps.now);
  }

  register<S>(p: Protocol<S>): void {
    if (this.protocols.has(p.kind)) throw new Error(`protocol ${p.kind} is already registered`);
    this.protocols.set(p.kind, p as Protocol<unknown>);
  }

  private protocol(kind: string): Protocol<unknown> {
    const p = this.protocols.get(kind);
    if (!p) throw new EngineError('ErrUnknownCeremony', `no protocol '${kind}' is registered`);
    return p;
  }

  private ctxOf(c: EngineRecord): PhaseContext {
    return { ceremony: c.id, epoch: c.epoch, self: this.deps.self.id, members: c.members };
  }

  private sealState(c: { id: string }, p: Protocol<unknown>, s: unknown): Uint8Array {
    return this.deps.box.seal('ceremony-state', c.id, p.encodeState(s));
  }

  /**
   * The opened state of a record. A running ceremony's is kept while its sealed bytes are the same
   * object (the store hands out one object per committed write), so a tick that finds nothing new opens
   * nothing; kept states are frozen, as phases are pure and must not change what the next tick reads.
   */
  private openState(c: EngineRecord, p: Protocol<unknown>): unknown {
    const kept = this.opened.get(c.id);
    if (kept?.sealed === c.sealedState) return kept.state;
    const state = p.decodeState(this.deps.box.open('ceremony-state', c.id, c.sealedState));
    if (c.status !== 'RUNNING') {
      this.opened.delete(c.id);
      return state;
    }
    this.opened.set(c.id, { sealed: c.sealedState, state: deepFreeze(state) });
    return state;
  }

  get(id: string): EngineRecord | undefined {
    return this.store.get(id);
  }

  /**
   * Starts a ceremony of a registered protocol: the record, the sealed state and the first phase's
   * signed messages in one transaction, before any of them can be fetched.
   */
  async start(kind: string, o: StartOptions): Promise<EngineRecord> {
    return this.commitStart(await this.prepareStart(kind, o));
  }

  /**
   * The first half of start(): the protocol's first state and signed messages, nothing stored yet. The
   * caller stores them with commitStart(), possibly inside its own transaction (genesis stores its
   * committee record and its vote in the same one).
   */
  async prepareStart(kind: string, o: StartOptions): Promise<PreparedStart> {
    const p = this.protocol(kind);
    if (this.store.get(o.id)) throw new EngineError('ErrCeremonyExists', `ceremony ${o.id} already exists`);
    if (!o.members.some((m) => m.id === this.deps.self.id)) throw new EngineError('ErrNotAMember', `this node is not a member of ceremony ${o.id}`);
    const now = this.deps.now();
    const ctx: PhaseContext = { ceremony: o.id, epoch: o.epoch, self: this.deps.self.id, members: o.members };
    const { state, outgoing } = await p.start(ctx, o.params ?? {});
    const record: EngineRecord = {
      id: o.id, kind, epoch: o.epoch, status: 'RUNNING', phase: p.first, members: o.members, sealedState: this.sealState(o, p, state),
      phaseDeadlineMs: now + o.phaseTimeoutMs, phaseTimeoutMs: o.phaseTimeoutMs, error: '', culprit: '', updatedMs: now,
    };
    return { record, messages: await this.signAll(record, p.first, outgoing) };
  }

  /** The second half of start(): stores the record, its messages and the audit entry in one transaction (synchronous). */
  commitStart(prepared: PreparedStart): EngineRecord {
    const { record, messages } = prepared;
    const p = this.protocol(record.kind);
    this.store.transaction(() => {
      if (this.store.get(record.id)) throw new EngineError('ErrCeremonyExists', `ceremony ${record.id} already exists`);
      this.store.insert(record);
      for (const m of messages) this.store.putMessage(m);
      this.deps.audit.append('ceremony', `${p.audit ?? record.kind}.started`, { ceremony: record.id, epoch: record.epoch, phase: record.phase, members: record.members.map((m) => m.id) });
    });
    this.deps.onTransition?.({ kind: record.kind, status: 'RUNNING', phase: record.phase });
    this.waiters.wake();
    return record;
  }

  private async signAll(c: EngineRecord, phase: string, outgoing: Outgoing[]): Promise<StoredMessage[]> {
    const self = this.deps.self.id;
    const out: StoredMessage[] = [];
    for (const o of outgoing) {
      let body = o.body;
      if (o.to !== '*') {
        const to = c.members.find((m) => m.id === o.to);
        if (!to) throw new Error(`phase ${phase} addressed a message to a non-member`);
        body = await sealToPeer(hexToBytes(to.transportKey), sealContext({ ceremony: c.id, phase, sender: self, recipient: o.to }), o.body);
      }
      const m = { ceremony: c.id, phase, sender: self, recipient: o.to, body };
      out.push({ ...m, signature: signTagged(this.deps.self.identitySecret, 'ceremony-message', ceremonyMessageBytes(m)) });
    }
    return out;
  }

  /** One step of every running ceremony (a timer calls it). Never throws. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      for (const c of this.store.running()) {
        try {
          await this.step(c);
        } catch (err) {
          this.deps.log?.warn({ ceremony: c.id, phase: c.phase, err: err instanceof Error ? err.message : String(err) }, 'ceremony step failed; will retry');
        }
      }
    } finally {
      this.ticking = false;
    }
  }

  private awaited(c: EngineRecord, p: Protocol<unknown>, state: unknown): string[] {
    const phase = p.phases[c.phase];
    if (!phase) throw new Error(`protocol ${p.kind} has no phase ${c.phase}`);
    const ctx = this.ctxOf(c);
    return phase.from ? phase.from(state, ctx) : c.members.map((m) => m.id).filter((id) => id !== this.deps.self.id);
  }

  /** Members whose message of the current phase this node still lacks. */
  missing(c: EngineRecord): string[] {
    const p = this.protocol(c.kind);
    const have = this.store.senders(c.id, c.phase, this.deps.self.id);
    return this.awaited(c, p, this.openState(c, p)).filter((s) => !have.has(s));
  }

  private async step(c: EngineRecord): Promise<void> {
    const p = this.protocol(c.kind);
    if (deadlinePassed(c, this.deps.now())) {
      const missing = this.missing(c).map((id) => nameOf(c, id));
      this.abort(c.id, `ErrTimeoutReached: the ${c.phase} phase missed its deadline (${c.phaseTimeoutMs} ms)`
        + (missing.length ? `; still waiting for ${missing.join(', ')}` : ''), 'deadline');
      return;
    }
    const state = this.openState(c, p);
    const awaited = this.awaited(c, p, state);
    // Which awaited messages are stored: one query (no bodies) per tick; bodies are read only once all are.
    const have = this.store.senders(c.id, c.phase, this.deps.self.id);
    const lacking = awaited.filter((s) => !have.has(s));
    let senders = awaited;
    if (lacking.length) {
      await this.pull(c, lacking);
      const now = this.store.senders(c.id, c.phase, this.deps.self.id);
      if (!awaited.every((s) => now.has(s))) {
        const q = p.phases[c.phase]!.quorum?.(state, this.ctxOf(c));
        const started = c.phaseDeadlineMs - c.phaseTimeoutMs;
        const present = awaited.filter((s) => now.has(s));
        if (!q || present.length < q.count || this.deps.now() < started + q.after * c.phaseTimeoutMs) return;
        this.deps.log?.warn({ ceremony: c.id, phase: c.phase, missing: awaited.filter((s) => !now.has(s)).map((s) => nameOf(c, s)) },
          'the phase runs with a quorum of its messages; the missing members are left out');
        senders = present;
      }
    }
    const inbox: Received[] = [];
    const keepUnopened = !!p.phases[c.phase]!.keepUnopened;
    for (const s of senders) {
      const wire = this.store.message(c.id, c.phase, s, this.deps.self.id);
      if (!wire) return;
      const body = wire.recipient === '*' ? wire.body
        : await openFromPeer(this.deps.self.transportSecret, sealContext(wire), wire.body, this.deps.self.transportKey).catch(() => undefined);
      if (!body && keepUnopened) {
        inbox.push({ sender: s, body: new Uint8Array(0), wire, opened: false });
        continue;
      }
      if (!body) {
        this.abort(c.id, `ErrBlamed: the ${c.phase} message of ${nameOf(c, s)} does not open`, 'ceremony', s, { sealed: bytesToHex(wire.body), signature: bytesToHex(wire.signature) });
        return;
      }
      inbox.push({ sender: s, body, wire, opened: true });
    }
    const result = await p.phases[c.phase]!.run(state, inbox, this.ctxOf(c));
    await this.apply(c, p, result);
  }

  /** Pulls the missing messages with backoff; each is verified (sender, key, signature) before it is stored. */
  private async pull(c: EngineRecord, from: string[]): Promise<void> {
    const self = this.deps.self.id;
    const due = from.filter((s) => this.backoff.due(`${c.id}/${c.phase}/${s}`));
    const got: StoredMessage[] = [];
    await Promise.all(due.map(async (s) => {
      const m = c.members.find((x) => x.id === s)!;
      const key = `${c.id}/${c.phase}/${s}`;
      try {
        const w = await this.deps.transport.fetch(m, { ceremony: c.id, phase: c.phase });
        const valid = w.ceremony === c.id && w.phase === c.phase && w.sender === s && (w.recipient === self || w.recipient === '*')
          && verifyTagged(hexToBytes(s), 'ceremony-message', ceremonyMessageBytes(w), w.signature);
        if (!valid) {
          this.backoff.failed(key, s, false);
          this.deps.log?.warn({ ceremony: c.id, phase: c.phase, peer: s }, 'ErrBadMessage: a message that is not signed by its sender for this phase was refused');
          return;
        }
        this.backoff.succeeded(key, s);
        got.push({ ceremony: w.ceremony, phase: w.phase, sender: w.sender, recipient: w.recipient, body: w.body, signature: w.signature });
      } catch (err) {
        this.backoff.failed(key, s, err instanceof PeerUnavailable);
      }
    }));
    if (got.length) this.store.transaction(() => { for (const m of got) this.store.putMessage(m); });
  }

  private async apply(c: EngineRecord, p: Protocol<unknown>, r: PhaseResult<unknown>): Promise<void> {
    if (r.kind === 'wait') return;
    if (r.kind === 'blame') {
      this.abort(c.id, `${r.code ?? 'ErrBlamed'}: ${r.reason}`, 'ceremony', r.culprit, r.evidence, r.action);
      return;
    }
    const now = this.deps.now();
    if (r.kind === 'next') {
      const next = { ...transition(c, 'RUNNING', r.phase, now), sealedState: this.sealState(c, p, r.state), updatedMs: now };
      const messages = await this.signAll(c, r.phase, r.outgoing);
      this.store.transaction(() => {
        this.store.update(next, c);
        for (const m of messages) this.store.putMessage(m);
        this.deps.audit.append('ceremony', `${p.audit ?? c.kind}.phase`, { ceremony: c.id, epoch: c.epoch, from: c.phase, to: r.phase, messages: messages.length });
      });
      this.moved(c.kind, 'RUNNING', r.phase);
      return;
    }
    const done = { ...transition(c, 'COMPLETE', c.phase, now), sealedState: this.sealState(c, p, r.state), updatedMs: now };
    this.store.transaction(() => {
      this.store.update(done, c);
      this.deps.audit.append('ceremony', `${p.audit ?? c.kind}.complete`, { ceremony: c.id, epoch: c.epoch, ...r.result });
    });
    this.moved(c.kind, 'COMPLETE', c.phase);
  }

  private moved(kind: string, status: EngineState, phase: string): void {
    this.deps.onTransition?.({ kind, status, phase });
    this.waiters.wake();
  }

  /** Aborts a running ceremony (deadline, a blamed culprit with its evidence, or an operator). */
  abort(id: string, reason: string, by: string, culprit = '', evidence: Record<string, string> = {}, action?: string): EngineRecord {
    const c = this.store.get(id);
    if (!c) throw new EngineError('ErrUnknownCeremony', `no ceremony ${id}`);
    if (isTerminal(c.status)) throw new EngineError('ErrInvalidStateChange', `ceremony ${id} is already ${c.status}`);
    const now = this.deps.now();
    const p = this.protocols.get(c.kind);
    // What an aborted ceremony keeps of its state: no secret it will never use (Protocol.scrub).
    const sealedState = p?.scrub ? this.sealState(c, p, p.scrub(this.openState(c, p))) : c.sealedState;
    const next = { ...transition(c, 'ABORTED', c.phase, now), sealedState, error: reason, culprit, updatedMs: now };
    this.store.transaction(() => {
      this.store.update(next, c);
      this.deps.audit.append('ceremony', action ?? `${p?.audit ?? c.kind}.aborted`, { ceremony: id, epoch: c.epoch, phase: c.phase, by, error: reason, ...(culprit ? { culprit, evidence } : {}) });
    });
    this.moved(c.kind, 'ABORTED', c.phase);
    return next;
  }

  /**
   * Rewrites the sealed state of a finished (COMPLETE or ABORTED) ceremony, e.g. to erase key material
   * once it is no longer needed (old shares after activation, DESIGN §3.5). Audited.
   */
  rewriteState<S>(id: string, f: (s: S) => S, why: string): void {
    const c = this.finished(id);
    const p = this.protocol(c.kind);
    const next = { ...c, sealedState: this.sealState(c, p, f(this.openState(c, p) as S)), updatedMs: this.deps.now() };
    this.store.transaction(() => {
      this.store.update(next, c);
      this.deps.audit.append('ceremony', `${c.kind}.state-rewritten`, { ceremony: id, epoch: c.epoch, why });
    });
  }

  /** Every ceremony of a kind (for the driver that owns them), oldest epoch first. */
  ofKind(kind: string): EngineRecord[] {
    return this.store.ofKind(kind);
  }

  /**
   * Replaces a finished ceremony's state with Protocol.scrub(state), once the caller stored what it
   * needed elsewhere (genesis: the key packages, sealed in key_shares). Synchronous, so it can share
   * the caller's transaction.
   */
  scrubState(id: string): void {
    const c = this.finished(id);
    const p = this.protocol(c.kind);
    if (!p.scrub) return;
    this.store.update({ ...c, sealedState: this.sealState(c, p, p.scrub(this.openState(c, p))) }, c);
  }

  /** A ceremony that has finished (COMPLETE or ABORTED). */
  private finished(id: string): EngineRecord {
    const c = this.store.get(id);
    if (!c) throw new EngineError('ErrUnknownCeremony', `no ceremony ${id}`);
    if (!isTerminal(c.status)) throw new EngineError('ErrInvalidStateChange', `ceremony ${id} is still running`);
    return c;
  }

  /** The protocol state of a ceremony (opened; for the protocol's own result readers). */
  state<S>(id: string): S {
    const c = this.store.get(id);
    if (!c) throw new EngineError('ErrUnknownCeremony', `no ceremony ${id}`);
    return this.openState(c, this.protocol(c.kind)) as S;
  }

  /**
   * Serves this node's message of (ceremony, phase) to `caller`, a member: as soon as it is persisted;
   * while the ceremony runs and it is not, waits up to waitMs (a long poll), then ErrNotYet.
   */
  async serve(req: { ceremony: string; phase: string }, caller: string, waitMs = LONG_POLL_MS): Promise<WireMessage> {
    const c = this.store.get(req.ceremony);
    if (!c) throw new EngineError('ErrUnknownCeremony', `no ceremony ${req.ceremony}`);
    if (!c.members.some((m) => m.id === caller)) throw new EngineError('ErrNotAMember', 'the caller is not a member of this ceremony');
    const until = Date.now() + waitMs;
    for (;;) {
      const m = this.store.message(req.ceremony, req.phase, this.deps.self.id, caller);
      if (m) return m;
      const now = this.store.get(req.ceremony)!;
      const left = until - Date.now();
      if (now.status !== 'RUNNING' || left <= 0 || this.waiters.isClosed) {
        throw new EngineError('ErrNotYet', `this node has no ${req.phase} message of that ceremony for the caller yet`);
      }
      await this.waiters.next(left);
    }
  }

  /** The coordinator of a ceremony: first member not known to be down (failover after FAILOVER_MS of refusals). */
  coordinator(id: string): Member {
    const c = this.store.get(id);
    if (!c) throw new EngineError('ErrUnknownCeremony', `no ceremony ${id}`);
    return chooseCoordinator(c.members, this.deps.self.id, (m) => this.backoff.isDown(m));
  }

  /**
   * This member's vote for (epoch, snapshot hash, roster hash) (DESIGN §3.3): persisted before it is
   * returned (and so before it can be sent); the same vote again is returned as it was; a vote for
   * another roster or snapshot in the same epoch is refused, ErrAlreadyVoted.
   */
  vote(epoch: number, snapshotHash: Uint8Array, rosterHash: Uint8Array): VoteRow {
    return this.store.transaction(() => {
      const prior = this.store.vote(epoch);
      if (prior) {
        if (equalBytes(prior.snapshotHash, snapshotHash) && equalBytes(prior.rosterHash, rosterHash)) return prior;
        throw new EngineError('ErrAlreadyVoted', `this member already voted for another roster in epoch ${epoch}`);
      }
      const v = { epoch, snapshotHash, rosterHash, signature: signTagged(this.deps.self.identitySecret, 'vote', voteMessage(epoch, snapshotHash, rosterHash)) };
      this.store.putVote(v);
      this.deps.audit.append('ceremony', 'vote.cast', { epoch, snapshotHash: bytesToHex(snapshotHash), rosterHash: bytesToHex(rosterHash) });
      return v;
    });
  }

  /** Ends long polls (the node is stopping). */
  close(): void {
    this.waiters.close();
  }
}
