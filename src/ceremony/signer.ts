// The committee's threshold signer (RFC 9591 FROST, BIP340 under CPK): signing sessions on a member
// (FrostCommit/FrostSign) and the coordinator's round trip. Every request names a typed purpose; a member
// signs only bytes its purpose's check accepts. Checks do not write: the signer runs each one inside a
// transaction and refuses, rolling back, a check that moved the high-water counter (every write to a
// table that holds votes, shares, certificates, ceremony state, policies or publications bumps it,
// migration 6). The one exception is a purpose registered with `writes: true` (contract-key, whose
// check still stores the publication it certifies; see docs/ceremony.md).
import { randomBytes } from 'node:crypto';
import { bytesToHex } from '@noble/hashes/utils.js';
import { equalBytes, utf8 } from '../crypto/bytes.js';
import {
  aggregateSignature, decodeSignatureShare, decodeSigningCommitments, decodeSigningNonces, encodeSignatureShare,
  encodeSigningCommitments, encodeSigningNonces, signShare, signingCommit, type KeyPackage, type PublicKeyPackage,
} from '../crypto/frost.js';
import { alreadyExists, failedPrecondition, invalidArgument, permissionDenied } from '../rpc/errors.js';
import type { CeremonyRecord, RosterEntryJson } from '../store/ceremony-store.js';
import type { Db } from '../store/database.js';
import type { NodeContext } from '../node/context.js';

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

  /** FROST signing round trip as coordinator (RFC 9591 §5): commitments from k members, then shares. */
  async coordinate(c: CeremonyRecord, message: Uint8Array, purpose: string,
    opts: { publication?: Record<string, unknown>; signers?: number; refusals?: string[] } = {}): Promise<Uint8Array | undefined> {
    const pub = this.publicKeys(c.epoch)!.signing;
    const sessionId = new Uint8Array(randomBytes(16));
    const extra = opts.publication ? { publication: opts.publication } : {};
    const wanted = Math.min(c.roster.length, Math.max(c.threshold, opts.signers ?? 0));
    const committed: { m: RosterEntryJson; commitments: Uint8Array }[] = [];
    // Every member gets the same request, so one signed call serves them all (context.ts fanOut).
    const commitCalls = this.ctx.peerFanOut<{ commitments: Uint8Array }>(c.roster.map((m) => m.endpoint), 'FrostCommit',
      { epoch: c.epoch, sessionId, message, purpose, ...extra }, 3000);
    await Promise.allSettled(c.roster.map(async (m, i) => {
      try {
        const res = await commitCalls[i]!;
        committed.push({ m, commitments: res.commitments });
      } catch (err) {
        opts.refusals?.push(`node ${m.nodeId}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }));
    if (committed.length < wanted) return undefined;
    const signers = committed.sort((a, b) => a.m.shareIdentifier.localeCompare(b.m.shareIdentifier)).slice(0, wanted);
    const commitments = signers.map((s) => decodeSigningCommitments(parse(s.commitments)));
    const wire = signers.map((s) => s.commitments);
    const signCalls = this.ctx.peerFanOut<{ signatureShare: Uint8Array }>(signers.map((s) => s.m.endpoint), 'FrostSign',
      { epoch: c.epoch, sessionId, message, commitments: wire, purpose, ...extra }, 3000);
    const shares = await Promise.all(signCalls.map(async (call) => decodeSignatureShare(parse((await call).signatureShare)))).catch(() => undefined);
    if (!shares) return undefined;
    try {
      return aggregateSignature(pub, commitments, message, shares);
    } catch (err) {
      this.ctx.log.warn({ epoch: c.epoch, err: err instanceof Error ? err.message : String(err) }, 'signature aggregation failed');
      return undefined;
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
