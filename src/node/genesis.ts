// The genesis ceremony of one node (DESIGN §3): accept a governance-signed snapshot, elect, run the
// FROST DKG for both master secrets with the other winners over PeerService, and sign the genesis roster
// certificate. Messages are pulled: each member serves what it has persisted and fetches what it lacks,
// so a member that restarts resumes from SQLite and the others simply keep asking until the deadline.
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { equalBytes, utf8 } from '../crypto/bytes.js';
import { genesisRound1Message, genesisRound2Context, genesisRound2Message, type GenesisParty } from '../ceremony/complaint.js';
import {
  complaintEvidence, complaintsAgainst, judgeOutcome, signOutcome, type DkgComplaintWire, type DkgOutcomeWire, type Evidence,
} from '../ceremony/genesis/outcome.js';
import { signTagged, verifyTagged } from '../crypto/identity.js';
import { openFromPeer, sealToPeer } from '../crypto/hpke.js';
import {
  decodeDkgRound1, decodeDkgState, encodeDkgState, decodeDkgRound2, decodeKeyPackage, decodePublicKeyPackage,
  dkgRound1, dkgRound2, dkgRound3,
  encodeDkgRound1, encodeDkgRound2, encodeKeyPackage, encodePublicKeyPackage, identifierForPosition, publicPackage, verifyGroupSignature, type DkgRound1Package, type DkgRound2Package, type DkgState, type Suite,
} from '../crypto/frost.js';
import {
  snapshotHash, type SignedSnapshotMsg,
} from '../committee/snapshot.js';
import { scanSnapshot, SnapshotIntake } from '../committee/snapshot-intake.js';
import { decodeMessage, encodeMessage } from '../rpc/messages.js';
import {
  deadlinePassed, isTerminal, transition, type CeremonyState,
} from '../committee/genesis-state.js';
import { decodeRoster, encodeRoster, rosterCertificateMessage, type Roster } from '../committee/roster.js';
import type { CeremonyRecord, Round1Row, Round2Row, RosterEntryJson } from '../store/ceremony-store.js';
import type { NodeContext } from './context.js';
import { alreadyExists, failedPrecondition, notFound, permissionDenied, RpcError, unavailable } from '../rpc/errors.js';
import { status } from '@grpc/grpc-js';
import { Backoff, chooseCoordinator, noAnswer, PeerUnavailable, type WireMessage } from '../ceremony/transport.js';
import { CeremonyEngine, type EngineDeps } from '../ceremony/engine.js';
import { EngineError } from '../ceremony/state.js';
import { handoffProtocol } from '../ceremony/handoff/protocol.js';
import { CommitteeRounds } from './committee-rounds.js';

const SUITES: Suite[] = ['derivation', 'signing'];
const dec = new TextDecoder();
const json = (v: unknown) => utf8(JSON.stringify(v));
const parse = (b: Uint8Array): unknown => JSON.parse(dec.decode(b));

// One definition of genesis's signed round-1/round-2 messages, shared with the complaint check.
const round1Message = genesisRound1Message;
const round2Message = genesisRound2Message;
const round2Context = genesisRound2Context;

interface LocalDkg { derivation: DkgState; signing: DkgState }

import { ThresholdSigner, type CoordinateOptions, type MemberKeys, type PublicKeys, type SigningCheck } from '../ceremony/signer.js';
export type { SigningCheck } from '../ceremony/signer.js';

interface Round1Wire { epoch: number; senderNodeId: Uint8Array; derivation: Uint8Array; signing: Uint8Array; signature: Uint8Array }
interface Round2Wire { epoch: number; senderNodeId: Uint8Array; recipientNodeId: Uint8Array; sealed: Uint8Array; signature: Uint8Array }
interface CertificateWire { epoch: number; rosterBytes: Uint8Array; signature: Uint8Array }

export interface AcceptResult { epoch: number; snapshotHash: Uint8Array; elected: boolean; roster: Uint8Array[]; forwardErrors: string[] }

/**
 * How long a member holds a GetDkgRound2 or GetRosterCertificate call whose answer is not ready yet
 * (a long poll): the answer goes out as soon as it exists, and a waiting member does not spend a
 * signed request, and the server a signature check, every few hundred milliseconds. Below the
 * callers' 3 s deadline.
 */
const LONG_POLL_MS = 2000;

export { FROST_SESSION_TTL_MS } from '../ceremony/signer.js';

export class GenesisCeremony {
  private ticking = false;
  private stopping = false;
  /** Long polls waiting for the next state change. */
  private readonly waiters = new Set<() => void>();
  /** Pull with backoff and evidence-based failure detection: the ceremony engine's transport (src/ceremony/transport.ts). */
  private readonly pulls: Backoff;
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
  /** The ceremony engine (src/ceremony/engine.ts): votes, and the hand-off protocol's phases. */
  readonly engine: CeremonyEngine;
  /** Election rounds after genesis, refresh and activation (src/node/committee-rounds.ts). */
  readonly rounds: CommitteeRounds;

  constructor(private readonly ctx: NodeContext) {
    this.intake = new SnapshotIntake(ctx.config.governance);
    this.pulls = new Backoff(() => ctx.now(), 1000);
    const transport: EngineDeps['transport'] = {
      fetch: async (peer, req) => {
        try {
          return await ctx.peerCall<WireMessage>(peer.endpoint, 'GetCeremonyMessage', req, 3000);
        } catch (err) {
          if (err instanceof RpcError && err.code === status.UNAVAILABLE) throw new PeerUnavailable(err.message);
          throw err;
        }
      },
    };
    this.engine = new CeremonyEngine({
      db: ctx.db, box: ctx.keys.box, now: () => ctx.now(), audit: ctx.audit, transport, log: ctx.log,
      self: { id: bytesToHex(ctx.self.identityKey), identitySecret: ctx.keys.identitySecret, transportSecret: ctx.keys.transportSecret, transportKey: ctx.self.transportKey },
      onTransition: (t) => ctx.metrics.ceremonyTransitions.inc({ state: `${t.kind}:${t.status}` }),
    });
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
   * only then the election, in a worker thread.
   */
  async accept(signed: SignedSnapshotMsg, source: string, forward: boolean, caller?: Uint8Array): Promise<AcceptResult> {
    const { ctx } = this;
    const scan = this.intake.screen(signed, caller && { caller, members: this.currentMembers() });
    const hash = snapshotHash(signed.snapshot);
    const voted = this.votedFor(scan.epoch, hash, signed);
    if (voted) return voted;
    const started = Date.now();
    ctx.log.info({ epoch: scan.epoch, candidacies: scan.candidacies, nominations: scan.nominations, edges: scan.edges, seats: scan.seats },
      'snapshot passed the intake checks; electing in a worker thread');
    const outcome = await this.intake.elect(signed, scan);
    ctx.log.info({ epoch: outcome.epoch, ms: Date.now() - started, elected: outcome.members.length }, 'election finished');
    // The node's state may have moved while the worker ran: check again before recording the vote.
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
    ctx.db.transaction(() => {
      ctx.ceremonies.insert(record);
      // This node's one vote for the epoch (DESIGN §3.3), persisted with the record, before anything is sent.
      this.engine.vote(record.epoch, record.snapshotHash, sha256(json({ threshold: record.threshold, roster })));
      if (elected) this.startRound1(record);
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

  private async forward(signed: SignedSnapshotMsg, endpoints: string[]): Promise<string[]> {
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

  /** Round 1 for both secrets; state and broadcast persisted in the caller's transaction. */
  private startRound1(c: CeremonyRecord): void {
    const params = { threshold: c.threshold, participants: c.roster.length };
    const id = this.identifierIn(c);
    const d = dkgRound1('derivation', id, params);
    const s = dkgRound1('signing', id, params);
    this.saveLocal(c.epoch, { derivation: d.state, signing: s.state });
    const derivation = json(encodeDkgRound1(d.round1));
    const signing = json(encodeDkgRound1(s.round1));
    const signature = signTagged(this.ctx.keys.identitySecret, 'dkg-round1', round1Message(c.epoch, derivation, signing));
    this.ctx.ceremonies.putRound1(c.epoch, { sender: this.selfId, derivation, signing, signature });
  }

  private saveLocal(epoch: number, local: LocalDkg): void {
    const sealed = this.ctx.keys.box.seal('dkg-state', `epoch/${epoch}`,
      json({ derivation: encodeDkgState(local.derivation), signing: encodeDkgState(local.signing) }));
    this.ctx.ceremonies.saveLocalDkg(epoch, sealed);
  }

  private loadLocal(epoch: number): LocalDkg {
    const sealed = this.ctx.ceremonies.localDkg(epoch);
    if (!sealed) throw new Error(`no local DKG state for epoch ${epoch}`);
    const o = parse(this.ctx.keys.box.open('dkg-state', `epoch/${epoch}`, sealed)) as { derivation: unknown; signing: unknown };
    return { derivation: decodeDkgState(o.derivation), signing: decodeDkgState(o.signing) };
  }

  // ---- the driver ----

  /** One step of every running ceremony; called on a timer. Never throws. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      this.pruneFrostSessions();
      for (const c of this.ctx.ceremonies.running()) {
        try {
          await this.step(c);
        } catch (err) {
          this.ctx.log.warn({ epoch: c.epoch, state: c.state, err: err instanceof Error ? err.message : String(err) }, 'ceremony step failed; will retry');
        }
      }
      await this.engine.tick();
      await this.rounds.tick();
    } finally {
      this.ticking = false;
    }
  }

  private async step(c: CeremonyRecord): Promise<void> {
    // Election rounds and refreshes are driven by committee-rounds.ts (but for OBSERVING, the same as genesis).
    if (c.kind !== 'genesis' && c.state !== 'OBSERVING') return;
    if (deadlinePassed(c, this.ctx.now())) {
      this.abort(c, `the ${c.state} phase missed its deadline (${c.phaseTimeoutMs} ms)${await this.waitingFor(c)}`, 'deadline');
      return;
    }
    switch (c.state) {
      case 'ROUND1': return this.collectRound1(c);
      case 'ROUND2': return this.collectRound2(c);
      case 'KEYED': return this.collectOutcomes(c);
      case 'CONFIRMED': return this.finishCertificate(c);
      case 'OBSERVING': return this.observeCertificate(c);
      default: return;
    }
  }

  private async waitingFor(c: CeremonyRecord): Promise<string> {
    const others = this.others(c);
    let missing: string[] = [];
    if (c.state === 'ROUND1') {
      const have = new Set(this.ctx.ceremonies.round1(c.epoch).map((r) => bytesToHex(r.sender)));
      missing = others.filter((m) => !have.has(m.nodeId)).map((m) => m.nodeId);
    } else if (c.state === 'ROUND2') {
      const have = new Set(this.ctx.ceremonies.round2(c.epoch, { recipient: this.selfId }).map((r) => bytesToHex(r.sender)));
      missing = others.filter((m) => !have.has(m.nodeId)).map((m) => m.nodeId);
    } else if (c.state === 'KEYED') {
      const have = new Set(this.ctx.ceremonies.outcomes(c.epoch).map((r) => bytesToHex(r.sender)));
      missing = others.filter((m) => !have.has(m.nodeId)).map((m) => m.nodeId);
    }
    return missing.length ? `; still waiting for ${missing.join(', ')}` : '';
  }

  /** Moves a ceremony to `to` and records it; returns the new record. */
  private move(c: CeremonyRecord, to: CeremonyState, detail: Record<string, unknown> = {}, error = ''): CeremonyRecord {
    const now = this.ctx.now();
    const next = { ...transition(c, to, now), error, updatedMs: now };
    this.ctx.db.transaction(() => {
      this.ctx.ceremonies.update(next, c.state);
      this.ctx.audit.append('ceremony', `genesis.${to.toLowerCase()}`, { epoch: c.epoch, ...detail, ...(error ? { error } : {}) });
    })();
    this.ctx.metrics.ceremonyTransitions.inc({ state: to });
    this.ctx.log.info({ epoch: c.epoch, from: c.state, to, error: error || undefined }, 'ceremony transition');
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

  /** Aborts a running ceremony (deadline, misbehaving peer, or an operator). */
  abort(c: CeremonyRecord, reason: string, by: string): CeremonyRecord {
    if (isTerminal(c.state)) return c;
    // Key shares of an aborted ceremony belong to no committee: erased with the DKG state.
    return this.ctx.db.transaction(() => {
      const next = this.move(c, 'ABORTED', { by }, reason);
      this.ctx.ceremonies.eraseLocalDkg(c.epoch);
      this.ctx.ceremonies.eraseKeyShares(c.epoch);
      this.publicKeyCache.delete(c.epoch);
      return next;
    })();
  }

  private others(c: CeremonyRecord): RosterEntryJson[] {
    const me = bytesToHex(this.selfId);
    return c.roster.filter((m) => m.nodeId !== me);
  }

  private member(c: CeremonyRecord, nodeId: Uint8Array): RosterEntryJson | undefined {
    const id = bytesToHex(nodeId);
    return c.roster.find((m) => m.nodeId === id);
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
    const due = members.filter((m) => this.pulls.due(`${method}/${m.endpoint}`));
    if (!due.length) return out;
    const sent = this.ctx.now();
    const calls = this.ctx.peerFanOut<T>(due.map((m) => m.endpoint), method, { epoch }, 3000);
    await Promise.allSettled(due.map(async (m, i) => {
      const key = `${method}/${m.endpoint}`;
      try {
        const res = await calls[i]!;
        this.pulls.succeeded(key, m.endpoint);
        out.push({ m, res });
      } catch (err) {
        this.pulls.failed(key, m.endpoint, noAnswer(err), sent);
      }
    }));
    return out;
  }

  private async collectRound1(c: CeremonyRecord): Promise<void> {
    const have = new Set(this.ctx.ceremonies.round1(c.epoch).map((r) => bytesToHex(r.sender)));
    const missing = this.others(c).filter((m) => !have.has(m.nodeId));
    const fetched: Round1Row[] = [];
    for (const { m, res } of await this.fetchAll<Round1Wire>(missing, 'GetDkgRound1', c.epoch)) {
      const sender = hexToBytes(m.nodeId);
      if (res.epoch !== c.epoch || !equalBytes(res.senderNodeId, sender)) continue;
      if (!verifyTagged(hexToBytes(m.identityKey), 'dkg-round1', round1Message(c.epoch, res.derivation, res.signing), res.signature)) {
        this.ctx.log.warn({ epoch: c.epoch, peer: m.nodeId }, 'round-1 package with a bad signature refused');
        continue;
      }
      fetched.push({ sender, derivation: res.derivation, signing: res.signing, signature: res.signature });
    }
    // One commit (one fsync) for everything a fetch round brought.
    if (fetched.length) this.ctx.db.transaction(() => { for (const r of fetched) this.ctx.ceremonies.putRound1(c.epoch, r); })();
    const rows = this.ctx.ceremonies.round1(c.epoch);
    if (rows.length < c.roster.length) return;

    // All round-1 packages: verify and make the round-2 shares for every other member.
    const me = bytesToHex(this.selfId);
    const others = rows.filter((r) => bytesToHex(r.sender) !== me);
    const local = this.loadLocal(c.epoch);
    const pkgs: Record<Suite, DkgRound1Package[]> = { derivation: [], signing: [] };
    for (const r of others) {
      const m = this.member(c, r.sender)!;
      for (const suite of SUITES) {
        const pkg = decodeDkgRound1(parse(suite === 'derivation' ? r.derivation : r.signing));
        if (pkg.identifier !== m.shareIdentifier) {
          this.abort(c, `member ${m.nodeId} sent a round-1 package for another identifier`, 'ceremony');
          return;
        }
        pkgs[suite].push(pkg);
      }
    }
    let out: Record<Suite, DkgRound2Package[]>;
    try {
      out = { derivation: dkgRound2(local.derivation, pkgs.derivation), signing: dkgRound2(local.signing, pkgs.signing) };
    } catch (err) {
      this.abort(c, `round 2 refused: ${err instanceof Error ? err.message : String(err)}`, 'ceremony');
      return;
    }
    const sealedFor: { recipient: Uint8Array; sealed: Uint8Array; signature: Uint8Array }[] = [];
    for (const m of this.others(c)) {
      const recipient = hexToBytes(m.nodeId);
      const d = out.derivation.find((p) => p.recipient === m.shareIdentifier);
      const s = out.signing.find((p) => p.recipient === m.shareIdentifier);
      if (!d || !s) throw new Error(`round 2 produced no share for ${m.nodeId}`);
      const plaintext = json({ derivation: encodeDkgRound2(d), signing: encodeDkgRound2(s) });
      const sealed = await sealToPeer(hexToBytes(m.transportKey), round2Context(c.epoch, this.selfId, recipient), plaintext);
      plaintext.fill(0);
      const signature = signTagged(this.ctx.keys.identitySecret, 'dkg-round2', round2Message(c.epoch, this.selfId, recipient, sealed));
      sealedFor.push({ recipient, sealed, signature });
    }
    this.ctx.db.transaction(() => {
      this.saveLocal(c.epoch, local);
      for (const s of sealedFor) this.ctx.ceremonies.putRound2(c.epoch, { sender: this.selfId, ...s });
      this.move(c, 'ROUND2', { round1From: rows.length });
    })();
  }

  private async collectRound2(c: CeremonyRecord): Promise<void> {
    const have = new Set(this.ctx.ceremonies.round2(c.epoch, { recipient: this.selfId }).map((r) => bytesToHex(r.sender)));
    const missing = this.others(c).filter((m) => !have.has(m.nodeId));
    const fetched: Round2Row[] = [];
    for (const { m, res } of await this.fetchAll<Round2Wire>(missing, 'GetDkgRound2', c.epoch)) {
      const sender = hexToBytes(m.nodeId);
      if (res.epoch !== c.epoch || !equalBytes(res.senderNodeId, sender) || !equalBytes(res.recipientNodeId, this.selfId)) continue;
      if (!verifyTagged(hexToBytes(m.identityKey), 'dkg-round2', round2Message(c.epoch, sender, this.selfId, res.sealed), res.signature)) {
        this.ctx.log.warn({ epoch: c.epoch, peer: m.nodeId }, 'round-2 package with a bad signature refused');
        continue;
      }
      fetched.push({ sender, recipient: this.selfId, sealed: res.sealed, signature: res.signature });
    }
    if (fetched.length) this.ctx.db.transaction(() => { for (const r of fetched) this.ctx.ceremonies.putRound2(c.epoch, r); })();
    const received = this.ctx.ceremonies.round2(c.epoch, { recipient: this.selfId });
    if (received.length < c.roster.length - 1) return;

    const me = bytesToHex(this.selfId);
    const r1 = this.ctx.ceremonies.round1(c.epoch).filter((r) => bytesToHex(r.sender) !== me);
    const r1pkgs = (suite: Suite) => r1.map((r) => decodeDkgRound1(parse(suite === 'derivation' ? r.derivation : r.signing)));
    let keys: MemberKeys;
    try {
      const shares: Record<Suite, DkgRound2Package[]> = { derivation: [], signing: [] };
      for (const r of received) {
        const opened = await openFromPeer(this.ctx.keys.transportSecret, round2Context(c.epoch, r.sender, this.selfId), r.sealed, this.ctx.self.transportKey);
        try {
          const o = parse(opened) as { derivation: unknown; signing: unknown };
          shares.derivation.push(decodeDkgRound2(o.derivation));
          shares.signing.push(decodeDkgRound2(o.signing));
        } finally {
          opened.fill(0);
        }
      }
      const local = this.loadLocal(c.epoch);
      keys = {
        derivation: dkgRound3(local.derivation, r1pkgs('derivation'), shares.derivation),
        signing: dkgRound3(local.signing, r1pkgs('signing'), shares.signing),
      };
    } catch (err) {
      await this.complain(c, received, err instanceof Error ? err.message : String(err));
      return;
    }
    const sealed = this.ctx.keys.box.seal('key-shares', `epoch/${c.epoch}`,
      json({ derivation: encodeKeyPackage(keys.derivation), signing: encodeKeyPackage(keys.signing) }));
    const pub = json({ derivation: encodePublicKeyPackage(publicPackage(keys.derivation)), signing: encodePublicKeyPackage(publicPackage(keys.signing)) });
    keys.derivation.signingShare.fill(0);
    keys.signing.signingShare.fill(0);
    this.ctx.db.transaction(() => {
      this.ctx.ceremonies.saveKeyShares(c.epoch, hexToBytes(this.identifierIn(c)), sealed, dec.decode(pub));
      this.ctx.ceremonies.eraseLocalDkg(c.epoch);
      // This member's confirmation of the roster it computed, persisted before anyone can fetch it.
      const roster = this.localRoster(c)!;
      const outcome = signOutcome(this.ctx.keys.identitySecret, {
        epoch: c.epoch, senderNodeId: this.selfId, rosterHash: sha256(encodeRoster(roster)), complaint: null,
      });
      this.ctx.ceremonies.putOutcome(c.epoch, { sender: this.selfId, rosterHash: outcome.rosterHash, complaint: new Uint8Array(0), signature: outcome.signature });
      this.move(c, 'KEYED', {
        masterPublicKey: bytesToHex(roster.masterPublicKey), committeeKey: bytesToHex(roster.committeeKey),
      });
    })();
  }

  /** A member of the ceremony as the complaint check needs it. */
  private party(m: RosterEntryJson): GenesisParty {
    return { nodeId: hexToBytes(m.nodeId), identityKey: hexToBytes(m.identityKey), transportKey: hexToBytes(m.transportKey), identifier: m.shareIdentifier };
  }

  /**
   * Round 3 failed: find the senders whose shares are proven bad and publish a verifiable complaint
   * against the first (its signed sealed share with the disclosed DH value), persisted before it can be
   * fetched; then abort, naming the culprit. Without a provable culprit, abort as before.
   */
  private async complain(c: CeremonyRecord, received: Round2Row[], failure: string): Promise<void> {
    const me = this.member(c, this.selfId)!;
    const r1 = this.ctx.ceremonies.round1(c.epoch);
    const evidence: Evidence[] = [];
    for (const r of received) {
      const m = this.member(c, r.sender);
      const round1 = r1.find((x) => equalBytes(x.sender, r.sender));
      if (!m || !round1) continue;
      evidence.push({ sender: this.party(m), round1: { derivation: round1.derivation, signing: round1.signing, signature: round1.signature },
        round2: { sealed: r.sealed, signature: r.signature } });
    }
    const guilty = await complaintsAgainst(c.epoch, this.party(me), this.ctx.keys.transportSecret, evidence);
    if (!guilty.length) {
      this.abort(c, `round 3 refused: ${failure}`, 'ceremony');
      return;
    }
    const { accused, complaint, reason } = guilty[0]!;
    const outcome = signOutcome(this.ctx.keys.identitySecret, { epoch: c.epoch, senderNodeId: this.selfId, rosterHash: new Uint8Array(0), complaint });
    const culprit = bytesToHex(accused.nodeId);
    this.ctx.db.transaction(() => {
      this.ctx.ceremonies.putOutcome(c.epoch, {
        sender: this.selfId, rosterHash: new Uint8Array(0), complaint: encodeMessage('DkgComplaint', { ...complaint }), signature: outcome.signature,
      });
      this.ctx.audit.append('ceremony', 'genesis.complaint', { epoch: c.epoch, accuser: me.nodeId, reason, ...complaintEvidence(complaint) });
      this.abort(c, `ErrDealerDisqualified: member ${culprit} sent member ${me.nodeId} a bad round-2 share (${reason}); `
        + 'genesis aborts everywhere: rerun it at a higher epoch without that member', 'complaint');
    })();
  }

  /**
   * KEYED: fetch every other member's signed outcome. Certification waits until every listed member
   * confirmed the same roster (no member is left without a key package); a complaint or a different
   * roster aborts genesis on this member, naming the culprit, with the evidence audited.
   */
  private async collectOutcomes(c: CeremonyRecord): Promise<void> {
    const have = new Set(this.ctx.ceremonies.outcomes(c.epoch).map((r) => bytesToHex(r.sender)));
    const missing = this.others(c).filter((m) => !have.has(m.nodeId));
    const roster = this.localRoster(c);
    if (!roster) throw new Error(`KEYED without key shares for epoch ${c.epoch}`);
    const myHash = sha256(encodeRoster(roster));
    const parties = c.roster.map((m) => this.party(m));
    const confirmed: DkgOutcomeWire[] = [];
    for (const { m, res } of await this.fetchAll<DkgOutcomeWire>(missing, 'GetDkgOutcome', c.epoch)) {
      const verdict = await judgeOutcome(c.epoch, this.party(m), parties, myHash, res);
      if (verdict.kind === 'invalid') {
        this.ctx.log.warn({ epoch: c.epoch, peer: m.nodeId, reason: verdict.reason }, 'DKG outcome refused');
        continue;
      }
      if (verdict.kind === 'blame') {
        this.ctx.db.transaction(() => {
          this.ctx.ceremonies.putOutcome(c.epoch, {
            sender: res.senderNodeId, rosterHash: res.rosterHash ?? new Uint8Array(0),
            complaint: res.complaint?.accusedNodeId?.length ? encodeMessage('DkgComplaint', { ...res.complaint }) : new Uint8Array(0), signature: res.signature,
          });
          this.ctx.audit.append('ceremony', 'genesis.blame', {
            epoch: c.epoch, code: verdict.code, culprit: verdict.culprit, reporter: m.nodeId, reason: verdict.reason,
            ...(res.complaint?.accusedNodeId?.length ? complaintEvidence(res.complaint) : { rosterHash: bytesToHex(res.rosterHash) }),
          });
          this.abort(c, `${verdict.code}: ${verdict.reason}; genesis aborts everywhere: rerun it at a higher epoch without member ${verdict.culprit}`, 'complaint');
        })();
        return;
      }
      confirmed.push(res);
    }
    if (confirmed.length) {
      this.ctx.db.transaction(() => {
        for (const o of confirmed) this.ctx.ceremonies.putOutcome(c.epoch, { sender: o.senderNodeId, rosterHash: o.rosterHash, complaint: new Uint8Array(0), signature: o.signature });
      })();
    }
    if (this.ctx.ceremonies.outcomes(c.epoch).length < c.roster.length) return;
    this.move(c, 'CONFIRMED', { rosterHash: bytesToHex(myHash) });
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
    if (!pub) return undefined;
    return {
      epoch: c.epoch, threshold: c.threshold,
      masterPublicKey: pub.derivation.groupPublicKey, committeeKey: pub.signing.groupPublicKey,
      previousCertificateHash: new Uint8Array(32),
      members: c.roster.map((m) => ({
        nodeId: hexToBytes(m.nodeId), identityKey: hexToBytes(m.identityKey), transportKey: hexToBytes(m.transportKey),
        endpoint: m.endpoint, stake: BigInt(m.stake), shareIdentifier: hexToBytes(m.shareIdentifier),
        derivationVerifyingShare: pub.derivation.verifyingShares[m.shareIdentifier]!,
        signingVerifyingShare: pub.signing.verifyingShares[m.shareIdentifier]!,
      })),
    };
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
    const members = c.roster.map((m) => ({ ...m, id: m.nodeId }));
    return chooseCoordinator(members, bytesToHex(this.selfId), (id) => this.pulls.isDown(members.find((m) => m.id === id)!.endpoint));
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
      await fetchFrom(this.pulls.refused(leader.endpoint) ? this.others(c) : [leader]);
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

  serveRound1(epoch: number, callerKey: Uint8Array): Round1Wire {
    this.ceremonyFor(epoch, callerKey);
    const mine = this.ctx.ceremonies.round1(epoch).find((r) => equalBytes(r.sender, this.selfId));
    if (!mine) throw failedPrecondition('this node has no round-1 package for that epoch');
    return { epoch, senderNodeId: this.selfId, derivation: mine.derivation, signing: mine.signing, signature: mine.signature };
  }

  /** The caller's round-2 bundle; if this node is still in round 1, waits for it (a long poll). */
  serveRound2(epoch: number, callerKey: Uint8Array): Promise<Round2Wire> {
    const { caller } = this.ceremonyFor(epoch, callerKey);
    const recipient = hexToBytes(caller.nodeId);
    return this.longPoll(epoch, () => {
      const row = this.ctx.ceremonies.round2(epoch, { sender: this.selfId, recipient })[0];
      return row && { epoch, senderNodeId: this.selfId, recipientNodeId: recipient, sealed: row.sealed, signature: row.signature };
    }, (c) => c.state === 'ROUND1', 'this node has not made its round-2 shares yet');
  }

  /** This member's signed DKG outcome; while it is still in round 1 or 2, waits for it (a long poll). */
  serveOutcome(epoch: number, callerKey: Uint8Array): Promise<DkgOutcomeWire> {
    this.ceremonyFor(epoch, callerKey);
    return this.longPoll(epoch, () => {
      const row = this.ctx.ceremonies.outcomes(epoch).find((r) => equalBytes(r.sender, this.selfId));
      if (!row) return undefined;
      const complaint = row.complaint.length ? decodeMessage<DkgComplaintWire>('DkgComplaint', row.complaint) : null;
      return { epoch, senderNodeId: this.selfId, rosterHash: row.rosterHash, complaint, signature: row.signature };
    }, (c) => c.state === 'ROUND1' || c.state === 'ROUND2', 'this node has no DKG outcome for that epoch yet');
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

