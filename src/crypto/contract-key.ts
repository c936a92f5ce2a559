// Contract keys by threshold 2HashDH (DESIGN §4): h = hash_to_curve(cid, v) (RFC 9380 §3,
// secp256k1_XMD:SHA-256_SSWU_RO_ with our DST), member partials P_i = s_i·h with a Chaum–Pedersen
// DLEQ proof (RFC 9497 §2.2 shape), Lagrange combination Y = Σ λ_i P_i = s·h, and
// sk_c = hash_to_field(HKDF-SHA256(Y || h, info)). The worker never learns s, and one released
// sk_c says nothing about s or another contract's key.
import { secp256k1, secp256k1_hasher } from '@noble/curves/secp256k1.js';
import { createOPRF } from '@noble/curves/abstract/oprf.js';
import { hash_to_field } from '@noble/curves/abstract/hash-to-curve.js';
import { mulAddUnsafe } from '@noble/curves/abstract/curve.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { bytesToHex, hexToBytes, randomBytes } from '@noble/hashes/utils.js';
import { concatBytes, hexField, lp, objectField, u32be, utf8 } from './bytes.js';
import { assertIdentifier, decodePoint, decodeScalar, lagrangeAtZero, type Identifier, type Rng } from './frost.js';

/** RFC 9380 DST for h (DESIGN §4). */
export const CONTRACT_DST = 'GATEKEEPER-V1-CONTRACT-secp256k1_XMD:SHA-256_SSWU_RO_';
/** Domain separation of the partial-evaluation DLEQ proofs. */
export const PARTIAL_DLEQ_CONTEXT = 'gatekeeper/v1/contract-partial-dleq';
/** HKDF info prefix for sk_c (DESIGN §4). */
export const CONTRACT_KEY_INFO = 'gatekeeper/v1/contract-key';
/** RFC 9380 hash_to_field DST that maps the HKDF output to sk_c (not fixed by DESIGN; ours). */
export const CONTRACT_KEY_FIELD_DST = 'GATEKEEPER-V1-CONTRACT-KEY-secp256k1_XMD:SHA-256_SCALAR_';
/** HKDF output length: L = ceil((ceil(log2 n) + k) / 8) = 48 bytes for k = 128 (RFC 9380 §5). */
export const CONTRACT_KEY_OKM_LENGTH = 48;

const Point = secp256k1.Point;
const Fn = Point.Fn;
type P = InstanceType<typeof Point>;

// noble's RFC 9497 VOPRF gives the DLEQ proof (c, s) of §2.2.1 GenerateProof/VerifyProof; its
// context string becomes "OPRFV1-\x01-" + our name, so these proofs never verify as OPRF proofs.
const dleq = createOPRF({
  name: PARTIAL_DLEQ_CONTEXT,
  Point,
  hash: sha256,
  hashToGroup: secp256k1_hasher.hashToCurve,
  hashToScalar: secp256k1_hasher.hashToScalar,
}).voprf;

const ONE = Fn.toBytes(1n);

/** A contract-key input refused, or combination impossible. */
export class ContractKeyError extends Error {
  override name = 'ContractKeyError';
}

/** Why a partial was refused. */
export type PartialFault = 'duplicate' | 'unknown-member' | 'invalid-point' | 'invalid-proof';

/** One or more partials are bad; `culprits` names each offending member and why. */
export class BadPartialError extends ContractKeyError {
  override name = 'BadPartialError';
  readonly culprits: Identifier[];
  constructor(readonly faults: { identifier: Identifier; fault: PartialFault }[]) {
    super(`bad partial evaluations: ${faults.map((f) => `${f.identifier} (${f.fault})`).join(', ')}`);
    this.culprits = [...new Set(faults.map((f) => f.identifier))];
  }
}

/** Fewer than k (good) partials. `faults` lists the partials that were dropped, if any. */
export class NotEnoughPartialsError extends ContractKeyError {
  override name = 'NotEnoughPartialsError';
  constructor(readonly have: number, readonly need: number, readonly faults: { identifier: Identifier; fault: PartialFault }[] = []) {
    super(`need ${need} good partial evaluations, have ${have}` + (faults.length ? `; refused: ${faults.map((f) => `${f.identifier} (${f.fault})`).join(', ')}` : ''));
  }
}

/** A member's share of the derivation secret s (a `derivation` KeyPackage fits). */
export interface DerivationShare {
  identifier: Identifier;
  signingShare: Uint8Array;
}

/** A member's partial evaluation: P_i = s_i·h (33 bytes) and its DLEQ proof (c || s, 64 bytes). */
export interface Partial {
  identifier: Identifier;
  point: Uint8Array;
  proof: Uint8Array;
}

function checkCid(cid: Uint8Array, version: number): void {
  if (!(cid instanceof Uint8Array)) throw new ContractKeyError('cid: expected bytes');
  if (cid.length === 0 || cid.length > 0xffff) throw new ContractKeyError('cid: expected 1..65535 bytes');
  if (!Number.isInteger(version) || version < 0 || version > 0xffffffff) throw new ContractKeyError('version: expected a u32');
}

/** RFC 9380 §3 hash_to_curve with secp256k1_XMD:SHA-256_SSWU_RO_ (noble `secp256k1_hasher`). */
export function hashToCurve(msg: Uint8Array, dst: string | Uint8Array): P {
  return secp256k1_hasher.hashToCurve(msg, { DST: dst }) as P;
}

function contractPointInternal(cid: Uint8Array, version: number): P {
  checkCid(cid, version);
  return hashToCurve(concatBytes(lp(cid), u32be(version)), CONTRACT_DST);
}

/** h = hash_to_curve(lp(cid) || u32be(v)) under CONTRACT_DST, 33-byte SEC1 compressed. */
export function contractPoint(cid: Uint8Array, version: number): Uint8Array {
  return contractPointInternal(cid, version).toBytes(true);
}

// Hedged proof nonce: fresh randomness plus the secret and the statement, so a broken RNG alone
// neither repeats a nonce across statements nor exposes s_i.
function hedgedRng(share: Uint8Array, statement: Uint8Array, rng: Rng): Rng {
  let counter = 0;
  return (len = 32) => hkdf(sha256, concatBytes(rng(32), share), statement, concatBytes(utf8('gatekeeper/v1/contract-partial-nonce'), u32be(counter++)), len);
}

/**
 * Member side: P_i = s_i·h and a DLEQ proof that log_G S_i = log_h P_i, where S_i = s_i·G.
 * Call only after the worker's attestation and the release policy are verified (DESIGN §5).
 */
export function evaluatePartial(share: DerivationShare, cid: Uint8Array, version: number, rng: Rng = randomBytes): Partial {
  assertIdentifier(share?.identifier);
  const s = decodeScalar(share.signingShare, 'signing share');
  const h = contractPointInternal(cid, version).toBytes(true);
  const S = Point.BASE.multiply(s).toBytes(true);
  const sk = Uint8Array.from(share.signingShare);
  const { evaluated, proof } = dleq.blindEvaluate(sk, S, h, hedgedRng(sk, concatBytes(S, h), rng) as Parameters<typeof dleq.blindEvaluate>[3]);
  return { identifier: share.identifier, point: Uint8Array.from(evaluated), proof: Uint8Array.from(proof) };
}

function checkPartial(partial: Partial, verifyingShare: Uint8Array, h: Uint8Array): PartialFault | null {
  try {
    decodePoint(partial.point, 'partial');
  } catch {
    return 'invalid-point';
  }
  try {
    decodePoint(verifyingShare, 'verifying share');
    if (!(partial.proof instanceof Uint8Array) || partial.proof.length !== 64) return 'invalid-proof';
    dleq.finalize(new Uint8Array(0), ONE, Uint8Array.from(partial.point), h, Uint8Array.from(verifyingShare), Uint8Array.from(partial.proof));
    return null;
  } catch {
    return 'invalid-proof';
  }
}

/** Worker side: true iff the partial is a valid point with a valid proof against S_i for (cid, v). */
export function verifyPartial(partial: Partial, verifyingShare: Uint8Array, cid: Uint8Array, version: number): boolean {
  return checkPartial(partial, verifyingShare, contractPoint(cid, version)) === null;
}

function checkThreshold(k: number): void {
  if (!Number.isSafeInteger(k) || k < 2) throw new ContractKeyError('threshold: expected an integer >= 2');
}

type Fault = { identifier: Identifier; fault: PartialFault };

// Sorts partials into good ones and faults; a partial can only be good once per member.
function screen(partials: Partial[], verifyingShares: Record<Identifier, Uint8Array>, h: Uint8Array) {
  if (!Array.isArray(partials)) throw new ContractKeyError('partials: expected an array');
  const good = new Map<Identifier, Partial>();
  const faults: Fault[] = [];
  const seen = new Set<Identifier>();
  for (const p of partials) {
    const id = assertIdentifier(p?.identifier, 'partial identifier');
    if (seen.has(id)) { faults.push({ identifier: id, fault: 'duplicate' }); good.delete(id); continue; }
    seen.add(id);
    const S = Object.hasOwn(verifyingShares, id) ? verifyingShares[id] : undefined;
    if (!S) { faults.push({ identifier: id, fault: 'unknown-member' }); continue; }
    const fault = checkPartial(p, S, h);
    if (fault) faults.push({ identifier: id, fault });
    else good.set(id, p);
  }
  return { good, faults };
}

function interpolate(partials: Partial[]): Uint8Array {
  const lambdas = lagrangeAtZero(partials.map((p) => p.identifier));
  const pts = partials.map((p) => decodePoint(p.point, 'partial'));
  const Y = mulAddUnsafe(Point, pts, partials.map((p) => lambdas.get(p.identifier)!));
  if (Y.is0()) throw new ContractKeyError('combined point is the identity');
  return Y.toBytes(true);
}

/**
 * Strict combination: every given partial must be valid, from a distinct known member, and there
 * must be at least k of them. Y = Σ λ_i P_i over all of them (Lagrange at 0 over their identifiers).
 * Throws BadPartialError naming every bad member, or NotEnoughPartialsError.
 */
export function combinePartials(partials: Partial[], verifyingShares: Record<Identifier, Uint8Array>, threshold: number, cid: Uint8Array, version: number): { Y: Uint8Array } {
  checkThreshold(threshold);
  const h = contractPoint(cid, version);
  if (!Array.isArray(partials) || partials.length < threshold) throw new NotEnoughPartialsError(Array.isArray(partials) ? partials.length : 0, threshold);
  const { good, faults } = screen(partials, verifyingShares, h);
  if (faults.length) throw new BadPartialError(faults);
  return { Y: interpolate([...good.values()]) };
}

/**
 * What a worker does: verify all partials, drop and report the bad ones, combine k good ones
 * (the first k by identifier). `faults` goes into the worker's report to the committee.
 */
export function combineGoodPartials(partials: Partial[], verifyingShares: Record<Identifier, Uint8Array>, threshold: number, cid: Uint8Array, version: number): { Y: Uint8Array; used: Identifier[]; faults: Fault[] } {
  checkThreshold(threshold);
  const h = contractPoint(cid, version);
  const { good, faults } = screen(partials, verifyingShares, h);
  if (good.size < threshold) throw new NotEnoughPartialsError(good.size, threshold, faults);
  const chosen = [...good.keys()].sort().slice(0, threshold).map((id) => good.get(id)!);
  return { Y: interpolate(chosen), used: chosen.map((p) => p.identifier), faults };
}

/**
 * Combination of partials the caller has already checked one by one with verifyPartial (a worker
 * that names each bad member as it opens them): the first k by identifier, without checking the
 * proofs a second time. Duplicate identifiers are still refused.
 */
export function combineVerifiedPartials(partials: Partial[], threshold: number): { Y: Uint8Array; used: Identifier[] } {
  checkThreshold(threshold);
  const byId = new Map<Identifier, Partial>();
  for (const p of partials) {
    const id = assertIdentifier(p?.identifier, 'partial identifier');
    if (byId.has(id)) throw new BadPartialError([{ identifier: id, fault: 'duplicate' }]);
    byId.set(id, p);
  }
  if (byId.size < threshold) throw new NotEnoughPartialsError(byId.size, threshold);
  const chosen = [...byId.keys()].sort().slice(0, threshold).map((id) => byId.get(id)!);
  return { Y: interpolate(chosen), used: chosen.map((p) => p.identifier) };
}

/**
 * sk_c = hash_to_field(HKDF-SHA256(ikm = Y || h, info = CONTRACT_KEY_INFO || lp(cid) || u32be(v)))
 * and pk_c = sk_c·G. hash_to_field is RFC 9380 §5.2 (noble `hash_to_field`, expand_message_xmd
 * SHA-256, L = 48, DST CONTRACT_KEY_FIELD_DST) over the 48-byte HKDF output; noble's
 * `mapHashToField` is deliberately not used (it maps to 1..n-1, which is not RFC 9380).
 */
export function deriveContractKey(Y: Uint8Array, cid: Uint8Array, version: number): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const h = contractPoint(cid, version);
  const y = decodePoint(Y, 'Y').toBytes(true);
  const okm = hkdf(sha256, concatBytes(y, h), undefined, concatBytes(utf8(CONTRACT_KEY_INFO), lp(cid), u32be(version)), CONTRACT_KEY_OKM_LENGTH);
  const [[sk]] = hash_to_field(okm, 1, { DST: CONTRACT_KEY_FIELD_DST, p: Fn.ORDER, m: 1, k: 128, expand: 'xmd', hash: sha256 }) as [[bigint]];
  okm.fill(0);
  if (sk === 0n) throw new ContractKeyError('derived a zero contract key'); // probability 2^-256
  return { secretKey: Fn.toBytes(sk), publicKey: Point.BASE.multiply(sk).toBytes(true) };
}

/** JSON form of a Partial (hex fields). */
export interface PartialJson { identifier: string; point: string; proof: string }

export function encodePartial(p: Partial): PartialJson {
  return { identifier: p.identifier, point: bytesToHex(p.point), proof: bytesToHex(p.proof) };
}

/** Decodes and shape-checks a partial (point on the curve, not identity); the proof is checked by verifyPartial. */
export function decodePartial(json: unknown): Partial {
  const fail = (m: string) => new ContractKeyError(m);
  const o = objectField(json, 'partial', fail);
  const hex = (x: unknown, what: string, len: number) => hexField(x, what, len, fail);
  const point = hex(o.point, 'partial point', 33);
  decodePoint(point, 'partial point');
  return { identifier: assertIdentifier(o.identifier), point, proof: hex(o.proof, 'partial proof', 64) };
}
