// The committee's threshold signer (RFC 9591 FROST, BIP340 under CPK): signing sessions on a member
// (FrostCommit/FrostSign) and the coordinator's round trip. Every request names a typed purpose; a member
// signs only bytes its purpose's check accepts. Checks do not write: the signer runs each one inside a
// transaction and refuses, rolling back, a check that moved the high-water counter (every write to a
// table that holds votes, shares, certificates, ceremony state, policies or publications bumps it,
// migration 6). The one exception is a purpose registered with `writes: true` (contract-key, whose
// check still stores the publication it certifies; see docs/ceremony.md).
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { bytesToHex } from '@noble/hashes/utils.js';
import { equalBytes, utf8 } from '../crypto/bytes.js';
import { status } from '@grpc/grpc-js';
import {
  aggregateSignature, decodeSignatureShare, decodeSigningCommitments, decodeSigningNonces, encodeSignatureShare,
  encodeSigningCommitments, encodeSigningNonces, signShare, signingCommit, SignatureAggregationError,
  type KeyPackage, type PublicKeyPackage, type SignatureShare, type SigningCommitments,
} from '../crypto/frost.js';
import { alreadyExists, failedPrecondition, invalidArgument, permissionDenied, RpcError } from '../rpc/errors.js';
import type { CeremonyRecord, RosterEntryJson } from '../store/ceremony-store.js';
import type { Db } from '../store/database.js';
import type { NodeContext } from '../node/context.js';
import { gatherQuorum } from '../node/quorum.js';

/** Throws (an RpcError) when this member must not sign `message` for the purpose. */
export type SigningCheck = (c: CeremonyRecord, message: Uint8Array, publication: Record<string, unknown> | null) => void;

/**
 * The purposes the committee signs for (DESIGN §8): genesis roster certificates, contract-key
 * certificates, and the next roster's certificate signed by the outgoing committee (activation, §3.5).
 */
export type SigningPurposeName = 'roster' | 'contract-key' | 'activation';

export interface SigningPurpose {
  name: SigningPurposeName;
  /** Read-only: refuses by throwing. */
  check: SigningCheck;
  /** Legacy: the check may write (not enforced read-only). */
  writes?: boolean;
}

export interface MemberKeys { derivation: KeyPackage; signing: KeyPackage }
export interface PublicKeys { derivation: PublicKeyPackage; signing: PublicKeyPackage }

/**
 * A FROST signing session's nonces are good for this long after FrostCommit (a coordinator asks for
 * the shares within seconds); older sessions are refused and pruned, PRUNE_BATCH rows at a time at
 * most every PRUNE_EVERY_MS, from the ceremony tick rather than on the signing path.
 */
export const FROST_SESSION_TTL_MS = 10 * 60_000;
const PRUNE_EVERY_MS = 60_000;
const PRUNE_BATCH = 500;
const PRUNE_BATCHES_PER_RUN = 10;

/** A coordinator's whole signing round trip gets this long when its caller gives no budget (ms). */
export const DEFAULT_SIGNING_BUDGET_MS = 6000;
/** No member call is sent with less than this left (ms). */
const MIN_CALL_MS = 100;
/** One round trip, and one more with fresh commitments if a signer failed or cheated. */
const MAX_ATTEMPTS = 2;
/** Bounds on what a failed signing reports (entries, characters per entry). */
const MAX_REFUSALS = 24;
const MAX_REFUSAL_CHARS = 200;

export interface CoordinateOptions {
  /** The publication a contract-key signature certifies (each signer checks it). */
  publication?: Record<string, unknown>;
  /** Signers wanted (at least the threshold, at most the roster). */
  signers?: number;
  /** Receives one line per member that refused or did not answer, and why (bounded). */
  refusals?: string[];
  /** What is left of the caller's deadline (ms); every member call's deadline comes out of it. */
  budgetMs?: number;
  /** Node ids (hex) not to ask. */
  exclude?: string[];
}

interface Committed {
  sessionId: Uint8Array;
  signers: { m: RosterEntryJson; wire: Uint8Array; commitments: SigningCommitments }[];
}

/** A member answered, but with something unusable (its fault, not the network's). */
class BadAnswer extends Error {
  override name = 'BadAnswer';
}

/** Why a member call failed, in a few words. */
function describe(err: unknown, timeoutMs: number): string {
  if (err instanceof BadAnswer) return `bad answer: ${err.message}`;
  if (err instanceof RpcError) {
    if (err.code === status.DEADLINE_EXCEEDED) return `no answer within ${timeoutMs} ms`;
    return `${status[err.code] ?? err.code}: ${err.message}`;
  }
  return 'internal error';
}

/** The refusals of one signing, bounded in number and length, passed on to the caller's list. */
class Refusals {
  private count = 0;
  constructor(private readonly out: string[] | undefined) {}
  add(m: RosterEntryJson, round: string, reason: string): void {
    this.note(`node ${m.nodeId}: ${round}: ${reason}`);
  }
  note(line: string): void {
    if (!this.out) return;
    this.count++;
    if (this.count < MAX_REFUSALS) this.out.push(line.slice(0, MAX_REFUSAL_CHARS));
    else if (this.count === MAX_REFUSALS) this.out.push('(further refusals left out)');
  }
}

const dec = new TextDecoder();
const json = (v: unknown) => utf8(JSON.stringify(v));
const parse = (b: Uint8Array): unknown => JSON.parse(dec.decode(b));

/** A check that wrote to a tracked table: a bug in the purpose, refused and rolled back. */
export class CheckWroteError extends Error {
  override name = 'CheckWroteError';
}

/** Runs `check` in a transaction; if it moved the high-water counter, rolls back and throws CheckWroteError. */
export function checkWithoutWrites<T>(db: Db, what: string, check: () => T): T {
  const counter = () => (db.prepare('SELECT counter FROM high_water WHERE id = 1').get() as { counter: number }).counter;
  return db.transaction(() => {
    const before = counter();
    const out = check();
    if (counter() !== before) throw new CheckWroteError(`the ${what} check wrote to the database; checks must not write`);
    return out;
  })();
}

const isPurpose = (p: string): p is SigningPurposeName => p === 'roster' || p === 'contract-key' || p === 'activation';

export class ThresholdSigner {
  private readonly purposes = new Map<SigningPurposeName, SigningPurpose>();
  private lastPrune = Number.NEGATIVE_INFINITY;

  constructor(private readonly ctx: NodeContext, private readonly publicKeys: (epoch: number) => PublicKeys | undefined,
    private readonly memberKeys: (epoch: number) => MemberKeys | undefined) {}

  register(p: { name: string; check: SigningCheck; writes?: boolean }): void {
    if (!isPurpose(p.name)) throw new Error(`'${p.name}' is not a signing purpose`);
    this.purposes.set(p.name, { ...p, name: p.name });
  }

  /** A member signs only what the purpose's check accepts; it never signs bytes it did not verify itself. */
  check(c: CeremonyRecord, message: Uint8Array, purpose: string, publication: Record<string, unknown> | null): void {
    const p = isPurpose(purpose) ? this.purposes.get(purpose) : undefined;
    if (!p) throw invalidArgument(`unknown signing purpose '${purpose.slice(0, 40)}'`);
    if (p.writes) p.check(c, message, publication);
    else checkWithoutWrites(this.ctx.db, purpose, () => p.check(c, message, publication));
  }

  commit(c: CeremonyRecord, sessionId: Uint8Array, message: Uint8Array, purpose: string, publication: Record<string, unknown> | null): Uint8Array {
    if (sessionId.length !== 16) throw invalidArgument('session_id must be 16 bytes');
    this.check(c, message, purpose, publication);
    const keys = this.memberKeys(c.epoch);
    if (!keys) throw failedPrecondition('this member has no key shares for that epoch');
    const { nonces, commitments } = signingCommit(keys.signing);
    keys.derivation.signingShare.fill(0);
    keys.signing.signingShare.fill(0);
    const sealed = this.ctx.keys.box.seal('frost-nonces', bytesToHex(sessionId), json(encodeSigningNonces(nonces)));
    if (!this.ctx.ceremonies.startFrostSession(sessionId, c.epoch, message, sealed, this.ctx.now())) {
      throw alreadyExists('that signing session id was already used');
    }
    return json(encodeSigningCommitments(commitments));
  }

  sign(c: CeremonyRecord, sessionId: Uint8Array, message: Uint8Array, commitmentsWire: Uint8Array[], purpose: string,
    publication: Record<string, unknown> | null): Uint8Array {
    this.check(c, message, purpose, publication);
    let commitments;
    try {
      commitments = commitmentsWire.map((w) => decodeSigningCommitments(parse(w)));
    } catch (err) {
      throw invalidArgument(`bad signing commitments: ${err instanceof Error ? err.message : String(err)}`);
    }
    const session = this.ctx.ceremonies.takeFrostNonces(sessionId, this.ctx.now() - FROST_SESSION_TTL_MS);
    if (!session) throw failedPrecondition('unknown, expired or already used signing session');
    if (session.epoch !== c.epoch || !equalBytes(session.message, message)) throw permissionDenied('the signing session was opened for another message');
    const nonces = decodeSigningNonces(parse(this.ctx.keys.box.open('frost-nonces', bytesToHex(sessionId), session.sealedNonces)));
    const keys = this.memberKeys(c.epoch);
    if (!keys) throw failedPrecondition('this member has no key shares for that epoch');
    try {
      const share = signShare(keys.signing, nonces, commitments, message);
      this.ctx.audit.append('ceremony', 'frost.signed', { epoch: c.epoch, purpose, session: bytesToHex(sessionId), signers: commitments.map((x) => x.identifier) });
      return json(encodeSignatureShare(share));
    } catch (err) {
      throw invalidArgument(`cannot sign: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      keys.derivation.signingShare.fill(0);
      keys.signing.signingShare.fill(0);
    }
  }

  /**
   * FROST signing round trip as coordinator (RFC 9591 §5; docs/ceremony.md "The signer"). The commit
   * round goes to every member not known to be down (per-peer health) in parallel, each call with a
   * deadline from the caller's remaining budget, and ends as soon as `wanted` valid commitments are in
   * (./node/quorum.ts; this member's own counts like any other): the calls still running are
   * cancelled. The sign round goes to exactly that set. A signer that fails there or returns a share
   * that does not verify is excluded and the round trip runs once more with fresh commitments from the
   * others, within the same budget. Every refusal is reported in `opts.refusals`, bounded.
   */
  async coordinate(c: CeremonyRecord, message: Uint8Array, purpose: string, opts: CoordinateOptions = {}): Promise<Uint8Array | undefined> {
    const pub = this.publicKeys(c.epoch)?.signing;
    if (!pub) {
      opts.refusals?.push('this member has no public key package for that epoch');
      return undefined;
    }
    const deadline = this.ctx.now() + Math.max(MIN_CALL_MS, opts.budgetMs ?? DEFAULT_SIGNING_BUDGET_MS);
    const wanted = Math.min(c.roster.length, Math.max(c.threshold, opts.signers ?? 0));
    const excluded = new Set(opts.exclude ?? []);
    const report = new Refusals(opts.refusals);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const last = attempt === MAX_ATTEMPTS - 1;
      const candidates = c.roster.filter((m) => !excluded.has(m.nodeId));
      if (candidates.length < wanted) {
        report.note(`only ${candidates.length} member(s) left to ask after excluding ${excluded.size}; ${wanted} signers needed`);
        return undefined;
      }
      const committed = await this.commitRound(c, message, purpose, opts.publication, candidates, wanted, deadline, report);
      if (!committed) return undefined;
      const outcome = await this.signRound(c, pub, message, purpose, opts.publication, committed, deadline, last, report);
      if (outcome.signature) return outcome.signature;
      if (!outcome.culprits.length) return undefined;
      for (const id of outcome.culprits) excluded.add(id);
    }
    return undefined;
  }

  /** Commitments from the first `wanted` members to answer validly, or undefined (refusals noted). */
  private async commitRound(c: CeremonyRecord, message: Uint8Array, purpose: string, publication: Record<string, unknown> | undefined,
    candidates: RosterEntryJson[], wanted: number, deadline: number, report: Refusals): Promise<Committed | undefined> {
    const left = deadline - this.ctx.now();
    if (left < MIN_CALL_MS) {
      report.note(`the signing budget was spent before the commit round (${Math.max(0, left)} ms left)`);
      return undefined;
    }
    // Members whose calls would be refused at once (backoff running) are not asked while enough others
    // are; a member whose backoff ended is asked (it may be back: a stale mark must not cost a quorum).
    const health = this.ctx.peerHealth;
    const refusing = (e: string) => (typeof health.refusing === 'function' ? health.refusing(e) : health.isDown(e));
    const up = candidates.filter((m) => !refusing(m.endpoint));
    const ask = up.length >= wanted ? up : candidates;
    for (const m of candidates) if (!ask.includes(m)) report.add(m, 'FrostCommit', 'not asked: marked down by peer health');
    const sessionId = new Uint8Array(randomBytes(16));
    const timeoutMs = Math.max(MIN_CALL_MS, Math.floor(left / 2));
    const cancel = new AbortController();
    setMaxListeners(ask.length + 1, cancel.signal);
    // Every member gets the same request, so one signed call serves them all (context.ts fanOut).
    const calls = this.ctx.peerFanOut<{ commitments: Uint8Array }>(ask.map((m) => m.endpoint), 'FrostCommit',
      { epoch: c.epoch, sessionId, message, purpose, ...(publication ? { publication } : {}) }, timeoutMs, { signal: cancel.signal });
    const attempts = ask.map((m, i) => ({
      member: m,
      p: calls[i]!.then((res) => {
        let commitments: SigningCommitments;
        try {
          commitments = decodeSigningCommitments(parse(res.commitments));
        } catch (err) {
          throw new BadAnswer(`unreadable commitments: ${err instanceof Error ? err.message : String(err)}`);
        }
        if (commitments.identifier !== m.shareIdentifier) throw new BadAnswer('commitments under another member\'s identifier');
        return { wire: res.commitments, commitments };
      }),
    }));
    const got = await gatherQuorum(attempts, { need: wanted, minGraceMs: 0, maxGraceMs: 0, now: () => this.ctx.now() });
    cancel.abort();
    for (const f of got.failed) report.add(f.member, 'FrostCommit', describe(f.error, timeoutMs));
    if (got.ok.length < wanted) {
      for (const m of got.pending) report.add(m, 'FrostCommit', 'no answer yet (not waited for: too few members committed)');
      report.note(`only ${got.ok.length} of the ${wanted} commitments needed`);
      return undefined;
    }
    // The first `wanted` to answer (fastest first); any extra answered in the same instant is dropped.
    const signers = got.ok.slice(0, wanted).sort((a, b) => a.member.shareIdentifier.localeCompare(b.member.shareIdentifier));
    return { sessionId, signers: signers.map((s) => ({ m: s.member, ...s.value })) };
  }

  /** Shares from exactly the committed set and their aggregate; on failure, the members at fault. */
  private async signRound(c: CeremonyRecord, pub: PublicKeyPackage, message: Uint8Array, purpose: string,
    publication: Record<string, unknown> | undefined, committed: Committed, deadline: number, last: boolean, report: Refusals):
    Promise<{ signature?: Uint8Array; culprits: string[] }> {
    const left = deadline - this.ctx.now();
    if (left < MIN_CALL_MS) {
      report.note(`the signing budget was spent before the sign round (${Math.max(0, left)} ms left)`);
      return { culprits: [] };
    }
    const { signers, sessionId } = committed;
    const timeoutMs = last ? left : Math.max(MIN_CALL_MS, Math.floor(left / 2));
    const cancel = new AbortController();
    const calls = this.ctx.peerFanOut<{ signatureShare: Uint8Array }>(signers.map((s) => s.m.endpoint), 'FrostSign',
      { epoch: c.epoch, sessionId, message, commitments: signers.map((s) => s.wire), purpose, ...(publication ? { publication } : {}) },
      timeoutMs, { signal: cancel.signal });
    // The first failure ends the round: the other shares are of no use without that signer's.
    let firstFailure: { m: RosterEntryJson; error: unknown } | undefined;
    const shares = await new Promise<SignatureShare[] | undefined>((resolve) => {
      const out: SignatureShare[] = new Array(signers.length);
      let open = signers.length;
      signers.forEach((s, i) => {
        calls[i]!.then((res) => {
          const share = decodeSignatureShare(parse(res.signatureShare));
          if (share.identifier !== s.m.shareIdentifier) throw new BadAnswer('a signature share under another member\'s identifier');
          return share;
        }).then((share) => {
          out[i] = share;
          if (--open === 0 && !firstFailure) resolve(out);
        }, (error: unknown) => {
          if (firstFailure) return;
          firstFailure = { m: s.m, error: error instanceof RpcError || error instanceof BadAnswer ? error : new BadAnswer(`unreadable signature share: ${String(error)}`) };
          resolve(undefined);
        });
      });
    });
    cancel.abort();
    if (!shares) {
      report.add(firstFailure!.m, 'FrostSign', describe(firstFailure!.error, timeoutMs));
      return { culprits: [firstFailure!.m.nodeId] };
    }
    try {
      return { signature: aggregateSignature(pub, signers.map((s) => s.commitments), message, shares), culprits: [] };
    } catch (err) {
      // RFC 9591 §5.4: the shares that do not verify name their signers.
      const ids = err instanceof SignatureAggregationError ? err.culprits : [];
      const culprits = signers.filter((s) => ids.includes(s.m.shareIdentifier));
      for (const s of culprits) report.add(s.m, 'FrostSign', 'its signature share does not verify');
      this.ctx.log.warn({ epoch: c.epoch, culprits: culprits.map((s) => s.m.nodeId), err: err instanceof Error ? err.message : String(err) },
        'signature aggregation failed');
      if (!culprits.length) report.note('signature aggregation failed');
      return { culprits: culprits.map((s) => s.m.nodeId) };
    }
  }

  /** Deletes expired signing sessions, in bounded batches, at most once per PRUNE_EVERY_MS; returns how many. */
  prune(): number {
    const now = this.ctx.now();
    if (now - this.lastPrune < PRUNE_EVERY_MS) return 0;
    this.lastPrune = now;
    let pruned = 0;
    try {
      for (let i = 0; i < PRUNE_BATCHES_PER_RUN; i++) {
        const n = this.ctx.ceremonies.pruneFrostSessions(now - FROST_SESSION_TTL_MS, PRUNE_BATCH);
        pruned += n;
        if (n < PRUNE_BATCH) break;
      }
    } catch (err) {
      this.ctx.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'pruning signing sessions failed; will retry');
    }
    if (pruned) this.ctx.log.debug({ pruned }, 'expired signing sessions pruned');
    return pruned;
  }
}
