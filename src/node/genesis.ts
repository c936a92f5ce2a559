// The genesis ceremony of one node (DESIGN §3): accept a governance-signed snapshot, elect, run the
// FROST DKG for both master secrets with the other winners as a protocol of the ceremony engine
// (src/ceremony/genesis/protocol.ts: round1 → round2 → outcome), and sign the genesis roster
// certificate. The committee-level record (`ceremonies`: epoch, snapshot, roster, k, state) mirrors the
// engine's phase (ROUND1, ROUND2, KEYED, then CONFIRMED once the DKG is complete); certification and
// observers (candidates not elected) stay here. docs/ceremony.md.
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { equalBytes, utf8 } from '../crypto/bytes.js';
import {
  decodeKeyPackage, decodePublicKeyPackage, encodeKeyPackage, encodePublicKeyPackage, identifierForPosition, publicPackage, verifyGroupSignature,
} from '../crypto/frost.js';
import {
  snapshotHash, type SignedSnapshotMsg,
} from '../committee/snapshot.js';
import { scanSnapshot, SnapshotIntake } from '../committee/snapshot-intake.js';
import { decodeMessage, encodeMessage } from '../rpc/messages.js';
import {
  deadlinePassed, isTerminal, isValidStateChange, transition, type CeremonyState,
} from '../committee/genesis-state.js';
import { decodeRoster, encodeRoster, rosterCertificateMessage, type Roster } from '../committee/roster.js';
import type { CeremonyRecord, RosterEntryJson } from '../store/ceremony-store.js';
import type { NodeContext } from './context.js';
import { alreadyExists, failedPrecondition, notFound, permissionDenied, RpcError, unavailable } from '../rpc/errors.js';
import { status } from '@grpc/grpc-js';
import { chooseCoordinator, noAnswer, type WireMessage } from '../ceremony/transport.js';
import { FanOutTransport } from '../ceremony/peer-transport.js';
import { CeremonyEngine } from '../ceremony/engine.js';
import { EngineError } from '../ceremony/state.js';
import type { EngineRecord } from '../ceremony/store.js';
import { handoffProtocol } from '../ceremony/handoff/protocol.js';
import { CommitteeRounds } from './committee-rounds.js';
import { genesisKeys, genesisMembers, genesisProtocol, type GenesisParams, type GenesisState } from '../ceremony/genesis/protocol.js';
import { GENESIS_KIND, genesisCeremonyId, genesisRoster, PHASE_OUTCOME, PHASE_ROUND1, PHASE_ROUND2 } from '../ceremony/genesis/messages.js';

const dec = new TextDecoder();
const json = (v: unknown) => utf8(JSON.stringify(v));

import { ThresholdSigner, type CoordinateOptions, type MemberKeys, type PublicKeys, type SigningCheck } from '../ceremony/signer.js';
export type { SigningCheck } from '../ceremony/signer.js';

interface CertificateWire { epoch: number; rosterBytes: Uint8Array; signature: Uint8Array }

export interface AcceptResult { epoch: number; snapshotHash: Uint8Array; elected: boolean; roster: Uint8Array[]; forwardErrors: string[] }

/**
 * How long a member holds a GetRosterCertificate call whose answer is not ready yet (a long poll): the
 * answer goes out as soon as it exists. Below the callers' 3 s deadline.
 */
const LONG_POLL_MS = 2000;

/** The committee record's state for each phase of the engine's genesis ceremony. */
const STATE_OF_PHASE: Record<string, CeremonyState> = { [PHASE_ROUND1]: 'ROUND1', [PHASE_ROUND2]: 'ROUND2', [PHASE_OUTCOME]: 'KEYED' };
const ORDER: CeremonyState[] = ['ROUND1', 'ROUND2', 'KEYED', 'CONFIRMED'];

export { FROST_SESSION_TTL_MS } from '../ceremony/signer.js';

export class GenesisCeremony {
  private ticking = false;
  private stopping = false;
  /** Long polls waiting for the next state change. */
  private readonly waiters = new Set<() => void>();
  private readonly publicKeyCache = new Map<number, PublicKeys>();
  /** Snapshot intake: governance first, caps, caller, then the election in a worker thread. */
  readonly intake: SnapshotIntake;
  /** Candidate identity keys (hex) of each ceremony's stored snapshot, read once from its wire bytes. */
  private readonly candidateKeys = new Map<number, Set<string>>();
  /** Certificates observers were served, per epoch, by member node id (observeCertificate). */
  private readonly observed = new Map<number, Map<string, { rosterBytes: Uint8Array; signature: Uint8Array }>>();
  private lastSigningAttempt = 0;
  /** The committee's FROST signer: typed purposes, sessions, coordination (src/ceremony/signer.ts). */
  readonly signer: ThresholdSigner;
  /** The ceremony engine (src/ceremony/engine.ts): votes, genesis's DKG and the hand-off protocol's phases. */
  readonly engine: CeremonyEngine;
  /** Election rounds after genesis, refresh and activation (src/node/committee-rounds.ts). */
  readonly rounds: CommitteeRounds;

  constructor(private readonly ctx: NodeContext) {
    this.intake = new SnapshotIntake(ctx.config.governance);
    // One signed fan-out per (ceremony, phase) pull, through ctx.peerFanOut (which syncs the high-water file first).
    const transport = new FanOutTransport((endpoints, method, request, timeoutMs) => ctx.peerFanOut<WireMessage>(endpoints, method, request, timeoutMs));
    this.engine = new CeremonyEngine({
      db: ctx.db, box: ctx.keys.box, now: () => ctx.now(), audit: ctx.audit, transport, log: ctx.log,
      self: { id: bytesToHex(ctx.self.identityKey), identitySecret: ctx.keys.identitySecret, transportSecret: ctx.keys.transportSecret, transportKey: ctx.self.transportKey },
      onTransition: (t) => ctx.metrics.ceremonyTransitions.inc({ state: `${t.kind}:${t.status}` }),
    });
    this.engine.register(genesisProtocol({ transportSecret: ctx.keys.transportSecret }));
    this.engine.register(handoffProtocol({ nodeId: ctx.self.nodeId, identitySecret: ctx.keys.identitySecret, transportSecret: ctx.keys.transportSecret }));
    this.signer = new ThresholdSigner(ctx, (epoch) => this.publicKeys(epoch), (epoch) => this.memberKeys(epoch));
    // The roster purpose is read-only (the signer enforces it): it reads the ceremony and its DKG output.
    this.signer.register({ name: 'roster', check: (c, message) => {
      if (c.state !== 'CONFIRMED' && c.state !== 'COMPLETE') throw failedPrecondition('not every member has confirmed its key package for that epoch yet');
      // One certificate per epoch: a coordinator that was down while another certified fetches that one.
      if (this.ctx.ceremonies.certificate(c.epoch)) throw alreadyExists('this member already holds the roster certificate of that epoch; fetch it');
      const roster = this.localRoster(c);
      if (!roster) throw failedPrecondition('this member has no key shares for that epoch yet');
      if (!equalBytes(message, rosterCertificateMessage(c.epoch, encodeRoster(roster)))) throw permissionDenied('this member does not sign that message');
    } });
    this.rounds = new CommitteeRounds(ctx, this);
  }

  /** Lets another part of the node (contract keys) define what its signatures may cover. */
  registerSigningPurpose(purpose: string, check: SigningCheck): void {
    // Compatible facade for contract-keys.ts, whose check stores the publication it certifies.
    this.signer.register({ name: purpose, check, writes: true });
  }

  /** FROST signing round trip as coordinator (RFC 9591 §5), for a purpose the members check. */
  coordinateSignature(c: CeremonyRecord, message: Uint8Array, purpose: string, opts: CoordinateOptions = {}): Promise<Uint8Array | undefined> {
    return this.signer.coordinate(c, message, purpose, opts);
  }

  /** Deletes expired signing sessions (bounded; at most once a minute). */
  pruneFrostSessions(): number {
    return this.signer.prune();
  }

  frostCommit(epoch: number, sessionId: Uint8Array, message: Uint8Array, purpose: string, callerKey: Uint8Array,
    publication: Record<string, unknown> | null = null): Uint8Array {
    return this.signer.commit(this.ceremonyFor(epoch, callerKey).c, sessionId, message, purpose, publication);
  }

  frostSign(epoch: number, sessionId: Uint8Array, message: Uint8Array, commitmentsWire: Uint8Array[], purpose: string, callerKey: Uint8Array,
    publication: Record<string, unknown> | null = null): Uint8Array {
    return this.signer.sign(this.ceremonyFor(epoch, callerKey).c, sessionId, message, commitmentsWire, purpose, publication);
  }

  /**
   * The active committee: the newest certified roster for which this node holds shares (DESIGN §3.6:
   * a newer ceremony in progress, or an aborted one, never hides the committee that serves).
   */
  activeCommittee(): CeremonyRecord | undefined {
    return this.ctx.ceremonies.latestCertifiedWithShares();
  }

  private get selfId(): Uint8Array { return this.ctx.self.nodeId; }
  /** This node's FROST identifier in the ceremony's roster (its position + 1). */
  private identifierIn(c: CeremonyRecord): string {
    const self = bytesToHex(this.selfId);
    const m = c.roster.find((r) => r.nodeId === self);
    if (!m) throw new Error(`this node is not in the roster of epoch ${c.epoch}`);
    return m.shareIdentifier;
  }

  // ---- accepting a snapshot (operator SubmitGenesis, peer OfferSnapshot) ----

  /** Hex identity keys of the current committee (the newest certified roster), if there is one. */
  private currentMembers(): string[] {
    return this.ctx.ceremonies.latestCertified()?.roster.map((m) => m.identityKey) ?? [];
  }

  /**
   * Verifies and records a snapshot (this node's one vote for the epoch), and starts round 1 if elected.
   * `caller` is the identity key of a peer that offered it (absent for an operator's SubmitGenesis). The
   * checks run cheapest first (snapshot-intake.ts): governance, caps, caller, this node's own state;
   * only then the election (a large snapshot's in a worker thread).
   */
  async accept(signed: SignedSnapshotMsg, source: string, forward: boolean, caller?: Uint8Array): Promise<AcceptResult> {
    const { ctx } = this;
    const scan = this.intake.screen(signed, caller && { caller, members: this.currentMembers() });
    const hash = snapshotHash(signed.snapshot);
    const voted = this.votedFor(scan.epoch, hash, signed);
    if (voted) return voted;
    const started = Date.now();
    ctx.log.info({ epoch: scan.epoch, candidacies: scan.candidacies, nominations: scan.nominations, edges: scan.edges, seats: scan.seats },
      'snapshot passed the intake checks; electing');
    const outcome = await this.intake.elect(signed, scan);
    ctx.log.info({ epoch: outcome.epoch, ms: Date.now() - started, elected: outcome.members.length }, 'election finished');
    // The node's state may have moved while a worker ran the election: check again before recording the vote.
    const votedMeanwhile = this.votedFor(outcome.epoch, hash, signed);
    if (votedMeanwhile) return votedMeanwhile;
    const signedBytes = encodeMessage('SignedSnapshot', { snapshot: signed.snapshot, signatures: signed.signatures });
    // An election round after genesis (the snapshot names the certificate it follows): committee-rounds.ts.
    if (this.rounds.isElection(signed)) return this.rounds.acceptElection(signed, signedBytes, outcome, source, forward);
    if (!outcome.candidates.some((c) => equalBytes(c.nodeId, this.selfId))) {
      throw failedPrecondition('this node is not a candidate of the snapshot');
    }
    const elected = outcome.members.some((m) => equalBytes(m.nodeId, this.selfId));

    const now = ctx.now();
    const timeout = outcome.phaseTimeoutMs > 0 ? outcome.phaseTimeoutMs : ctx.config.phaseTimeoutMs;
    const roster: RosterEntryJson[] = outcome.members.map((m, i) => ({
      nodeId: bytesToHex(m.nodeId), identityKey: bytesToHex(m.identityKey), transportKey: bytesToHex(m.transportKey),
      endpoint: m.endpoint, stake: m.stake.toString(), shareIdentifier: identifierForPosition(i),
    }));
    const record: CeremonyRecord = {
      epoch: outcome.epoch, kind: 'genesis', state: elected ? 'ROUND1' : 'OBSERVING', snapshot: signedBytes,
      snapshotHash: outcome.snapshotHash, roster, threshold: outcome.threshold, phaseDeadlineMs: now + timeout,
      phaseTimeoutMs: timeout, error: '', updatedMs: now,
    };
    // An elected member's round 1 (both suites' packages, signed), stored with the record and the vote.
    const dkg = elected ? await this.engine.prepareStart(GENESIS_KIND, {
      id: genesisCeremonyId(record.epoch), epoch: record.epoch, members: genesisMembers(roster), phaseTimeoutMs: timeout,
      params: { threshold: record.threshold, roster } satisfies GenesisParams as unknown as Record<string, unknown>,
    }) : undefined;
    // Round 1 took a moment: check once more, synchronously with the transaction below.
    const votedWhileDealing = this.votedFor(outcome.epoch, hash, signed);
    if (votedWhileDealing) return votedWhileDealing;
    ctx.db.transaction(() => {
      ctx.ceremonies.insert(record);
      // This node's one vote for the epoch (DESIGN §3.3), persisted with the record and the round-1
      // broadcast, before anything is sent.
      this.engine.vote(record.epoch, record.snapshotHash, sha256(json({ threshold: record.threshold, roster })));
      if (dkg) this.engine.commitStart(dkg);
      ctx.audit.append(source, 'genesis.accepted', {
        epoch: record.epoch, snapshotHash: bytesToHex(record.snapshotHash), elected,
        roster: roster.map((m) => m.nodeId), threshold: record.threshold,
      });
    })();
    ctx.metrics.ceremonyTransitions.inc({ state: record.state });
    ctx.log.info({ epoch: record.epoch, state: record.state, n: roster.length, k: record.threshold }, 'genesis snapshot accepted');

    const res = this.resultOf(record);
    if (forward) res.forwardErrors = await this.forward(signed, outcome.candidates.map((c) => c.endpoint));
    return res;
  }

  /**
   * Where this node already stands for `epoch`: the result again if it accepted these very bytes
   * (idempotent), undefined if it may accept them, or the refusal.
   */
  private votedFor(epoch: number, hash: Uint8Array, signed: SignedSnapshotMsg): AcceptResult | undefined {
    const existing = this.ctx.ceremonies.get(epoch);
    if (existing) {
      if (!equalBytes(existing.snapshotHash, hash)) {
        throw alreadyExists(`ErrAlreadyVoted: this node already accepted a different snapshot for epoch ${epoch}`);
      }
      return this.resultOf(existing);
    }
    // Once a committee is certified, only an election round naming its certificate may follow.
    this.rounds.checkFollows(signed);
    const latest = this.ctx.ceremonies.latest();
    if (latest && !isTerminal(latest.state)) throw failedPrecondition(`ErrCeremonyRunning: the ceremony of epoch ${latest.epoch} is still running`);
    if (latest && epoch <= latest.epoch) throw failedPrecondition(`ErrEpochNotNext: epoch ${epoch} is not after the aborted epoch ${latest.epoch}`);
    return undefined;
  }

  private resultOf(c: CeremonyRecord): AcceptResult {
    const me = bytesToHex(this.selfId);
    return {
      epoch: c.epoch, snapshotHash: c.snapshotHash, elected: c.roster.some((m) => m.nodeId === me),
      roster: c.roster.map((m) => hexToBytes(m.nodeId)), forwardErrors: [],
    };
  }

  /** Offers a snapshot to every other endpoint (OfferSnapshot); the refusals as "endpoint: reason" lines. */
  async forward(signed: SignedSnapshotMsg, endpoints: string[]): Promise<string[]> {
    const self = this.ctx.config.advertise;
    const to = endpoints.filter((e) => e !== self);
    const calls = this.ctx.peerFanOut(to, 'OfferSnapshot', { snapshot: signed }, 20_000);
    const results = await Promise.allSettled(to.map(async (e, i) => {
      try {
        await calls[i];
      } catch (err) {
        throw new Error(`${e}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }));
    return results.flatMap((r) => r.status === 'rejected' ? [String((r.reason as Error).message)] : []);
  }

  // ---- the driver ----

  /** One step of every running ceremony; called on a timer. Never throws. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      this.pruneFrostSessions();
      await this.engine.tick();
      for (const c of this.ctx.ceremonies.running()) {
        try {
          await this.step(c);
        } catch (err) {
          this.ctx.log.warn({ epoch: c.epoch, state: c.state, err: err instanceof Error ? err.message : String(err) }, 'ceremony step failed; will retry');
        }
      }
      await this.rounds.tick();
    } finally {
      this.ticking = false;
    }
  }

  private async step(c: CeremonyRecord): Promise<void> {
    // Election rounds and refreshes are driven by committee-rounds.ts (but for OBSERVING, the same as genesis).
    if (c.kind !== 'genesis' && c.state !== 'OBSERVING') return;
    if (c.state === 'ROUND1' || c.state === 'ROUND2' || c.state === 'KEYED') return this.followDkg(c);
    // The DKG phases' deadlines are the engine's; certification and observing keep the record's.
    if (deadlinePassed(c, this.ctx.now())) {
      this.abort(c, `ErrTimeoutReached: the ${c.state} phase missed its deadline (${c.phaseTimeoutMs} ms)`, 'deadline');
      return;
    }
    if (c.state === 'CONFIRMED') return this.finishCertificate(c);
    if (c.state === 'OBSERVING') return this.observeCertificate(c);
  }

  /**
   * Mirrors the engine's genesis ceremony into the committee record: its phase (round1 → ROUND1,
   * round2 → ROUND2, outcome → KEYED), its completion (CONFIRMED: every member confirmed the same
   * roster; the key packages move to key_shares and out of the engine's state, in one transaction),
   * or its abort (ABORTED with the engine's error, which names the culprit or who is missing).
   */
  private async followDkg(c: CeremonyRecord): Promise<void> {
    const e = this.engine.get(genesisCeremonyId(c.epoch));
    if (!e) {
      // Not started on this node's engine (a database from before the engine ran genesis): the record's deadline.
      if (deadlinePassed(c, this.ctx.now())) this.abort(c, `ErrTimeoutReached: the ${c.state} phase missed its deadline (${c.phaseTimeoutMs} ms); this node has no DKG ceremony for it`, 'deadline');
      return;
    }
    if (e.status === 'ABORTED') {
      this.abort(c, e.error, 'ceremony');
      return;
    }
    const target = e.status === 'COMPLETE' ? 'CONFIRMED' : STATE_OF_PHASE[e.phase];
    if (!target) throw new Error(`genesis ceremony in unknown phase ${e.phase}`);
    let at = c;
    for (const next of ORDER.slice(ORDER.indexOf(c.state) + 1, ORDER.indexOf(target) + 1)) {
      at = next === 'CONFIRMED' ? this.confirm(at, e) : this.mirror(at, next, e.phaseDeadlineMs, {});
    }
  }

  /** The DKG is complete on this member: key shares stored (sealed), the engine state scrubbed, CONFIRMED. */
  private confirm(c: CeremonyRecord, e: EngineRecord): CeremonyRecord {
    const state = this.engine.state<GenesisState>(e.id);
    const keys = genesisKeys(state);
    if (!keys) throw new Error(`the genesis ceremony of epoch ${c.epoch} completed without key packages`);
    const sealed = this.ctx.keys.box.seal('key-shares', `epoch/${c.epoch}`,
      json({ derivation: encodeKeyPackage(keys.derivation), signing: encodeKeyPackage(keys.signing) }));
    const pub = json({ derivation: encodePublicKeyPackage(publicPackage(keys.derivation)), signing: encodePublicKeyPackage(publicPackage(keys.signing)) });
    keys.derivation.signingShare.fill(0);
    keys.signing.signingShare.fill(0);
    return this.ctx.db.transaction(() => {
      this.ctx.ceremonies.saveKeyShares(c.epoch, hexToBytes(this.identifierIn(c)), sealed, dec.decode(pub));
      this.engine.scrubState(e.id);
      const roster = this.localRoster(c)!;
      return this.mirror(c, 'CONFIRMED', this.ctx.now() + c.phaseTimeoutMs, {
        rosterHash: state.rosterHash, masterPublicKey: bytesToHex(roster.masterPublicKey), committeeKey: bytesToHex(roster.committeeKey),
      });
    })();
  }

  /** Moves the committee record to `to` as the engine did (its deadline is the engine's), audited as genesis.<state>. */
  private mirror(c: CeremonyRecord, to: CeremonyState, phaseDeadlineMs: number, detail: Record<string, unknown>): CeremonyRecord {
    if (!isValidStateChange(c.state, to)) throw new Error(`the ceremony cannot move from ${c.state} to ${to}`);
    return this.record(c, { ...c, state: to, phaseDeadlineMs, updatedMs: this.ctx.now() }, detail);
  }

  /** Moves a ceremony to `to` (its own deadline: certification and observing) and records it; returns the new record. */
  private move(c: CeremonyRecord, to: CeremonyState, detail: Record<string, unknown> = {}, error = ''): CeremonyRecord {
    const now = this.ctx.now();
    return this.record(c, { ...transition(c, to, now), error, updatedMs: now }, detail);
  }

  private record(c: CeremonyRecord, next: CeremonyRecord, detail: Record<string, unknown>): CeremonyRecord {
    const to = next.state;
    this.ctx.db.transaction(() => {
      this.ctx.ceremonies.update(next, c.state);
      this.ctx.audit.append('ceremony', `genesis.${to.toLowerCase()}`, { epoch: c.epoch, ...detail, ...(next.error ? { error: next.error } : {}) });
    })();
    this.ctx.metrics.ceremonyTransitions.inc({ state: to });
    this.ctx.log.info({ epoch: c.epoch, from: c.state, to, error: next.error || undefined }, 'ceremony transition');
    this.wake();
    return next;
  }

  /** Wakes every long poll (they look again after the current transaction commits: promise continuations run later). */
  wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves at the next state change, or after ms. */
  private nextChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => { clearTimeout(timer); this.waiters.delete(done); resolve(); };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.waiters.add(done);
    });
  }

  /**
   * Answers `read()` once it returns something; while it does not and `pending(ceremony)` holds, waits
   * for state changes for up to LONG_POLL_MS, then throws `notYet`.
   */
  private async longPoll<T>(epoch: number, read: () => T | undefined, pending: (c: CeremonyRecord) => boolean, notYet: string): Promise<T> {
    const until = Date.now() + LONG_POLL_MS;
    for (;;) {
      const answer = read();
      if (answer !== undefined) return answer;
      if (this.stopping) throw unavailable('this node is shutting down');
      const c = this.ctx.ceremonies.get(epoch);
      const left = until - Date.now();
      if (!c || !pending(c) || left <= 0) throw failedPrecondition(notYet);
      await this.nextChange(left);
    }
  }

  /** The engine's message of (ceremony, phase) for a member (PeerService.GetCeremonyMessage). */
  async serveCeremonyMessage(req: { ceremony: string; phase: string }, callerKey: Uint8Array): Promise<WireMessage> {
    try {
      return await this.engine.serve(req, bytesToHex(callerKey));
    } catch (err) {
      if (!(err instanceof EngineError)) throw err;
      if (err.code === 'ErrUnknownCeremony') throw notFound(err.message);
      if (err.code === 'ErrNotAMember') throw permissionDenied(err.message);
      throw failedPrecondition(err.message);
    }
  }

  /** Ends the long polls (the node is stopping). */
  close(): void {
    this.stopping = true;
    this.engine.close();
    this.wake();
    void this.intake.close();
  }

  /**
   * Aborts a running ceremony (deadline, misbehaving peer, or an operator): the engine's ceremony too,
   * if it still runs (its DKG secrets are scrubbed), and any key shares this epoch produced.
   */
  abort(c: CeremonyRecord, reason: string, by: string): CeremonyRecord {
    if (isTerminal(c.state)) return c;
    // Key shares of an aborted ceremony belong to no committee: erased with the DKG state.
    return this.ctx.db.transaction(() => {
      const e = this.engine.get(genesisCeremonyId(c.epoch));
      if (e?.status === 'RUNNING') this.engine.abort(e.id, reason, by);
      const next = this.move(c, 'ABORTED', { by }, reason);
      this.ctx.ceremonies.eraseKeyShares(c.epoch);
      this.publicKeyCache.delete(c.epoch);
      return next;
    })();
  }

  private others(c: CeremonyRecord): RosterEntryJson[] {
    const me = bytesToHex(this.selfId);
    return c.roster.filter((m) => m.nodeId !== me);
  }

  /**
   * Fetches from every listed member in parallel, with one signed request for all of them (the
   * request is the same read for each). A member that fails is asked again after a growing pause
   * (0.2 s doubling to 1 s), so a waiting ceremony does not spend its CPU on requests. Any failure but
   * a "not yet" (FAILED_PRECONDITION: the member answered) counts against the member from when the
   * call went out, for coordinator failover (a stopped member gives DEADLINE_EXCEEDED, not UNAVAILABLE).
   */
  private async fetchAll<T>(members: RosterEntryJson[], method: string, epoch: number): Promise<{ m: RosterEntryJson; res: T }[]> {
    const out: { m: RosterEntryJson; res: T }[] = [];
    const pulls = this.engine.backoff;
    const due = members.filter((m) => pulls.due(`${method}/${m.identityKey}`));
    if (!due.length) return out;
    const sent = this.ctx.now();
    const calls = this.ctx.peerFanOut<T>(due.map((m) => m.endpoint), method, { epoch }, 3000);
    await Promise.allSettled(due.map(async (m, i) => {
      const key = `${method}/${m.identityKey}`;
      try {
        const res = await calls[i]!;
        pulls.succeeded(key, m.identityKey);
        out.push({ m, res });
      } catch (err) {
        pulls.failed(key, m.identityKey, noAnswer(err), sent);
      }
    }));
    return out;
  }

  // ---- keys and the roster certificate ----

  /** The committee's public key packages of an epoch (decoded once: they never change). */
  publicKeys(epoch: number): PublicKeys | undefined {
    const hit = this.publicKeyCache.get(epoch);
    if (hit) return hit;
    const row = this.ctx.ceremonies.keyShares(epoch);
    if (!row) return undefined;
    const o = JSON.parse(row.publicJson) as { derivation: unknown; signing: unknown };
    const keys = { derivation: decodePublicKeyPackage(o.derivation), signing: decodePublicKeyPackage(o.signing) };
    this.publicKeyCache.set(epoch, keys);
    return keys;
  }

  /** The key shares stored for an epoch, unsealed and parsed (secret). */
  private openKeyShares(epoch: number): { derivation: unknown; signing: unknown } | undefined {
    const row = this.ctx.ceremonies.keyShares(epoch);
    if (!row) return undefined;
    const plaintext = this.ctx.keys.box.open('key-shares', `epoch/${epoch}`, row.sealedShares);
    try {
      return JSON.parse(dec.decode(plaintext)) as { derivation: unknown; signing: unknown };
    } finally {
      plaintext.fill(0);
    }
  }

  /** This member's key packages (secret; used inside signing and, later, derivation). */
  memberKeys(epoch: number): MemberKeys | undefined {
    const o = this.openKeyShares(epoch);
    return o && { derivation: decodeKeyPackage(o.derivation), signing: decodeKeyPackage(o.signing) };
  }

  /** This member's derivation share s_i alone (what a partial evaluation needs; secret, zero it after use). */
  derivationShare(epoch: number): { identifier: string; signingShare: Uint8Array } | undefined {
    const d = this.openKeyShares(epoch)?.derivation as { identifier: string; signingShare: string } | undefined;
    return d && { identifier: d.identifier, signingShare: hexToBytes(d.signingShare) };
  }

  /** The roster this member computes itself from the ceremony and its DKG output. */
  localRoster(c: CeremonyRecord): Roster | undefined {
    const pub = this.publicKeys(c.epoch);
    return pub && genesisRoster(c.epoch, c.threshold, c.roster, pub);
  }


  private completeWith(c: CeremonyRecord, rosterBytes: Uint8Array, signature: Uint8Array, how: string): void {
    this.ctx.db.transaction(() => {
      this.ctx.ceremonies.saveCertificate(c.epoch, rosterBytes, signature);
      this.move(c, 'COMPLETE', { how, signature: bytesToHex(signature) });
    })();
    this.ctx.metrics.epoch.set(c.epoch);
  }

  /**
   * The coordinator of a signing: the first member in roster order that is not known to be down (no
   * answer, a timeout included, for FAILOVER_MS). Every member computes the same one unless members
   * fail; then each moves on to the next, and a coordinator back from a failure takes the certificate
   * another signed (members refuse to sign a second one), so every member ends up with the same bytes.
   */
  private coordinator(c: CeremonyRecord): RosterEntryJson {
    const e = this.engine.get(genesisCeremonyId(c.epoch));
    const chosen = e ? this.engine.coordinator(e.id).id
      : chooseCoordinator(genesisMembers(c.roster), bytesToHex(this.ctx.self.identityKey), (id) => this.engine.backoff.isDown(id)).id;
    return c.roster.find((m) => m.identityKey === chosen)!;
  }


  private async finishCertificate(c: CeremonyRecord): Promise<void> {
    const roster = this.localRoster(c);
    if (!roster) throw new Error(`KEYED without key shares for epoch ${c.epoch}`);
    const rosterBytes = encodeRoster(roster);
    const message = rosterCertificateMessage(c.epoch, rosterBytes);
    const fetchFrom = async (ask: RosterEntryJson[]): Promise<boolean> => {
      for (const { res } of await this.fetchAll<CertificateWire>(ask, 'GetRosterCertificate', c.epoch)) {
        if (equalBytes(res.rosterBytes, rosterBytes) && verifyGroupSignature(roster.committeeKey, message, res.signature)) {
          this.completeWith(c, rosterBytes, res.signature, 'fetched');
          return true;
        }
      }
      return false;
    };
    const leader = this.coordinator(c);
    if (leader.nodeId !== bytesToHex(this.selfId)) {
      // Ask the coordinator (and, once it failed to answer, the others) for the certificate.
      await fetchFrom(this.engine.backoff.refused(leader.identityKey) ? this.others(c) : [leader]);
      return;
    }
    const now = this.ctx.now();
    if (now - this.lastSigningAttempt < 1000) return;
    this.lastSigningAttempt = now;
    // A backup coordinator asks every member first (a long poll): the one before it may have been slow, not down.
    if (c.roster[0]!.nodeId !== bytesToHex(this.selfId) && await fetchFrom(this.others(c))) return;
    const refusals: string[] = [];
    const signature = await this.coordinateSignature(c, message, 'roster', { refusals });
    if (signature) {
      this.completeWith(c, rosterBytes, signature, 'signed');
      return;
    }
    this.ctx.log.warn({ epoch: c.epoch, refusals }, 'signing the roster certificate failed; will retry');
    // Another member may have certified the epoch while this one did not answer: take that certificate.
    await fetchFrom(this.others(c));
  }

  /**
   * A node that was not elected has no key share to check a certificate against: one member alone
   * could hand it a roster naming a CPK of its own making, signed with it. It takes a certificate only
   * once `threshold` distinct members serve the same roster bytes (at most k-1 members are assumed
   * malicious, DESIGN §1, so one of them is honest), each with a signature valid under the CPK those
   * bytes name. Answers are kept across ticks until the ceremony ends.
   */
  private async observeCertificate(c: CeremonyRecord): Promise<void> {
    let answers = this.observed.get(c.epoch);
    if (!answers) {
      answers = new Map();
      this.observed.set(c.epoch, answers);
    }
    const ask = c.roster.filter((m) => !answers.has(m.nodeId));
    for (const { m, res } of await this.fetchAll<CertificateWire>(ask, 'GetRosterCertificate', c.epoch)) {
      if (this.describesCeremony(c, res)) answers.set(m.nodeId, { rosterBytes: res.rosterBytes, signature: res.signature });
    }
    const votes = new Map<string, { rosterBytes: Uint8Array; signature: Uint8Array; members: number }>();
    for (const a of answers.values()) {
      const key = bytesToHex(sha256(a.rosterBytes));
      const v = votes.get(key) ?? { ...a, members: 0 };
      v.members++;
      votes.set(key, v);
    }
    const agreed = [...votes.values()].find((v) => v.members >= c.threshold);
    if (!agreed) return;
    this.observed.delete(c.epoch);
    this.completeWith(c, agreed.rosterBytes, agreed.signature, 'observed');
  }

  /** A certificate for this ceremony's epoch, threshold and elected members, valid under the CPK it names. */
  private describesCeremony(c: CeremonyRecord, res: CertificateWire): boolean {
    let roster: Roster;
    try { roster = decodeRoster(res.rosterBytes); } catch { return false; }
    if (roster.epoch !== c.epoch || roster.threshold !== c.threshold || roster.members.length !== c.roster.length) return false;
    const same = roster.members.every((m, i) => {
      const e = c.roster[i]!;
      return bytesToHex(m.nodeId) === e.nodeId && bytesToHex(m.identityKey) === e.identityKey
        && bytesToHex(m.transportKey) === e.transportKey && m.endpoint === e.endpoint && m.stake.toString() === e.stake;
    });
    return same && verifyGroupSignature(roster.committeeKey, rosterCertificateMessage(c.epoch, res.rosterBytes), res.signature);
  }

  // ---- serving peers ----

  /** The ceremony of `epoch` if the caller (x-only identity key) is one of its elected members. */
  private ceremonyFor(epoch: number, callerKey: Uint8Array): { c: CeremonyRecord; caller: RosterEntryJson } {
    const c = this.ctx.ceremonies.get(epoch);
    if (!c) throw notFound(`this node has no ceremony for epoch ${epoch}`);
    const caller = c.roster.find((m) => m.identityKey === bytesToHex(callerKey));
    if (!caller) throw permissionDenied('the caller is not a member of this ceremony');
    return { c, caller };
  }

  /** The roster certificate; while the ceremony still runs, waits for it (a long poll). */
  serveCertificate(epoch: number, callerKey: Uint8Array): Promise<CertificateWire> {
    const c = this.ctx.ceremonies.get(epoch);
    if (!c) throw notFound(`this node has no ceremony for epoch ${epoch}`);
    const snapshotCandidate = c.roster.some((m) => m.identityKey === bytesToHex(callerKey)) || this.isCandidate(c, callerKey)
      || this.rounds.mayReadCertificate(epoch, bytesToHex(callerKey));
    if (!snapshotCandidate) throw permissionDenied('the caller is not a candidate or member of this ceremony');
    return this.longPoll(epoch, () => {
      const cert = this.ctx.ceremonies.certificate(epoch);
      return cert && { epoch, rosterBytes: cert.rosterBytes, signature: cert.signature };
    }, (c) => !isTerminal(c.state), 'the roster certificate of that epoch is not signed yet');
  }

  /** Whether `key` is a candidate of the ceremony's snapshot: read from the stored wire bytes, no election. */
  isCandidate(c: CeremonyRecord, key: Uint8Array): boolean {
    let keys = this.candidateKeys.get(c.epoch);
    if (!keys) {
      try {
        keys = scanSnapshot(this.snapshotBytes(c), this.intake.limits).identityKeys;
      } catch {
        return false;
      }
      if (this.candidateKeys.size >= 16) this.candidateKeys.clear();
      this.candidateKeys.set(c.epoch, keys);
    }
    return keys.has(bytesToHex(key));
  }

  private snapshotBytes(c: CeremonyRecord): Uint8Array {
    return decodeMessage<SignedSnapshotMsg>('SignedSnapshot', c.snapshot).snapshot;
  }
}

