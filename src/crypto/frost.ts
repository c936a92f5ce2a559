// Committee secrets (DESIGN §2, §3.4): the DKG and threshold BIP340 signing over @noble/curves' FROST
// (RFC 9591), with plain serializable packages and one JSON encoding. DKG round 1 and signing are
// noble's; rounds 2 and 3 check proofs and shares in batches (vss.ts) and give noble's exact results.
//
// Two suites, never one key for two protocols:
// - `derivation`: secret s, `secp256k1_FROST` (FROST(secp256k1, SHA-256), RFC 9591 §6.5), plain
//   shares s_i with S_i = s_i·G. Used only by contract-key.ts; it never signs.
// - `signing`: secret z, `schnorr_FROST` (FROST-secp256k1-SHA256-TR). noble's DKG output for this
//   suite carries the BIP341 TapTweak with an empty merkle root (frost-secp256k1-tr compatibility),
//   so the committee key CPK is the x-only key of that output; signing normalises to even Y itself.
import { schnorr, secp256k1, schnorr_FROST, secp256k1_FROST, secp256k1_hasher } from '@noble/curves/secp256k1.js';
import type {
  DKG_Round1, DKG_Round2, DKG_Secret, FROST, FrostPublic, FrostSecret, NonceCommitments,
} from '@noble/curves/abstract/frost.js';
import { bytesToHex, hexToBytes, randomBytes } from '@noble/hashes/utils.js';
import { normalizeZ } from '@noble/curves/abstract/curve.js';
import * as libsecp256k1 from 'tiny-secp256k1';
import { concatBytes, equalBytes, hexField, objectField } from './bytes.js';
import { evaluatePolynomial, evaluateVss, verifyProof, verifyProofsBatched, verifySharesBatched, type CurvePoint, type ProofEquation } from './vss.js';

/** Which committee secret a package belongs to. */
export type Suite = 'derivation' | 'signing';
/** A member's FROST identifier: 64 lowercase hex characters, a non-zero scalar mod n. */
export type Identifier = string;
/** Randomness source: returns `len` fresh random bytes (tests may pass a deterministic one). */
export type Rng = (len?: number) => Uint8Array;

const Point = secp256k1.Point;
const Fn = Point.Fn;
const SUITES: Record<Suite, FROST> = { derivation: secp256k1_FROST, signing: schnorr_FROST };

/** Any refused FROST input or failed protocol step. Messages never contain secret values. */
export class FrostError extends Error {
  override name = 'FrostError';
}

/** A DKG step failed because of identifiable members (bad proof of knowledge or bad share). */
export class DkgBlameError extends FrostError {
  override name = 'DkgBlameError';
  constructor(message: string, readonly culprits: Identifier[]) {
    super(`${message}: ${culprits.join(', ')}`);
  }
}

/** Aggregation failed; `culprits` are signers whose shares did not verify (may be empty). */
export class SignatureAggregationError extends FrostError {
  override name = 'SignatureAggregationError';
  constructor(message: string, readonly culprits: Identifier[]) {
    super(culprits.length ? `${message}: bad shares from ${culprits.join(', ')}` : message);
  }
}

/** The noble FROST instance for a suite (exposed for vector tests and resharing). */
export function frostSuite(suite: Suite): FROST {
  const impl = SUITES[suite];
  if (!impl) throw new FrostError(`unknown suite: ${String(suite)}`);
  return impl;
}

// ---------------------------------------------------------------------------------------------
// Boundary checks shared by frost.ts, reshare.ts and contract-key.ts.

/** Checks that `id` is a canonical identifier (64 lowercase hex, 0 < id < n) and returns it. */
export function assertIdentifier(id: unknown, what = 'identifier'): Identifier {
  if (typeof id !== 'string' || !/^[0-9a-f]{64}$/.test(id)) throw new FrostError(`${what}: expected 64 lowercase hex characters`);
  const v = BigInt('0x' + id);
  if (v === 0n || v >= Fn.ORDER) throw new FrostError(`${what}: not a non-zero scalar`);
  return id;
}

/** Identifier as a scalar. */
export function identifierScalar(id: Identifier): bigint {
  return BigInt('0x' + assertIdentifier(id));
}

/** Identifier for a small integer index (RFC 9591 vectors use 1, 2, 3). */
export function identifierFromNumber(n: number): Identifier {
  if (!Number.isSafeInteger(n) || n <= 0) throw new FrostError('identifier index must be a positive integer');
  return secp256k1_FROST.Identifier.fromNumber(n);
}

// Public points are decoded many times (a round-1 package in rounds 2 and 3 and after a restart, the
// verifying shares on every provisioning), and decompressing one costs a square root, about a sixth
// of a base multiplication. Valid decodings are remembered; noble's points are immutable.
const decodedPoints = new Map<string, InstanceType<typeof Point>>();
const DECODED_POINTS_MAX = 8192;

/** Parses a SEC1 point (33 bytes compressed unless `len` says otherwise), refusing identity and off-curve encodings. */
export function decodePoint(bytes: unknown, what = 'point', len = 33): InstanceType<typeof Point> {
  if (!(bytes instanceof Uint8Array) || bytes.length !== len) throw new FrostError(`${what}: expected ${len} bytes`);
  const key = bytesToHex(bytes);
  const known = decodedPoints.get(key);
  if (known) return known;
  const p = parsePoint(bytes, what);
  if (decodedPoints.size >= DECODED_POINTS_MAX) decodedPoints.clear();
  decodedPoints.set(key, p);
  return p;
}

function parsePoint(bytes: Uint8Array, what: string): InstanceType<typeof Point> {
  let p: InstanceType<typeof Point>;
  try {
    // A compressed point is decompressed by libsecp256k1 (its square root is about 3 times faster
    // than noble's); noble then checks the uncompressed point again and makes the Point.
    p = Point.fromBytes(bytes.length === 33 ? libsecp256k1.pointCompress(bytes, false) : Uint8Array.from(bytes));
    p.assertValidity();
  } catch {
    throw new FrostError(`${what}: not a point on secp256k1`);
  }
  if (p.is0()) throw new FrostError(`${what}: identity point refused`);
  return p;
}

/** Parses a 32-byte big-endian scalar in [1, n). */
export function decodeScalar(bytes: unknown, what = 'scalar'): bigint {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) throw new FrostError(`${what}: expected 32 bytes`);
  const v = BigInt('0x' + bytesToHex(bytes));
  if (v === 0n || v >= Fn.ORDER) throw new FrostError(`${what}: not a non-zero scalar mod n`);
  return v;
}

/**
 * Lagrange coefficients at x = 0 for the given distinct identifiers (RFC 9591 §4.2
 * derive_interpolating_value, all at once): λ_i = Π_{j≠i} x_j / (x_j − x_i).
 */
export function lagrangeAtZero(ids: Identifier[]): Map<Identifier, bigint> {
  const xs = ids.map((id) => identifierScalar(id));
  if (new Set(ids).size !== ids.length) throw new FrostError('duplicate identifiers');
  const nums: bigint[] = [];
  const dens: bigint[] = [];
  xs.forEach((xi, i) => {
    let num = Fn.ONE;
    let den = Fn.ONE;
    xs.forEach((xj, j) => {
      if (i === j) return;
      num = Fn.mul(num, xj);
      den = Fn.mul(den, Fn.sub(xj, xi));
    });
    nums.push(num);
    dens.push(den);
  });
  const inv = Fn.invertBatch(dens);
  return new Map(ids.map((id, i) => [id, Fn.mul(nums[i]!, inv[i]!)]));
}

function assertThreshold(threshold: number, participants: number): void {
  if (!Number.isSafeInteger(threshold) || !Number.isSafeInteger(participants) || threshold < 2 || threshold > participants)
    throw new FrostError(`threshold must satisfy 2 <= k <= n (got k=${threshold}, n=${participants})`);
}

function assertBytes(x: unknown, what: string): Uint8Array {
  if (!(x instanceof Uint8Array)) throw new FrostError(`${what}: expected bytes`);
  return x;
}

// ---------------------------------------------------------------------------------------------
// Identifiers

/**
 * The FROST identifier of the member at 0-based `position` in a roster sorted by node id: the
 * integer position + 1, as RFC 9591 §2 numbers participants 1..MAX_PARTICIPANTS. The same identifier
 * is used in both suites, so a member has one x-coordinate for `s` and `z`. Small identifiers keep
 * every VSS evaluation Σ C_j·i^j (RFC 9591 Appendix C.2) short: i^j has at most (k−1)·16 bits.
 */
export function identifierForPosition(position: number): Identifier {
  if (!Number.isSafeInteger(position) || position < 0 || position >= 0xffff) throw new FrostError('roster position must be an integer in 0..65534');
  return identifierFromNumber(position + 1);
}

// ---------------------------------------------------------------------------------------------
// Key packages

/**
 * Public part of a committee key: what coordinators, workers and certificates need.
 * - `commitments`: the k Feldman/VSS commitment points (33 bytes each); `commitments[0]` is the
 *   group element (MPK for `derivation`; for `signing`, the possibly odd-Y point whose x is CPK).
 * - `verifyingShares`: S_i = s_i·G per member (33 bytes).
 * - `groupPublicKey`: `derivation` → 33-byte compressed MPK; `signing` → 32-byte x-only CPK.
 */
export interface PublicKeyPackage {
  suite: Suite;
  threshold: number;
  participants: number;
  commitments: Uint8Array[];
  verifyingShares: Record<Identifier, Uint8Array>;
  groupPublicKey: Uint8Array;
}

/** One member's key: the public package plus its secret share (32 bytes, secret). */
export interface KeyPackage extends PublicKeyPackage {
  identifier: Identifier;
  signingShare: Uint8Array;
}

/** The group public key in the suite's published form (MPK 33 bytes, CPK x-only 32 bytes). */
export function groupKeyFromCommitment(suite: Suite, commitment0: Uint8Array): Uint8Array {
  const p = decodePoint(commitment0, 'group commitment');
  return suite === 'signing' ? p.toBytes(true).slice(1) : p.toBytes(true);
}

/** Checks a public package's shape, points and internal consistency; returns it. */
export function assertPublicKeyPackage(pub: PublicKeyPackage): PublicKeyPackage {
  if (!pub || typeof pub !== 'object') throw new FrostError('public key package: expected an object');
  frostSuite(pub.suite);
  assertThreshold(pub.threshold, pub.participants);
  if (!Array.isArray(pub.commitments) || pub.commitments.length !== pub.threshold)
    throw new FrostError(`public key package: expected ${pub.threshold} commitments`);
  pub.commitments.forEach((c, j) => decodePoint(c, `commitment ${j}`));
  const ids = Object.keys(pub.verifyingShares ?? {});
  if (ids.length !== pub.participants) throw new FrostError(`public key package: expected ${pub.participants} verifying shares`);
  for (const id of ids) decodePoint(pub.verifyingShares[id], `verifying share ${assertIdentifier(id)}`);
  const gpk = groupKeyFromCommitment(pub.suite, pub.commitments[0]!);
  if (!(pub.groupPublicKey instanceof Uint8Array) || !equalBytes(gpk, pub.groupPublicKey))
    throw new FrostError('public key package: group public key does not match commitments[0]');
  return pub;
}

/** Checks a key package, including that signingShare·G equals the member's verifying share. */
export function assertKeyPackage(key: KeyPackage): KeyPackage {
  assertPublicKeyPackage(key);
  assertIdentifier(key.identifier);
  const s = decodeScalar(key.signingShare, 'signing share');
  const S = key.verifyingShares[key.identifier];
  if (!S) throw new FrostError('key package: own identifier has no verifying share');
  if (!Point.BASE.multiply(s).equals(decodePoint(S))) throw new FrostError('key package: signing share does not match verifying share');
  return key;
}

function toNoblePublic(pub: PublicKeyPackage): FrostPublic {
  return {
    signers: { min: pub.threshold, max: pub.participants },
    commitments: pub.commitments.map(own),
    verifyingShares: Object.fromEntries(Object.entries(pub.verifyingShares).map(([k, v]) => [k, own(v)])),
  };
}

// noble's types want ArrayBuffer-backed arrays; copying also keeps callers' buffers out of noble.
const own = (b: Uint8Array): Uint8Array<ArrayBuffer> => Uint8Array.from(b);
type NobleRng = NonNullable<Parameters<FROST['commit']>[1]>;

function toNobleSecret(key: KeyPackage): FrostSecret {
  return { identifier: key.identifier, signingShare: own(key.signingShare) };
}

/** The public part of a key package (drops the secret share). */
export function publicPackage(key: PublicKeyPackage): PublicKeyPackage {
  const { suite, threshold, participants, commitments, verifyingShares, groupPublicKey } = key;
  return { suite, threshold, participants, commitments, verifyingShares, groupPublicKey };
}

// ---------------------------------------------------------------------------------------------
// DKG (Pedersen with proofs of knowledge, frost-rs round split; RFC 9591 leaves DKG out of scope)

/** Round-1 broadcast: k commitment points and a Schnorr proof of knowledge of the constant term. */
export interface DkgRound1Package {
  identifier: Identifier;
  commitment: Uint8Array[];
  proofOfKnowledge: Uint8Array;
}

/** Round-2 message from `sender` to `recipient`: f_sender(recipient). Secret: HPKE-seal it in transit. */
export interface DkgRound2Package {
  sender: Identifier;
  recipient: Identifier;
  signingShare: Uint8Array;
}

/** A member's private DKG state between rounds. Secret; opaque outside this module. */
export interface DkgState {
  suite: Suite;
  identifier: Identifier;
  threshold: number;
  participants: number;
  /** noble's mutable round state (holds the secret polynomial until round 3). */
  inner: DKG_Secret;
}

/** Parameters of a k-of-n group. */
export interface GroupParams {
  threshold: number;
  participants: number;
}

/**
 * DKG round 1: samples this member's secret polynomial and returns its broadcast package.
 * Keep `state` private; the broadcast goes to all other n-1 members (signed by the sender).
 */
export function dkgRound1(suite: Suite, identifier: Identifier, params: GroupParams, rng: Rng = randomBytes): { round1: DkgRound1Package; state: DkgState } {
  assertIdentifier(identifier);
  assertThreshold(params.threshold, params.participants);
  const { public: pub, secret } = frostSuite(suite).DKG.round1(identifier, { min: params.threshold, max: params.participants }, undefined, rng as NobleRng);
  return {
    round1: { identifier: pub.identifier, commitment: pub.commitment.map((c) => Uint8Array.from(c)), proofOfKnowledge: Uint8Array.from(pub.proofOfKnowledge) },
    state: { suite, identifier, threshold: params.threshold, participants: params.participants, inner: secret },
  };
}

/** A round-1 package with its points decoded and its proof of knowledge as an equation. */
interface ParsedRound1 {
  pkg: DkgRound1Package;
  id: bigint;
  points: CurvePoint[];
  proof: ProofEquation;
}

/**
 * Parses a round-1 package: shape, points (no identity), and the proof's challenge
 * c = H_dkg(id || φ_0 || R) as in frost-rs and noble, so that R = mu·G − c·φ_0 must hold.
 * Null if the package is malformed.
 */
function parseRound1(suite: Suite, pkg: DkgRound1Package, threshold: number): ParsedRound1 | null {
  try {
    const id = identifierScalar(pkg.identifier);
    if (!Array.isArray(pkg.commitment) || pkg.commitment.length !== threshold) return null;
    const points = pkg.commitment.map((c, j) => decodePoint(c, `commitment ${j}`));
    const proof = normalizedProof(suite, pkg.proofOfKnowledge);
    const rBytes = proof.subarray(0, 33);
    const R = decodePoint(rBytes, 'proof R');
    const mu = BigInt('0x' + bytesToHex(proof.subarray(33)));
    if (mu >= Fn.ORDER) return null;
    // decodePoint accepted canonical encodings only, so these bytes are SerializeElement of the points.
    const c = secp256k1HashToScalar(concatBytes(Fn.toBytes(id), pkg.commitment[0]!, rBytes), suiteName(suite) + 'dkg');
    return { pkg, id, points, proof: { phi: points[0]!, R, mu, c } };
  } catch {
    return null;
  }
}

/**
 * Checks one round-1 package alone: shape, points, and its proof of knowledge (RFC 9591-style
 * Schnorr proof). Lets a caller name a bad sender before round 2; round 2 checks all of them again.
 */
export function verifyDkgRound1(suite: Suite, pkg: DkgRound1Package, threshold: number): boolean {
  const parsed = parseRound1(suite, pkg, threshold);
  return parsed !== null && verifyProof(parsed.proof);
}

const suiteName = (suite: Suite) => (suite === 'signing' ? 'FROST-secp256k1-SHA256-TR-v1' : 'FROST-secp256k1-SHA256-v1');

// noble encodes the signing suite's proof as x(R) || mu (R has even Y, BIP340 style), the
// derivation suite's as compressed R || mu.
function normalizedProof(suite: Suite, proof: unknown): Uint8Array {
  const p = assertBytes(proof, 'proof of knowledge');
  if (suite === 'signing') {
    if (p.length !== 64) throw new FrostError('proof of knowledge: expected 64 bytes');
    return concatBytes(new Uint8Array([0x02]), p);
  }
  if (p.length !== 65) throw new FrostError('proof of knowledge: expected 65 bytes');
  return p;
}

function secp256k1HashToScalar(msg: Uint8Array, dst: string): bigint {
  return secp256k1_hasher.hashToScalar(msg, { DST: dst });
}

function toNobleRound1(p: DkgRound1Package): DKG_Round1 {
  return { identifier: p.identifier, commitment: p.commitment.map(own), proofOfKnowledge: own(p.proofOfKnowledge) };
}

/** Owned copies of round-1 packages sorted by identifier: the transcript round 2 checked and round 3 must see again. */
function canonicalRound1(packages: DkgRound1Package[]): DKG_Round1[] {
  return packages.map(toNobleRound1).sort((a, b) => (a.identifier < b.identifier ? -1 : a.identifier > b.identifier ? 1 : 0));
}

function sameTranscript(a: DKG_Round1[], b: DKG_Round1[]): boolean {
  return a.length === b.length && a.every((p, i) => {
    const q = b[i]!;
    return p.identifier === q.identifier && equalBytes(p.proofOfKnowledge, q.proofOfKnowledge)
      && p.commitment.length === q.commitment.length && p.commitment.every((c, j) => equalBytes(c, q.commitment[j]!));
  });
}

/**
 * Parses every round-1 package and checks all proofs of knowledge in one batch; when the batch fails,
 * checks them one by one to name the senders at fault (DkgBlameError).
 */
function checkRound1(state: DkgState, others: DkgRound1Package[]): ParsedRound1[] {
  const parsed = others.map((p) => parseRound1(state.suite, p, state.threshold));
  let bad = others.filter((_, i) => parsed[i] === null).map((p) => p.identifier);
  if (bad.length === 0) {
    const ok = parsed as ParsedRound1[];
    if (verifyProofsBatched(ok.map((p) => p.proof))) return ok;
    bad = ok.filter((p) => !verifyProof(p.proof)).map((p) => p.pkg.identifier);
    if (bad.length === 0) throw new FrostError('DKG round 2: the batched proof check failed, yet every proof holds alone');
  }
  throw new DkgBlameError('invalid round-1 package', bad);
}

/**
 * DKG round 2: checks the round-1 packages of the other n-1 members (proofs of knowledge batched) and
 * returns one secret package per recipient, f(recipient). Throws DkgBlameError naming senders whose
 * round-1 package is invalid. Same outputs and state as noble's DKG.round2 (a test compares them).
 */
export function dkgRound2(state: DkgState, others: DkgRound1Package[]): DkgRound2Package[] {
  checkOthers(state, others);
  const inner = state.inner;
  if (!inner.coefficients || inner.step === 3) throw new FrostError('DKG round 2: this state has already finished round 3');
  const transcript = canonicalRound1(others);
  if (inner.round2Cache) {
    if (!inner.round1Cache || !sameTranscript(inner.round1Cache, transcript)) throw new FrostError('DKG round 2 already ran with other round-1 packages');
  } else {
    const parsed = checkRound1(state, others);
    const coefficients = inner.coefficients;
    inner.round2Cache = Object.fromEntries(parsed.map((p) => [p.pkg.identifier,
      { identifier: state.identifier, signingShare: own(Fn.toBytes(evaluatePolynomial(coefficients, p.id))) }]));
    inner.round1Cache = transcript;
    inner.step = 2;
  }
  const cache = inner.round2Cache;
  return Object.keys(cache).sort().map((recipient) => ({
    sender: state.identifier,
    recipient,
    signingShare: Uint8Array.from(cache[recipient]!.signingShare),
  }));
}

function checkOthers(state: DkgState, others: DkgRound1Package[]): void {
  if (!Array.isArray(others) || others.length !== state.participants - 1)
    throw new FrostError(`expected round-1 packages from the other ${state.participants - 1} members`);
  const seen = new Set<string>();
  for (const p of others) {
    assertIdentifier(p?.identifier, 'round-1 sender');
    if (p.identifier === state.identifier) throw new FrostError('round-1 packages must not include our own');
    if (seen.has(p.identifier)) throw new DkgBlameError('duplicate round-1 sender', [p.identifier]);
    seen.add(p.identifier);
  }
}

/**
 * BIP341 key tweak with an empty merkle root after normalising the group key to even Y, applied to a
 * whole DKG output as noble's schnorr_FROST does to its DKG results (frost-secp256k1-tr
 * compatibility): negate everything if the group key has odd Y, then add t = TapTweak(x(Y))
 * (`t·G` to the group key and to every verifying share, t to the share).
 */
function taprootTweak(commitments: CurvePoint[], verifying: CurvePoint[], share: bigint) {
  if (Point.Fp.isOdd!(commitments[0]!.toAffine().y)) {
    commitments = commitments.map((c) => c.negate());
    verifying = verifying.map((v) => v.negate());
    share = Fn.neg(share);
  }
  const t = BigInt('0x' + bytesToHex(schnorr.utils.taggedHash('TapTweak', commitments[0]!.toBytes(true).subarray(1))));
  if (t >= Fn.ORDER) throw new FrostError('DKG round 3: the TapTweak hash is not below the group order');
  const tG = Point.BASE.multiplyUnsafe(t);
  return {
    commitments: commitments.map((c, j) => (j === 0 ? c.add(tG) : c)),
    verifying: verifying.map((v) => v.add(tG)),
    share: Fn.add(share, t),
  };
}

/**
 * DKG round 3: verifies every received share against its sender's commitments (all in one batch,
 * RFC 9591 Appendix C.2 vss_verify), and returns this member's key package: its share, the summed
 * commitments and every member's verifying share (derive_group_info). `others` must be the same
 * round-1 packages passed to round 2. Throws DkgBlameError naming senders whose share does not match
 * their commitment. Same output as noble's DKG.round3 (a test compares them).
 */
export function dkgRound3(state: DkgState, others: DkgRound1Package[], received: DkgRound2Package[]): KeyPackage {
  checkOthers(state, others);
  if (!Array.isArray(received) || received.length !== others.length)
    throw new FrostError(`expected round-2 packages from the other ${others.length} members`);
  const bySender = new Map(others.map((p) => [p.identifier, p]));
  const seen = new Set<string>();
  for (const r of received) {
    assertIdentifier(r?.sender, 'round-2 sender');
    if (r.recipient !== state.identifier) throw new FrostError(`round-2 package from ${r.sender} is addressed to another member`);
    if (!bySender.has(r.sender)) throw new DkgBlameError('round-2 package from a non-member', [r.sender]);
    if (seen.has(r.sender)) throw new DkgBlameError('duplicate round-2 sender', [r.sender]);
    seen.add(r.sender);
  }
  const inner = state.inner;
  if (!inner.coefficients || inner.step !== 2 || !inner.round1Cache) throw new FrostError('DKG round 3 needs the state after round 2');
  if (!sameTranscript(inner.round1Cache, canonicalRound1(others))) throw new FrostError('round-1 packages differ from those round 2 checked');

  const x = inner.identifier;
  const self = { share: evaluatePolynomial(inner.coefficients, x), commitment: inner.commitment.map((c, j) => decodePoint(c, `own commitment ${j}`)) };
  const unreadable: Identifier[] = [];
  const senders = received.map((r) => {
    let share = 0n;
    try { share = decodeScalar(r.signingShare, 'round-2 share'); } catch { unreadable.push(r.sender); }
    return { id: r.sender, share, commitment: bySender.get(r.sender)!.commitment.map((c, j) => decodePoint(c, `commitment ${j}`)) };
  });
  if (unreadable.length) throw new DkgBlameError('round-2 share is not a scalar', unreadable);
  if (!verifySharesBatched(x, [self, ...senders])) {
    const holds = (s: { share: bigint; commitment: CurvePoint[] }) => Point.BASE.multiply(s.share).equals(evaluateVss(s.commitment, x));
    if (!holds(self)) throw new FrostError('DKG round 3: our own share does not match our commitment');
    const bad = senders.filter((s) => !holds(s)).map((s) => s.id);
    if (bad.length) throw new DkgBlameError('round-2 share does not match the sender\'s commitment', bad);
    throw new FrostError('DKG round 3: the batched share check failed, yet every share holds alone');
  }

  let share = self.share;
  let commitments = self.commitment;
  for (const s of senders) {
    share = Fn.add(share, s.share);
    commitments = commitments.map((c, j) => c.add(s.commitment[j]!));
  }
  const ids = [state.identifier, ...senders.map((s) => s.id)].sort();
  let verifying = ids.map((id) => evaluateVss(commitments, identifierScalar(id)));
  if (state.suite === 'signing') ({ commitments, verifying, share } = taprootTweak(commitments, verifying, share));
  if (share === 0n) throw new FrostError('DKG round 3: the combined share is zero');

  for (let i = 0; i < inner.coefficients.length; i++) inner.coefficients[i]! -= inner.coefficients[i]!;
  delete inner.coefficients;
  delete inner.round1Cache;
  delete inner.round2Cache;
  inner.step = 3;

  const affine = normalizeZ(Point, [...commitments, ...verifying]);
  const commitmentBytes = affine.slice(0, commitments.length).map((p) => p.toBytes(true));
  const verifyingShares: Record<Identifier, Uint8Array> = {};
  ids.forEach((id, i) => { verifyingShares[id] = affine[commitments.length + i]!.toBytes(true); });
  return {
    suite: state.suite,
    identifier: state.identifier,
    signingShare: Fn.toBytes(share),
    threshold: state.threshold,
    participants: state.participants,
    commitments: commitmentBytes,
    verifyingShares,
    groupPublicKey: groupKeyFromCommitment(state.suite, commitmentBytes[0]!),
  };
}

// ---------------------------------------------------------------------------------------------
// Threshold signing (RFC 9591 §5, BIP340 output). Only the `signing` suite signs.

/** One-time signing nonces (secret). Consumed (zeroed) by signShare; never reuse or persist twice. */
export interface SigningNonces {
  identifier: Identifier;
  hiding: Uint8Array;
  binding: Uint8Array;
}

/** Public round-1 commitments (33-byte points) sent to the coordinator. */
export interface SigningCommitments {
  identifier: Identifier;
  hiding: Uint8Array;
  binding: Uint8Array;
}

/** A member's signature share (32-byte scalar). */
export interface SignatureShare {
  identifier: Identifier;
  share: Uint8Array;
}

function assertSigningSuite(pub: PublicKeyPackage): void {
  if (pub.suite !== 'signing')
    throw new FrostError('only the signing suite signs: the derivation secret is never used for signatures (DESIGN §2)');
}

function toNobleCommitments(list: SigningCommitments[]): NonceCommitments[] {
  if (!Array.isArray(list)) throw new FrostError('commitments: expected an array');
  const seen = new Set<string>();
  return list.map((c) => {
    assertIdentifier(c?.identifier, 'commitment identifier');
    if (seen.has(c.identifier)) throw new FrostError(`duplicate commitments from ${c.identifier}`);
    seen.add(c.identifier);
    decodePoint(c.hiding, 'hiding commitment');
    decodePoint(c.binding, 'binding commitment');
    return { identifier: c.identifier, hiding: own(c.hiding), binding: own(c.binding) };
  });
}

/** RFC 9591 §5.1 commit(): fresh hedged nonces (H3(random || share)) and their public commitments. */
export function signingCommit(key: KeyPackage, rng: Rng = randomBytes): { nonces: SigningNonces; commitments: SigningCommitments } {
  assertSigningSuite(key);
  decodeScalar(key.signingShare, 'signing share');
  const { nonces, commitments } = frostSuite(key.suite).commit(toNobleSecret(key), rng as NobleRng);
  return {
    nonces: { identifier: key.identifier, hiding: Uint8Array.from(nonces.hiding), binding: Uint8Array.from(nonces.binding) },
    commitments: { identifier: key.identifier, hiding: Uint8Array.from(commitments.hiding), binding: Uint8Array.from(commitments.binding) },
  };
}

/**
 * RFC 9591 §5.2 sign(): this member's share over `message` for the signer set given by
 * `commitments` (k..n entries, including ours). Zeroes `nonces` so they cannot be used twice.
 */
export function signShare(key: KeyPackage, nonces: SigningNonces, commitments: SigningCommitments[], message: Uint8Array): SignatureShare {
  assertSigningSuite(key);
  assertBytes(message, 'message');
  if (nonces?.identifier !== key.identifier) throw new FrostError('nonces belong to another member');
  const list = toNobleCommitments(commitments);
  if (list.length < key.threshold || list.length > key.participants)
    throw new FrostError(`need between ${key.threshold} and ${key.participants} signers, got ${list.length}`);
  for (const c of list) if (!key.verifyingShares[c.identifier]) throw new FrostError(`signer ${c.identifier} is not a member`);
  try {
    const share = frostSuite(key.suite).signShare(toNobleSecret(key), toNoblePublic(key), nonces, list, message);
    return { identifier: key.identifier, share: Uint8Array.from(share) };
  } catch (e) {
    throw new FrostError(`signing refused: ${(e as Error).message}`);
  }
}

/** RFC 9591 §5.4: checks one member's share, so a coordinator can name a bad signer. */
export function verifySignatureShare(pub: PublicKeyPackage, commitments: SigningCommitments[], message: Uint8Array, share: SignatureShare): boolean {
  assertSigningSuite(pub);
  try {
    if (!pub.verifyingShares[share.identifier]) return false;
    decodeScalar(share.share, 'signature share');
    return frostSuite(pub.suite).verifyShare(toNoblePublic(pub), toNobleCommitments(commitments), message, share.identifier, share.share);
  } catch {
    return false;
  }
}

/**
 * RFC 9591 §5.3 aggregate(): the 64-byte BIP340 signature under the x-only CPK
 * (`groupPublicKey`), accepted by any BIP340 verifier. Throws SignatureAggregationError naming the
 * signers whose shares are invalid.
 */
export function aggregateSignature(pub: PublicKeyPackage, commitments: SigningCommitments[], message: Uint8Array, shares: SignatureShare[]): Uint8Array {
  assertSigningSuite(pub);
  assertBytes(message, 'message');
  const list = toNobleCommitments(commitments);
  if (list.length < pub.threshold || list.length > pub.participants)
    throw new SignatureAggregationError(`need between ${pub.threshold} and ${pub.participants} signers, got ${list.length}`, []);
  const record: Record<string, Uint8Array> = {};
  for (const s of shares) {
    assertIdentifier(s?.identifier, 'share identifier');
    if (record[s.identifier]) throw new SignatureAggregationError('duplicate signature share', [s.identifier]);
    record[s.identifier] = assertBytes(s.share, 'signature share');
  }
  const missing = list.filter((c) => !record[c.identifier]).map((c) => c.identifier);
  if (missing.length || shares.length !== list.length) throw new SignatureAggregationError('shares do not match the signer set', missing);
  // noble checks the aggregate signature, and only when it fails checks every share to name the
  // signers at fault (RFC 9591 §5.3-5.4), so honest signings pay for one verification, not k.
  let sig: Uint8Array;
  try {
    sig = frostSuite(pub.suite).aggregate(toNoblePublic(pub), list, message, record);
  } catch (e) {
    const culprits = (e as { cheaters?: string[] }).cheaters ?? [];
    throw new SignatureAggregationError('aggregation failed', culprits);
  }
  if (!schnorr.verify(sig, message, pub.groupPublicKey)) throw new SignatureAggregationError('aggregate signature does not verify', []);
  return Uint8Array.from(sig);
}

/** BIP340 verification under a 32-byte x-only key (the stock verifier; no FROST involved). */
export function verifyGroupSignature(groupPublicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return schnorr.verify(signature, message, groupPublicKey);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// JSON encoding: plain objects with hex fields, fixed key order, records sorted by identifier, so
// JSON.stringify is deterministic. Decoders validate lengths, scalars and points.

export interface DkgRound1Json { identifier: string; commitment: string[]; proofOfKnowledge: string }
export interface DkgRound2Json { sender: string; recipient: string; signingShare: string }
export interface PublicKeyPackageJson {
  suite: Suite; threshold: number; participants: number; commitments: string[];
  verifyingShares: Record<string, string>; groupPublicKey: string;
}
export interface KeyPackageJson extends PublicKeyPackageJson { identifier: string; signingShare: string }
export interface SigningCommitmentsJson { identifier: string; hiding: string; binding: string }
export interface SigningNoncesJson { identifier: string; hiding: string; binding: string }
export interface SignatureShareJson { identifier: string; share: string }

const hex = (b: Uint8Array): string => bytesToHex(b);

const frostError = (m: string) => new FrostError(m);
const unhex = (s: unknown, what: string, len?: number) => hexField(s, what, len, frostError);
const obj = (x: unknown, what: string) => objectField(x, what, frostError);
/** A hex field holding a compressed point (identity and off-curve refused): its 33 bytes. */
const pointField = (s: unknown, what: string): Uint8Array => { const b = unhex(s, what, 33); decodePoint(b, what); return b; };
/** A hex field holding a scalar in [1, n): its 32 bytes. */
const scalarField = (s: unknown, what: string): Uint8Array => { const b = unhex(s, what, 32); decodeScalar(b, what); return b; };

function suiteOf(x: unknown): Suite {
  if (x !== 'derivation' && x !== 'signing') throw new FrostError('suite: expected "derivation" or "signing"');
  return x;
}

export function encodeDkgRound1(p: DkgRound1Package): DkgRound1Json {
  return { identifier: p.identifier, commitment: p.commitment.map(hex), proofOfKnowledge: hex(p.proofOfKnowledge) };
}
export function decodeDkgRound1(json: unknown): DkgRound1Package {
  const o = obj(json, 'round-1 package');
  if (!Array.isArray(o.commitment) || o.commitment.length < 2) throw new FrostError('round-1 package: expected >= 2 commitments');
  const commitment = o.commitment.map((c, j) => pointField(c, `commitment ${j}`));
  const proofOfKnowledge = unhex(o.proofOfKnowledge, 'proof of knowledge');
  if (proofOfKnowledge.length !== 64 && proofOfKnowledge.length !== 65) throw new FrostError('proof of knowledge: expected 64 or 65 bytes');
  decodePoint(proofOfKnowledge.length === 64 ? new Uint8Array([0x02, ...proofOfKnowledge.subarray(0, 32)]) : proofOfKnowledge.subarray(0, 33), 'proof R');
  return { identifier: assertIdentifier(o.identifier), commitment, proofOfKnowledge };
}

export function encodeDkgRound2(p: DkgRound2Package): DkgRound2Json {
  return { sender: p.sender, recipient: p.recipient, signingShare: hex(p.signingShare) };
}
export function decodeDkgRound2(json: unknown): DkgRound2Package {
  const o = obj(json, 'round-2 package');
  const signingShare = scalarField(o.signingShare, 'round-2 share');
  return { sender: assertIdentifier(o.sender, 'sender'), recipient: assertIdentifier(o.recipient, 'recipient'), signingShare };
}

export function encodePublicKeyPackage(p: PublicKeyPackage): PublicKeyPackageJson {
  const verifyingShares: Record<string, string> = {};
  for (const k of Object.keys(p.verifyingShares).sort()) verifyingShares[k] = hex(p.verifyingShares[k]!);
  return {
    suite: p.suite, threshold: p.threshold, participants: p.participants, commitments: p.commitments.map(hex),
    verifyingShares, groupPublicKey: hex(p.groupPublicKey),
  };
}
export function decodePublicKeyPackage(json: unknown): PublicKeyPackage {
  const o = obj(json, 'public key package');
  const suite = suiteOf(o.suite);
  if (!Array.isArray(o.commitments)) throw new FrostError('public key package: commitments must be an array');
  const vs = obj(o.verifyingShares, 'verifying shares');
  const verifyingShares: Record<string, Uint8Array> = {};
  for (const k of Object.keys(vs).sort()) verifyingShares[assertIdentifier(k)] = unhex(vs[k], `verifying share ${k}`, 33);
  const pub: PublicKeyPackage = {
    suite,
    threshold: o.threshold as number,
    participants: o.participants as number,
    commitments: o.commitments.map((c, j) => unhex(c, `commitment ${j}`, 33)),
    verifyingShares,
    groupPublicKey: unhex(o.groupPublicKey, 'group public key', suite === 'signing' ? 32 : 33),
  };
  return assertPublicKeyPackage(pub);
}

export function encodeKeyPackage(k: KeyPackage): KeyPackageJson {
  return { ...encodePublicKeyPackage(k), identifier: k.identifier, signingShare: hex(k.signingShare) };
}
export function decodeKeyPackage(json: unknown): KeyPackage {
  const o = obj(json, 'key package');
  const pub = decodePublicKeyPackage(o);
  return assertKeyPackage({ ...pub, identifier: assertIdentifier(o.identifier), signingShare: unhex(o.signingShare, 'signing share', 32) });
}

export function encodeSigningCommitments(c: SigningCommitments): SigningCommitmentsJson {
  return { identifier: c.identifier, hiding: hex(c.hiding), binding: hex(c.binding) };
}
export function decodeSigningCommitments(json: unknown): SigningCommitments {
  const o = obj(json, 'signing commitments');
  const hiding = pointField(o.hiding, 'hiding commitment');
  const binding = pointField(o.binding, 'binding commitment');
  return { identifier: assertIdentifier(o.identifier), hiding, binding };
}

export function encodeSigningNonces(n: SigningNonces): SigningNoncesJson {
  return { identifier: n.identifier, hiding: hex(n.hiding), binding: hex(n.binding) };
}
export function decodeSigningNonces(json: unknown): SigningNonces {
  const o = obj(json, 'signing nonces');
  const hiding = scalarField(o.hiding, 'hiding nonce');
  const binding = scalarField(o.binding, 'binding nonce');
  return { identifier: assertIdentifier(o.identifier), hiding, binding };
}

export function encodeSignatureShare(s: SignatureShare): SignatureShareJson {
  return { identifier: s.identifier, share: hex(s.share) };
}
export function decodeSignatureShare(json: unknown): SignatureShare {
  const o = obj(json, 'signature share');
  const share = scalarField(o.share, 'signature share');
  return { identifier: assertIdentifier(o.identifier), share };
}

/** JSON form of a DKG state between rounds. SECRET (holds the polynomial): store it sealed only. */
export interface DkgStateJson {
  suite: Suite; identifier: string; threshold: number; participants: number; step: number;
  coefficients: string[] | null; commitment: string[];
  round1Cache: DkgRound1Json[] | null; round2Cache: DkgRound2Json[] | null;
}

/** Serializes a DKG state so a restarted node can resume the ceremony (DESIGN §3.6). Secret output. */
export function encodeDkgState(state: DkgState): DkgStateJson {
  const inner = state.inner;
  const r2 = inner.round2Cache;
  return {
    suite: state.suite, identifier: state.identifier, threshold: state.threshold, participants: state.participants,
    step: inner.step ?? 1,
    coefficients: inner.coefficients ? inner.coefficients.map((c) => hex(Fn.toBytes(c))) : null,
    commitment: inner.commitment.map(hex),
    round1Cache: inner.round1Cache ? inner.round1Cache.map((p) => encodeDkgRound1(p)) : null,
    round2Cache: r2 ? Object.keys(r2).sort().map((to) => ({ sender: state.identifier, recipient: to, signingShare: hex(r2[to]!.signingShare) })) : null,
  };
}

/** Restores a DKG state written by encodeDkgState, validating every field. */
export function decodeDkgState(json: unknown): DkgState {
  const o = obj(json, 'DKG state');
  const suite = suiteOf(o.suite);
  const identifier = assertIdentifier(o.identifier);
  const threshold = o.threshold as number;
  const participants = o.participants as number;
  assertThreshold(threshold, participants);
  const step = o.step;
  if (step !== 1 && step !== 2 && step !== 3) throw new FrostError('DKG state: bad step');
  if (!Array.isArray(o.commitment) || o.commitment.length !== threshold) throw new FrostError('DKG state: bad commitment');
  const commitment = o.commitment.map((c, j) => pointField(c, `commitment ${j}`));
  let coefficients: bigint[] | undefined;
  if (o.coefficients !== null) {
    if (!Array.isArray(o.coefficients) || o.coefficients.length !== threshold) throw new FrostError('DKG state: bad coefficients');
    coefficients = o.coefficients.map((c, j) => decodeScalar(unhex(c, `coefficient ${j}`, 32), `coefficient ${j}`));
    if (!Point.BASE.multiply(coefficients[0]!).equals(decodePoint(commitment[0]))) throw new FrostError('DKG state: coefficients do not match commitment');
  }
  const inner: DKG_Secret = {
    identifier: identifierScalar(identifier),
    commitment: commitment.map(own),
    signers: { min: threshold, max: participants },
    step,
  };
  if (coefficients) inner.coefficients = coefficients;
  if (o.round1Cache !== null) {
    if (!Array.isArray(o.round1Cache)) throw new FrostError('DKG state: bad round-1 cache');
    inner.round1Cache = o.round1Cache.map((p) => toNobleRound1(decodeDkgRound1(p)));
  }
  if (o.round2Cache !== null) {
    if (!Array.isArray(o.round2Cache)) throw new FrostError('DKG state: bad round-2 cache');
    const cache: Record<string, DKG_Round2> = {};
    for (const p of o.round2Cache.map(decodeDkgRound2)) {
      if (p.sender !== identifier) throw new FrostError('DKG state: round-2 cache from another sender');
      cache[p.recipient] = { identifier, signingShare: own(p.signingShare) };
    }
    inner.round2Cache = cache;
  }
  return { suite, identifier, threshold, participants, inner };
}
