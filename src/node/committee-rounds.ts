// Election rounds after genesis, share refresh and activation (issue 11 items 2, 3, 5, 6; DESIGN §3.3–3.6).
// A governance-signed snapshot for epoch e+1 (naming the epoch e certificate's hash) is accepted by every
// current member and every candidate: vote (persisted before anything is sent), record, forward. Then
// the ceremony engine runs the hand-off protocol (ceremony id `handoff-<epoch>`): old members deal
// their epoch-e shares, new members combine theirs and store them sealed. The OUTGOING committee then
// signs the new roster certificate with FROST under CPK (signing purpose 'activation', which recomputes
// the roster from the completed hand-off). Every old and new member stores it; old members erase their
// epoch-e shares only once they hold it. The active committee stays the newest certified roster with
// this node's shares, so the old committee keeps serving during a hand-off and after an aborted one.
// A refresh (RefreshShares) is the same hand-off to the same roster. docs/ceremony.md.
import protobuf from 'protobufjs';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { concatBytes, equalBytes, u32be, utf8 } from '../crypto/bytes.js';
import { encodeKeyPackage, encodePublicKeyPackage, identifierForPosition, verifyGroupSignature } from '../crypto/frost.js';
import {
  chainLinkFault, decodeRoster, hashOfCertificate, rosterCertificateMessage, type Roster, type RosterCertificate,
} from '../committee/roster.js';
import type { ElectionOutcome, SignedSnapshotMsg } from '../committee/snapshot.js';
import { transition, type CeremonyState } from '../committee/genesis-state.js';
import { decodeMessage } from '../rpc/messages.js';
import { alreadyExists, failedPrecondition, invalidArgument } from '../rpc/errors.js';
import type { CeremonyKind, CeremonyRecord, RosterEntryJson } from '../store/ceremony-store.js';
import type { Member } from '../ceremony/engine.js';
import { Backoff, chooseCoordinator, noAnswer } from '../ceremony/transport.js';
import { HANDOFF_KIND, handoffKeys, handoffOutcome, type HandoffState } from '../ceremony/handoff/protocol.js';
import { checkActivation, expectedNextRoster, rosterDifference, type NextRoster } from '../ceremony/activation.js';
import type { NodeContext } from './context.js';
import type { AcceptResult, GenesisCeremony } from './genesis.js';

const ROUND_KINDS: ReadonlySet<string> = new Set<CeremonyKind>(['handoff', 'refresh']);

/** The engine ceremony of the election round or refresh of `epoch` (how CeremonyStatus finds it). */
export const handoffCeremonyId = (epoch: number) => `handoff-${epoch}`;

/** What a vote's roster hash covers (the same for genesis and later rounds): SHA-256 of {threshold, roster}. */
export function rosterVoteHash(threshold: number, roster: RosterEntryJson[]): Uint8Array {
  return sha256(utf8(JSON.stringify({ threshold, roster })));
}

/** The snapshot hash a refresh votes for: no snapshot, a marker bound to the epoch and the certificate it follows. */
export function refreshMarker(epoch: number, previous: RosterCertificate): Uint8Array {
  return sha256(concatBytes(utf8('gatekeeper/v1/refresh'), u32be(epoch), hashOfCertificate(previous)));
}

/** The 32-byte hand-off session every member derives alike: binds epoch, snapshot hash and roster hash. */
export function handoffSession(epoch: number, snapshotHash: Uint8Array, rosterHash: Uint8Array): Uint8Array {
  return sha256(concatBytes(utf8('gatekeeper/v1/handoff-session'), u32be(epoch), snapshotHash, rosterHash));
}

/**
 * previous_certificate_hash (Snapshot field 7) of a signed snapshot, undefined for a genesis snapshot.
 * A scan of the top-level wire fields: nothing of the candidacies is decoded on the main thread
 * (snapshot-intake.md); the last occurrence wins, as in proto3.
 */
export function previousHashOf(signed: SignedSnapshotMsg): Uint8Array | undefined {
  let found: Uint8Array | undefined;
  try {
    const r = protobuf.Reader.create(signed.snapshot);
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag >>> 3 === 7 && (tag & 7) === 2) found = r.bytes();
      else r.skipType(tag & 7);
    }
  } catch {
    throw invalidArgument('the snapshot is not a Snapshot message');
  }
  if (!found || found.length === 0) return undefined;
  if (found.length !== 32) throw invalidArgument('previous_certificate_hash must be 32 bytes');
  return new Uint8Array(found);
}

const hex = bytesToHex;
/** A member waiting for the epoch roster certificate asks every other member, not only the leader, this often. */
const ASK_EVERYONE_MS = 5000;

export class CommitteeRounds {
  /** Expected next rosters by new epoch (a pure function of the completed hand-off: cached). */
  private readonly next = new Map<number, NextRoster>();
  private readonly generations = new Map<number, number>();
  /** Certificate fetches and chain look-ups: a member that fails is asked again after 0.2 s doubling to 1 s. */
  private readonly pulls: Backoff;
  private lastSigning = Number.NEGATIVE_INFINITY;
  /** When each ACTIVATING epoch last asked every member for its certificate (stepActivation). */
  private readonly askedEveryoneAt = new Map<number, number>();
  private lateWarned = Number.NEGATIVE_INFINITY;
  private ticking = false;

  constructor(private readonly ctx: NodeContext, private readonly g: GenesisCeremony) {
    this.pulls = new Backoff(() => ctx.now(), 1000);
    // Read-only (the signer enforces it): reads the completed hand-off and the certificate it follows.
    g.signer.register({ name: 'activation', check: (c, message) => checkActivation(this.nextAfter(c.epoch), c.epoch, message) });
  }

  private get selfHex(): string { return hex(this.ctx.self.nodeId); }
  private get selfKey(): string { return hex(this.ctx.self.identityKey); }

  // ---- intake (called from GenesisCeremony.accept) ----

  /** Whether a snapshot is an election round after genesis (it names the certificate it follows). */
  isElection(signed: SignedSnapshotMsg): boolean {
    return previousHashOf(signed) !== undefined;
  }

  /**
   * Refuses a snapshot that cannot follow this node's chain: once a committee is certified, a snapshot
   * must name the newest certificate's hash (a genesis snapshot, or one for another chain, is refused).
   */
  checkFollows(signed: SignedSnapshotMsg): void {
    const prev = previousHashOf(signed);
    const cur = this.ctx.ceremonies.latestCertified();
    if (!cur) return;
    const cert = this.certificate(cur.epoch);
    if (!prev) {
      throw failedPrecondition(`ErrCommitteeActive: the committee of epoch ${cur.epoch} is active and genesis runs once; `
        + `an election snapshot must name the epoch ${cur.epoch} certificate hash (previous_certificate_hash)`);
    }
    if (!cert || !equalBytes(prev, hashOfCertificate(cert))) {
      throw failedPrecondition(`ErrWrongChain: the snapshot follows another certificate than this committee's epoch ${cur.epoch} certificate`);
    }
  }

  /**
   * Records an elected round for a node that is a current member or a candidate: the vote in the same
   * transaction as the record (before anything is sent), then forwards the snapshot to every current
   * member and every candidate. The hand-off itself starts on the next tick.
   */
  async acceptElection(signed: SignedSnapshotMsg, signedBytes: Uint8Array, outcome: ElectionOutcome, source: string, forward: boolean): Promise<AcceptResult> {
    const { ctx } = this;
    const cur = ctx.ceremonies.latestCertified();
    const active = this.g.activeCommittee();
    const isOld = !!cur && !!active && active.epoch === cur.epoch;
    const isCandidate = outcome.candidates.some((c) => equalBytes(c.nodeId, ctx.self.nodeId));
    if (!isOld && !isCandidate) {
      throw failedPrecondition(cur
        ? `ErrNotInRound: this node is neither a member of the committee of epoch ${cur.epoch} nor a candidate of the epoch ${outcome.epoch} snapshot; submit it to a member`
        : `ErrNotInRound: this node holds no committee and is not a candidate of the epoch ${outcome.epoch} snapshot`);
    }
    const elected = outcome.members.some((m) => equalBytes(m.nodeId, ctx.self.nodeId));
    const roster = this.rosterEntries(outcome.members);
    const now = ctx.now();
    const timeout = outcome.phaseTimeoutMs > 0 ? outcome.phaseTimeoutMs : ctx.config.phaseTimeoutMs;
    const record: CeremonyRecord = {
      epoch: outcome.epoch, kind: 'handoff', state: isOld || elected ? 'HANDOFF' : 'OBSERVING', snapshot: signedBytes,
      snapshotHash: outcome.snapshotHash, roster, threshold: outcome.threshold, phaseDeadlineMs: now + timeout,
      phaseTimeoutMs: timeout, error: '', updatedMs: now,
    };
    this.insertRound(record, source, { elected, oldMember: isOld });
    const res = this.resultOf(record);
    if (forward) {
      const endpoints = new Set([...(cur?.roster ?? []).map((m) => m.endpoint), ...outcome.candidates.map((c) => c.endpoint)]);
      res.forwardErrors = await this.g.forward(signed, [...endpoints]);
    }
    return res;
  }

  /** The roster entries of elected members, sorted by node id, identifiers = positions + 1 (docs/roster.md). */
  private rosterEntries(members: ElectionOutcome['members']): RosterEntryJson[] {
    return [...members].sort((a, b) => Buffer.compare(a.nodeId, b.nodeId)).map((m, i) => ({
      nodeId: hex(m.nodeId), identityKey: hex(m.identityKey), transportKey: hex(m.transportKey),
      endpoint: m.endpoint, stake: m.stake.toString(), shareIdentifier: identifierForPosition(i),
    }));
  }

  private insertRound(record: CeremonyRecord, source: string, detail: Record<string, unknown>): void {
    const { ctx } = this;
    ctx.db.transaction(() => {
      ctx.ceremonies.insert(record);
      // This node's one vote for the epoch (DESIGN §3.3), persisted with the record before anything is sent.
      this.g.engine.vote(record.epoch, record.snapshotHash, rosterVoteHash(record.threshold, record.roster));
      ctx.audit.append(source, `${record.kind}.accepted`, {
        epoch: record.epoch, snapshotHash: hex(record.snapshotHash), ceremony: handoffCeremonyId(record.epoch), state: record.state,
        roster: record.roster.map((m) => m.nodeId), threshold: record.threshold, ...detail,
      });
    })();
    ctx.metrics.ceremonyTransitions.inc({ state: record.state });
    ctx.log.info({ epoch: record.epoch, kind: record.kind, state: record.state, n: record.roster.length, k: record.threshold }, 'committee round accepted');
    this.g.wake();
  }

  private resultOf(c: CeremonyRecord): AcceptResult {
    return {
      epoch: c.epoch, snapshotHash: c.snapshotHash, elected: c.roster.some((m) => m.nodeId === this.selfHex),
      roster: c.roster.map((m) => hexToBytes(m.nodeId)), forwardErrors: [],
    };
  }

  // ---- refresh (OperatorService.RefreshShares) ----

  /**
   * A hand-off from the current committee to the same roster at `epoch` (= current epoch + 1): the vote
   * (epoch, refresh marker, roster hash), then the same hand-off as an election round. Idempotent.
   */
  refresh(epoch: number, source: string): AcceptResult {
    const { ctx } = this;
    if (!Number.isInteger(epoch) || epoch < 2 || epoch > 0xffffffff) throw invalidArgument('epoch must be the active committee\'s epoch + 1');
    const active = this.g.activeCommittee();
    const cur = ctx.ceremonies.latestCertified();
    if (!active || !cur || active.epoch !== cur.epoch) throw failedPrecondition('ErrNotAMember: this node is not a member of the current committee');
    const cert = this.certificate(cur.epoch)!;
    const marker = refreshMarker(epoch, cert);
    const existing = ctx.ceremonies.get(epoch);
    if (existing) {
      if (existing.kind === 'refresh' && equalBytes(existing.snapshotHash, marker)) return this.resultOf(existing);
      throw alreadyExists(`ErrAlreadyVoted: this node already took part in another round for epoch ${epoch}`);
    }
    const latest = ctx.ceremonies.latest();
    if (latest && latest.state !== 'COMPLETE' && latest.state !== 'ABORTED') throw failedPrecondition(`ErrCeremonyRunning: the ceremony of epoch ${latest.epoch} is still running`);
    // An operator's refresh takes exactly the next epoch: a typo must not start a round no other member joins.
    if (latest && epoch !== latest.epoch + 1) throw failedPrecondition(`ErrEpochNotNext: a refresh takes epoch ${latest.epoch + 1} (the newest ceremony is epoch ${latest.epoch}), not ${epoch}`);
    const now = ctx.now();
    const timeout = ctx.config.phaseTimeoutMs;
    const roster = decodeRoster(cert.rosterBytes).members.map((m) => ({
      nodeId: hex(m.nodeId), identityKey: hex(m.identityKey), transportKey: hex(m.transportKey),
      endpoint: m.endpoint, stake: m.stake.toString(), shareIdentifier: hex(m.shareIdentifier),
    }));
    const record: CeremonyRecord = {
      epoch, kind: 'refresh', state: 'HANDOFF', snapshot: new Uint8Array(0), snapshotHash: marker, roster, threshold: cur.threshold,
      phaseDeadlineMs: now + timeout, phaseTimeoutMs: timeout, error: '', updatedMs: now,
    };
    this.insertRound(record, source, { refreshOf: cur.epoch });
    return this.resultOf(record);
  }

  // ---- the driver ----

  /** One step of every running round (from GenesisCeremony.tick, after the engine's tick). Never throws. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      // An operator's AbortCeremony moves the record; the engine ceremony follows.
      for (const e of this.g.engine.store.running()) {
        if (e.kind !== HANDOFF_KIND) continue;
        const r = this.ctx.ceremonies.get(e.epoch);
        if (r?.state === 'ABORTED') this.g.engine.abort(e.id, r.error || 'aborted', 'operator');
      }
      for (const r of this.ctx.ceremonies.running()) {
        if (!ROUND_KINDS.has(r.kind)) continue;
        try {
          if (r.state === 'HANDOFF') await this.stepHandoff(r);
          else if (r.state === 'ACTIVATING') await this.stepActivation(r);
        } catch (err) {
          this.ctx.log.warn({ epoch: r.epoch, state: r.state, err: err instanceof Error ? err.message : String(err) }, 'committee round step failed; will retry');
        }
      }
    } finally {
      this.ticking = false;
    }
  }

  private async stepHandoff(r: CeremonyRecord): Promise<void> {
    const id = handoffCeremonyId(r.epoch);
    const e = this.g.engine.get(id);
    if (!e) {
      if (this.ctx.now() > r.phaseDeadlineMs) {
        this.abortRound(r, `ErrTimeoutReached: the hand-off of epoch ${r.epoch} did not start within ${r.phaseTimeoutMs} ms `
          + '(the certified roster it follows could not be learned)');
        return;
      }
      const old = await this.oldCommittee(r);
      if (!old) return;
      await this.startHandoff(r, old);
      return;
    }
    if (e.status === 'ABORTED') {
      this.abortRound(r, e.error);
      return;
    }
    if (e.status === 'COMPLETE') this.completeHandoff(r);
  }

  /** The engine members of a round: the old roster in its order, then the new members not in it. */
  private engineMembers(old: Roster, r: CeremonyRecord): Member[] {
    const out: Member[] = old.members.map((m) => ({ id: hex(m.identityKey), endpoint: m.endpoint, transportKey: hex(m.transportKey) }));
    for (const m of r.roster) if (!out.some((x) => x.id === m.identityKey)) out.push({ id: m.identityKey, endpoint: m.endpoint, transportKey: m.transportKey });
    return out;
  }

  private async startHandoff(r: CeremonyRecord, old: { roster: Roster; certificate: RosterCertificate }): Promise<void> {
    const isOld = old.roster.members.some((m) => hex(m.nodeId) === this.selfHex);
    const shares = isOld ? this.g.memberKeys(old.roster.epoch) : undefined;
    if (isOld && !shares) {
      this.abortRound(r, `ErrNoShares: this old member has no key shares for epoch ${old.roster.epoch}`);
      return;
    }
    const session = handoffSession(r.epoch, r.snapshotHash, rosterVoteHash(r.threshold, r.roster));
    const params = {
      oldRoster: old.roster, epoch: r.epoch, session, shares,
      next: { threshold: r.threshold, members: r.roster.map((m) => ({ nodeId: hexToBytes(m.nodeId), identityKey: hexToBytes(m.identityKey), transportKey: hexToBytes(m.transportKey) })) },
    };
    try {
      await this.g.engine.start(HANDOFF_KIND, {
        id: handoffCeremonyId(r.epoch), epoch: r.epoch, members: this.engineMembers(old.roster, r), phaseTimeoutMs: r.phaseTimeoutMs,
        params: params as unknown as Record<string, unknown>,
      });
    } finally {
      shares?.derivation.signingShare.fill(0);
      shares?.signing.signingShare.fill(0);
    }
    this.ctx.log.info({ epoch: r.epoch, ceremony: handoffCeremonyId(r.epoch), dealer: isOld }, 'hand-off started');
  }

  /**
   * The certified roster the round follows, with its certificate: from this node's chain, or, for a
   * candidate that was never a member, learned from the candidates (learnChain).
   */
  private async oldCommittee(r: CeremonyRecord): Promise<{ roster: Roster; certificate: RosterCertificate } | undefined> {
    const prev = r.kind === 'handoff' ? previousHashOf(decodeMessage<SignedSnapshotMsg>('SignedSnapshot', r.snapshot)) : undefined;
    const certs = this.ctx.ceremonies.certificates().filter((c) => c.epoch < r.epoch).reverse();
    const hit = prev ? certs.find((c) => equalBytes(hashOfCertificate(c), prev)) : certs[0];
    if (hit) return { roster: decodeRoster(hit.rosterBytes), certificate: hit };
    if (!prev) return undefined;
    return this.learnChain(r, prev);
  }

  /**
   * A fresh candidate learns the certificate chain up to the one the governance-signed snapshot names
   * by hash. The hash pins the exact certificate (the governance keys are trusted for elections,
   * DESIGN §3.1); the chain is still checked link by link from genesis (each certificate signed under
   * the CPK of the one before, chainLinkFault), and only then stored. Asked: the snapshot's candidates.
   */
  private async learnChain(r: CeremonyRecord, prev: Uint8Array): Promise<{ roster: Roster; certificate: RosterCertificate } | undefined> {
    const snap = decodeMessage<{ candidacies: { endpoint: string }[] }>('Snapshot', decodeMessage<SignedSnapshotMsg>('SignedSnapshot', r.snapshot).snapshot);
    const endpoints = [...new Set(snap.candidacies.map((c) => c.endpoint))].filter((e) => e !== this.ctx.config.advertise && this.pulls.due(`chain/${e}`));
    for (const endpoint of endpoints) {
      let certs: RosterCertificate[];
      const sent = this.ctx.now();
      try {
        const res = await this.ctx.peerPublicCall<{ certificates: RosterCertificate[] }>(endpoint, 'GetCommittee', {}, 2000);
        certs = res.certificates;
        this.pulls.succeeded(`chain/${endpoint}`, endpoint);
      } catch (err) {
        this.pulls.failed(`chain/${endpoint}`, endpoint, noAnswer(err), sent);
        continue;
      }
      const chain = verifiedChainTo(certs, prev);
      if (!chain) continue;
      this.ctx.db.transaction(() => {
        for (const c of chain) this.ctx.ceremonies.saveCertificate(c.epoch, c.rosterBytes, c.signature);
        this.ctx.audit.append('ceremony', 'handoff.chain-learned', { epoch: r.epoch, from: endpoint, certificates: chain.map((c) => c.epoch) });
      })();
      const last = chain[chain.length - 1]!;
      return { roster: decodeRoster(last.rosterBytes), certificate: last };
    }
    return undefined;
  }

  /** The engine completed: store a new member's shares (sealed) and move to ACTIVATING; MPK and CPK must be unchanged. */
  private completeHandoff(r: CeremonyRecord): void {
    const { ctx } = this;
    const id = handoffCeremonyId(r.epoch);
    const state = this.g.engine.state<HandoffState>(id);
    let next: ReturnType<CommitteeRounds['computeNext']>;
    try {
      next = this.computeNext(r, state);
    } catch (err) {
      this.abortRound(r, `ErrGroupKeyChanged: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    const keys = handoffKeys(state);
    const me = r.roster.find((m) => m.nodeId === this.selfHex);
    try {
      ctx.db.transaction(() => {
        if (keys && me) {
          if (keys.signing.identifier !== me.shareIdentifier) throw new Error('the combined share has another identifier than the roster gives');
          const sealed = ctx.keys.box.seal('key-shares', `epoch/${r.epoch}`,
            utf8(JSON.stringify({ derivation: encodeKeyPackage(keys.derivation), signing: encodeKeyPackage(keys.signing) })));
          const pub = JSON.stringify({ derivation: encodePublicKeyPackage(next.publics.derivation), signing: encodePublicKeyPackage(next.publics.signing) });
          if (!ctx.ceremonies.keyShares(r.epoch)) ctx.ceremonies.saveKeyShares(r.epoch, hexToBytes(me.shareIdentifier), sealed, pub);
        }
        this.move(r, 'ACTIVATING', { rosterHash: hex(sha256(next.rosterBytes)), newMember: !!me });
      })();
    } finally {
      keys?.derivation.signingShare.fill(0);
      keys?.signing.signingShare.fill(0);
    }
  }

  private computeNext(r: CeremonyRecord, state: HandoffState): NextRoster & { publics: ReturnType<typeof handoffOutcome>['publics'] } {
    const { setup, publics } = handoffOutcome(state);
    const old = decodeRoster(hexToBytes(state.oldRoster));
    if (!equalBytes(publics.derivation.groupPublicKey, old.masterPublicKey) || !equalBytes(publics.signing.groupPublicKey, old.committeeKey)) {
      throw new Error('the new verifying shares do not give back MPK and CPK');
    }
    const previous = this.certificate(old.epoch);
    if (!previous) throw new Error(`no certificate of epoch ${old.epoch} is stored`);
    if (setup.next.members.some((m, i) => hex(m.nodeId) !== r.roster[i]?.nodeId)) throw new Error('the hand-off\'s members differ from the elected roster');
    const next = expectedNextRoster({ epoch: r.epoch, threshold: r.threshold, members: r.roster, publics, previous });
    this.next.set(r.epoch, next);
    return { ...next, publics };
  }

  /** The next roster of the completed hand-off that follows `oldEpoch` (for the activation check), if any. */
  private nextAfter(oldEpoch: number): NextRoster | undefined {
    const r = this.ctx.ceremonies.latest();
    if (!r || !ROUND_KINDS.has(r.kind) || r.epoch <= oldEpoch || (r.state !== 'ACTIVATING' && r.state !== 'COMPLETE')) return undefined;
    return this.nextOf(r);
  }

  private nextOf(r: CeremonyRecord): NextRoster | undefined {
    const hit = this.next.get(r.epoch);
    if (hit) return hit;
    const e = this.g.engine.get(handoffCeremonyId(r.epoch));
    if (!e || e.status !== 'COMPLETE') return undefined;
    return this.computeNext(r, this.g.engine.state<HandoffState>(e.id));
  }

  /**
   * ACTIVATING: the coordinator of the outgoing committee (its first member in roster order not known
   * to be down) signs the new roster certificate with FROST under CPK; everyone else fetches it from
   * the round's members and takes it only if it is exactly the roster its own hand-off gives, signed
   * under CPK.
   */
  private async stepActivation(r: CeremonyRecord): Promise<void> {
    const next = this.nextOf(r);
    if (!next) throw new Error(`ACTIVATING without a completed hand-off for epoch ${r.epoch}`);
    if (this.ctx.ceremonies.certificate(r.epoch)) {
      const c = this.ctx.ceremonies.certificate(r.epoch)!;
      this.finish(r, next, c.signature, 'stored');
      return;
    }
    // Past the deadline the round is not given up on its own: the other members may certify the roster
    // later, and a member that had erased its new shares would then be listed without them. It keeps
    // asking (an operator's AbortCeremony gives the new shares up); the old committee serves meanwhile.
    if (this.ctx.now() > r.phaseDeadlineMs && this.ctx.now() - this.lateWarned > 60_000) {
      this.lateWarned = this.ctx.now();
      this.ctx.log.warn({ epoch: r.epoch, deadlineMs: r.phaseDeadlineMs }, 'the epoch roster certificate is late; keeping the new shares and asking again');
    }
    const message = rosterCertificateMessage(r.epoch, next.rosterBytes);
    const cpk = next.roster.committeeKey;
    const e = this.g.engine.get(handoffCeremonyId(r.epoch))!;
    const old = decodeRoster(this.certificate(next.oldEpoch)!.rosterBytes);
    const oldMembers = old.members.map((m) => ({ id: m.endpoint, key: hex(m.identityKey) }));
    const leader = chooseCoordinator(oldMembers, this.ctx.config.advertise, (ep) => this.pulls.isDown(ep));
    const now = this.ctx.now();
    if (!this.askedEveryoneAt.has(r.epoch)) this.askedEveryoneAt.set(r.epoch, now);
    if (leader.key === this.selfKey) {
      if (now - this.lastSigning < 1000) return;
      this.lastSigning = now;
      const oldRecord = this.ctx.ceremonies.get(next.oldEpoch);
      if (!oldRecord) throw new Error(`no record of epoch ${next.oldEpoch}`);
      const signature = await this.g.signer.coordinate(oldRecord, message, 'activation');
      if (signature && verifyGroupSignature(cpk, message, signature)) {
        this.finish(r, next, signature, 'signed');
        return;
      }
    }
    // Only the leader signs; another member holds the certificate once it fetched it from the leader. So
    // the leader is asked alone (its long poll answers as soon as it signed), and every member is asked
    // when the leader fails to answer (a leader that signed and stopped may have served some of them) and
    // every ASK_EVERYONE_MS (a leader back from a stop long enough for the next old member to lead, or a
    // member whose leader is that one, waits for a certificate another member made; the members holding it
    // have erased the old shares, so the old leader cannot sign again).
    const everyone = this.pulls.refused(leader.id) || now - this.askedEveryoneAt.get(r.epoch)! >= ASK_EVERYONE_MS;
    if (everyone) this.askedEveryoneAt.set(r.epoch, now);
    const ask = e.members.filter((m) => m.id !== this.selfKey && (everyone || m.id === leader.key) && this.pulls.due(`cert/${m.endpoint}`));
    const sent = this.ctx.now();
    const calls = this.ctx.peerFanOut<{ rosterBytes: Uint8Array; signature: Uint8Array }>(ask.map((m) => m.endpoint), 'GetRosterCertificate', { epoch: r.epoch }, 3000);
    const answers = await Promise.allSettled(calls);
    for (const [i, a] of answers.entries()) {
      const endpoint = ask[i]!.endpoint;
      if (a.status === 'rejected') {
        const err = a.reason as unknown;
        // The same rule as genesis's certificate (transport.ts noAnswer): a stopped coordinator times
        // out rather than refusing connections, and must still be passed over.
        this.pulls.failed(`cert/${endpoint}`, endpoint, noAnswer(err), sent);
        continue;
      }
      this.pulls.succeeded(`cert/${endpoint}`, endpoint);
      const { rosterBytes, signature } = a.value;
      if (!equalBytes(rosterBytes, next.rosterBytes)) {
        let why = 'undecodable roster';
        try { why = rosterDifference(next.roster, decodeRoster(rosterBytes)) ?? 'other bytes'; } catch { /* keep */ }
        this.ctx.log.warn({ epoch: r.epoch, from: endpoint, why }, 'a served roster certificate is not the roster our hand-off gives; refused');
        continue;
      }
      if (!verifyGroupSignature(cpk, message, signature)) continue;
      this.finish(r, next, signature, 'fetched');
      return;
    }
  }

  /**
   * Stores the certificate and completes the round. An old member erases its older key shares only now
   * that it holds the certificate, and the key material in the hand-off states (old shares, combined
   * shares, held sub-shares) is erased with them.
   */
  private finish(r: CeremonyRecord, next: NextRoster, signature: Uint8Array, how: string): void {
    const { ctx } = this;
    const erased: number[] = [];
    this.askedEveryoneAt.delete(r.epoch);
    ctx.db.transaction(() => {
      ctx.ceremonies.saveCertificate(r.epoch, next.rosterBytes, signature);
      this.move(r, 'COMPLETE', { how, signature: hex(signature) });
      for (const c of ctx.ceremonies.certificates()) {
        if (c.epoch < r.epoch && ctx.ceremonies.keyShares(c.epoch)) {
          ctx.ceremonies.eraseKeyShares(c.epoch);
          erased.push(c.epoch);
        }
      }
      for (const e of this.g.engine.ofKind(HANDOFF_KIND)) {
        if (e.epoch <= r.epoch && e.status !== 'RUNNING') {
          this.g.engine.rewriteState<HandoffState>(e.id, (s) => ({ ...s, shares: undefined, keys: undefined, held: undefined }), 'activation: key material erased');
        }
      }
      if (erased.length) ctx.audit.append('ceremony', 'handoff.old-shares-erased', { epoch: r.epoch, erased });
    })();
    ctx.metrics.epoch.set(r.epoch);
    ctx.log.info({ epoch: r.epoch, how, erased }, 'new roster certified by the outgoing committee');
  }

  private move(r: CeremonyRecord, to: CeremonyState, detail: Record<string, unknown> = {}, error = ''): void {
    const now = this.ctx.now();
    const next = { ...transition(r, to, now), error, updatedMs: now };
    this.ctx.db.transaction(() => {
      this.ctx.ceremonies.update(next, r.state);
      this.ctx.audit.append('ceremony', `${r.kind}.${to.toLowerCase()}`, { epoch: r.epoch, ceremony: handoffCeremonyId(r.epoch), ...detail, ...(error ? { error } : {}) });
    })();
    this.ctx.metrics.ceremonyTransitions.inc({ state: to });
    this.ctx.log.info({ epoch: r.epoch, kind: r.kind, from: r.state, to, error: error || undefined }, 'ceremony transition');
    this.g.wake();
  }

  /** Aborts a round: the record, the engine ceremony if it still runs, and any new shares of that epoch. */
  private abortRound(r: CeremonyRecord, reason: string): void {
    const id = handoffCeremonyId(r.epoch);
    const e = this.g.engine.get(id);
    if (e?.status === 'RUNNING') this.g.engine.abort(id, reason, 'driver');
    this.ctx.db.transaction(() => {
      this.move(r, 'ABORTED', {}, reason);
      this.ctx.ceremonies.eraseKeyShares(r.epoch);
      if (this.g.engine.get(id)) this.g.engine.rewriteState<HandoffState>(id, (s) => ({ ...s, keys: undefined, held: undefined }), 'aborted: new key material erased');
    })();
    this.next.delete(r.epoch);
    this.askedEveryoneAt.delete(r.epoch);
  }

  // ---- serving and reading ----

  /** Whether `identityKey` (hex) takes part in a recent round (guards: peers of a hand-off that are in neither roster here). */
  knownPeer(identityKey: string): boolean {
    const cur = this.ctx.ceremonies.latestCertified()?.epoch ?? 0;
    return this.g.engine.ofKind(HANDOFF_KIND).some((e) => e.epoch >= cur && e.members.some((m) => m.id === identityKey));
  }

  /** Whether a caller may read the roster certificate of `epoch`: any member (old or new) of its round. */
  mayReadCertificate(epoch: number, identityKey: string): boolean {
    return !!this.g.engine.get(handoffCeremonyId(epoch))?.members.some((m) => m.id === identityKey);
  }

  /**
   * The master-secret generation of the committee of `epoch` (DESIGN §4: contract-key certificates name
   * it): the epoch of the genesis certificate its chain starts from. A hand-off or refresh keeps it.
   */
  generation(epoch: number): number {
    const hit = this.generations.get(epoch);
    if (hit !== undefined) return hit;
    const certs = this.ctx.ceremonies.certificates();
    const byHash = new Map(certs.map((c) => [hex(hashOfCertificate(c)), c]));
    let cur = certs.find((c) => c.epoch === epoch);
    if (!cur) return epoch;
    for (let guard = 0; guard <= certs.length; guard++) {
      const prev = decodeRoster(cur.rosterBytes).previousCertificateHash;
      const before = byHash.get(hex(prev));
      if (!before) break;
      cur = before;
    }
    this.generations.set(epoch, cur.epoch);
    return cur.epoch;
  }

  private certificate(epoch: number): RosterCertificate | undefined {
    const c = this.ctx.ceremonies.certificate(epoch);
    return c && { epoch, ...c };
  }
}

/**
 * The chain from genesis up to the certificate whose hash is `target`, if every link holds (each signed
 * under the CPK of the one before, the first a genesis roster signed under its own CPK); else undefined.
 */
export function verifiedChainTo(certs: RosterCertificate[], target: Uint8Array): RosterCertificate[] | undefined {
  const end = certs.findIndex((c) => equalBytes(hashOfCertificate(c), target));
  if (end < 0) return undefined;
  let prev: { certificate: RosterCertificate; roster: Roster } | undefined;
  const out: RosterCertificate[] = [];
  for (const c of certs.slice(0, end + 1)) {
    let roster: Roster;
    try { roster = decodeRoster(c.rosterBytes); } catch { return undefined; }
    if (roster.epoch !== c.epoch || chainLinkFault(prev, roster)) return undefined;
    const key = prev ? prev.roster.committeeKey : roster.committeeKey;
    if (!verifyGroupSignature(key, rosterCertificateMessage(c.epoch, c.rosterBytes), c.signature)) return undefined;
    const cert = { epoch: c.epoch, rosterBytes: new Uint8Array(c.rosterBytes), signature: new Uint8Array(c.signature) };
    out.push(cert);
    prev = { certificate: cert, roster };
  }
  return out;
}
