// Desmedt–Jajodia resharing (DESIGN §3.4 step 4): each of k_old old members deals its share with a
// fresh degree k_new−1 polynomial and Feldman commitments D_ij; a new member checks D_i0 == S_i and
// its sub-share against the commitments, then combines with Lagrange weights at 0 over the dealers.
// The group element (MPK, or the point behind the x-only CPK) never changes; nothing reconstructs it.
//
// Works for both suites. For `signing`, the reshared package keeps commitments[0] exactly as the old
// one (it may have odd Y): schnorr_FROST normalises keys to even Y at signing time, so the shares
// here are plain Shamir shares of the same scalar the DKG package used, and must not be negated.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { mulAddUnsafe, normalizeZ } from '@noble/curves/abstract/curve.js';
import { evaluateVss, verifySharesBatched } from './vss.js';
import { bytesToHex, hexToBytes, randomBytes } from '@noble/hashes/utils.js';
import { equalBytes, hexField, objectField } from './bytes.js';
import {
  assertIdentifier, assertPublicKeyPackage, decodePoint, decodeScalar, frostSuite, groupKeyFromCommitment,
  identifierScalar, lagrangeAtZero,
  type Identifier, type KeyPackage, type PublicKeyPackage, type Rng, type Suite,
} from './frost.js';

const Point = secp256k1.Point;
const Fn = Point.Fn;
type P = InstanceType<typeof Point>;

/** Resharing refused or failed. */
export class ReshareError extends Error {
  override name = 'ReshareError';
}

/** A dealing is inconsistent: D_i0 != S_i, or a sub-share does not match the commitments. */
export class BadDealingError extends ReshareError {
  override name = 'BadDealingError';
  constructor(readonly dealer: Identifier, readonly reason: 'commitment-mismatch' | 'bad-sub-share' | 'malformed') {
    super(`bad dealing from ${dealer}: ${reason}`);
  }
}

/** Several dealers failed verification; `culprits` lists them. */
export class ReshareBlameError extends ReshareError {
  override name = 'ReshareBlameError';
  constructor(readonly culprits: Identifier[]) {
    super(`bad dealings from: ${culprits.join(', ')}`);
  }
}

/** The new verifying shares would not give back the committee's group key: the hand-off fails. */
export class GroupKeyMismatchError extends ReshareError {
  override name = 'GroupKeyMismatchError';
}

/** Public part of a dealing: Feldman commitments D_i0..D_i,kNew−1 (33 bytes each). Broadcast it. */
export interface ReshareCommitment {
  suite: Suite;
  dealer: Identifier;
  commitments: Uint8Array[];
}

/** One recipient's sub-share f_i(x_j) (32 bytes). Secret: HPKE-seal it to the recipient. */
export interface ReshareSubShare {
  dealer: Identifier;
  recipient: Identifier;
  subShare: Uint8Array;
}

/** What one old member produces: a broadcast commitment and one sub-share per new member. */
export interface Dealing {
  commitment: ReshareCommitment;
  subShares: ReshareSubShare[];
}

function checkNewGroup(newIdentifiers: Identifier[], kNew: number): void {
  if (!Array.isArray(newIdentifiers)) throw new ReshareError('new identifiers: expected an array');
  newIdentifiers.forEach((id) => assertIdentifier(id, 'new identifier'));
  if (new Set(newIdentifiers).size !== newIdentifiers.length) throw new ReshareError('new identifiers: duplicates');
  if (!Number.isSafeInteger(kNew) || kNew < 2 || kNew > newIdentifiers.length)
    throw new ReshareError(`new threshold must satisfy 2 <= k <= n (got k=${kNew}, n=${newIdentifiers.length})`);
}

/**
 * Old member i deals its share s_i: f_i(x) = s_i + a_1 x + … + a_{k−1} x^{k−1} with fresh random
 * a_j, commitments D_ij = a_j·G (D_i0 = S_i), and sub-shares f_i(x_j) for every new member.
 */
export function dealReshare(oldShare: KeyPackage, newIdentifiers: Identifier[], kNew: number, rng: Rng = randomBytes): Dealing {
  checkNewGroup(newIdentifiers, kNew);
  assertIdentifier(oldShare?.identifier);
  decodeScalar(oldShare.signingShare, 'old share');
  const deal = frostSuite(oldShare.suite).trustedDealer(
    { min: kNew, max: newIdentifiers.length }, newIdentifiers, Uint8Array.from(oldShare.signingShare),
    rng as Parameters<ReturnType<typeof frostSuite>['trustedDealer']>[3],
  );
  return {
    commitment: { suite: oldShare.suite, dealer: oldShare.identifier, commitments: deal.public.commitments.map((c) => Uint8Array.from(c)) },
    subShares: newIdentifiers.map((id) => ({ dealer: oldShare.identifier, recipient: id, subShare: Uint8Array.from(deal.secretShares[id]!.signingShare) })),
  };
}

function parseCommitments(c: ReshareCommitment, kNew?: number): P[] {
  if (!c || !Array.isArray(c.commitments) || c.commitments.length < 2 || (kNew !== undefined && c.commitments.length !== kNew))
    throw new BadDealingError(String(c?.dealer), 'malformed');
  try {
    return c.commitments.map((d, j) => decodePoint(d, `D_${j}`));
  } catch {
    throw new BadDealingError(c.dealer, 'malformed');
  }
}

// Σ_j C_j x^j: Feldman evaluation of committed polynomial at x (public data, variable time is fine).
function evalCommitted(C: P[], x: bigint): P {
  const pows: bigint[] = [];
  let acc = Fn.ONE;
  for (let j = 0; j < C.length; j++) { pows.push(acc); acc = Fn.mul(acc, x); }
  return mulAddUnsafe(Point, C, pows);
}

/**
 * New member's check of one dealing: D_i0 == S_i (the dealer's verifying share in the current
 * roster) and subShare·G == Σ_j D_ij·x^j. Throws BadDealingError naming the dealer.
 */
export function verifyDealing(commitment: ReshareCommitment, dealerVerifyingShare: Uint8Array, recipient: Identifier, subShare: Uint8Array): void {
  const dealer = assertIdentifier(commitment?.dealer, 'dealer');
  const D = parseCommitments(commitment);
  if (!D[0]!.equals(decodePoint(dealerVerifyingShare, 'dealer verifying share'))) throw new BadDealingError(dealer, 'commitment-mismatch');
  let y: bigint;
  try {
    y = decodeScalar(subShare, 'sub-share');
  } catch {
    throw new BadDealingError(dealer, 'bad-sub-share');
  }
  if (!Point.BASE.multiply(y).equals(evalCommitted(D, identifierScalar(recipient)))) throw new BadDealingError(dealer, 'bad-sub-share');
}

/**
 * What a hand-off needs of the old committee, for one secret: the group element (MPK, or the
 * possibly odd-Y point whose x is the CPK), the old threshold and every verifying share. A certified
 * roster carries exactly this (reshareGroupFromVerifyingShares); a member's package too.
 */
export interface ReshareGroup {
  suite: Suite;
  threshold: number;
  /** 33-byte compressed group element: commitments[0] of the old package. */
  groupElement: Uint8Array;
  verifyingShares: Record<Identifier, Uint8Array>;
  /** The published form: MPK (33 bytes) or the x-only CPK (32 bytes). */
  groupPublicKey: Uint8Array;
}

/** The ReshareGroup of a public key package. */
export function reshareGroupFromPublic(pub: PublicKeyPackage): ReshareGroup {
  assertPublicKeyPackage(pub);
  return { suite: pub.suite, threshold: pub.threshold, groupElement: pub.commitments[0]!, verifyingShares: pub.verifyingShares, groupPublicKey: pub.groupPublicKey };
}

/**
 * The ReshareGroup of a roster that lists only verifying shares and the published key: the group
 * element is Σ λ_i S_i over the first k identifiers (Lagrange in the exponent, RFC 9591 §4.2), and must
 * give the published key (for the x-only CPK, its x; the interpolated point fixes the parity).
 */
export function reshareGroupFromVerifyingShares(suite: Suite, threshold: number, verifyingShares: Record<Identifier, Uint8Array>, groupPublicKey: Uint8Array): ReshareGroup {
  frostSuite(suite);
  const ids = Object.keys(verifyingShares ?? {}).sort();
  if (!Number.isSafeInteger(threshold) || threshold < 2 || threshold > ids.length) throw new ReshareError(`old threshold must satisfy 2 <= k <= n (got k=${threshold}, n=${ids.length})`);
  ids.forEach((id) => decodePoint(verifyingShares[assertIdentifier(id)], `verifying share ${id}`));
  const some = ids.slice(0, threshold);
  const L = lagrangeAtZero(some);
  const G0 = mulAddUnsafe(Point, some.map((id) => decodePoint(verifyingShares[id])), some.map((id) => L.get(id)!));
  if (G0.is0()) throw new GroupKeyMismatchError('the verifying shares interpolate to the identity');
  const groupElement = G0.toBytes(true);
  if (!(groupPublicKey instanceof Uint8Array) || !equalBytes(groupKeyFromCommitment(suite, groupElement), groupPublicKey))
    throw new GroupKeyMismatchError('the verifying shares do not interpolate to the published group key');
  return { suite, threshold, groupElement, verifyingShares, groupPublicKey };
}

/**
 * The new committee's public package, computable by anyone from the broadcast commitments:
 * C_m = Σ_i λ_i D_im over the dealers, S'_j = Σ_m C_m x_j^m. Fails with GroupKeyMismatchError
 * unless C_0 and the interpolated new verifying shares both equal the old group element (so MPK,
 * and for `signing` the x-only CPK, are unchanged). Checks D_i0 == S_i for every dealer.
 */
export function reshareCommittedPublic(oldPublic: PublicKeyPackage, newIdentifiers: Identifier[], kNew: number, commitments: ReshareCommitment[]): PublicKeyPackage {
  return reshareCommittedPublicForGroup(reshareGroupFromPublic(oldPublic), newIdentifiers, kNew, commitments);
}

/** reshareCommittedPublic for an old group given as a ReshareGroup (e.g. from a certified roster). */
export function reshareCommittedPublicForGroup(old: ReshareGroup, newIdentifiers: Identifier[], kNew: number, commitments: ReshareCommitment[]): PublicKeyPackage {
  checkNewGroup(newIdentifiers, kNew);
  if (!Array.isArray(commitments) || commitments.length < old.threshold)
    throw new ReshareError(`need dealings from at least ${old.threshold} old members, got ${Array.isArray(commitments) ? commitments.length : 0}`);
  const dealers = commitments.map((c) => assertIdentifier(c?.dealer, 'dealer'));
  if (new Set(dealers).size !== dealers.length) throw new ReshareError('duplicate dealers');
  const bad: Identifier[] = [];
  const parsed: P[][] = [];
  for (const c of commitments) {
    const S = Object.hasOwn(old.verifyingShares, c.dealer) ? old.verifyingShares[c.dealer] : undefined;
    if (!S || c.suite !== old.suite) { bad.push(c.dealer); continue; }
    try {
      const D = parseCommitments(c, kNew);
      if (!D[0]!.equals(decodePoint(S))) throw new BadDealingError(c.dealer, 'commitment-mismatch');
      parsed.push(D);
    } catch {
      bad.push(c.dealer);
    }
  }
  if (bad.length) throw new ReshareBlameError(bad);
  const L = lagrangeAtZero(dealers);
  const lambdas = dealers.map((id) => L.get(id)!);
  const C: P[] = [];
  for (let m = 0; m < kNew; m++) C.push(mulAddUnsafe(Point, parsed.map((D) => D[m]!), lambdas));
  const oldGroup = decodePoint(old.groupElement, 'old group element');
  if (!C[0]!.equals(oldGroup)) throw new GroupKeyMismatchError('reshared commitments do not give back the group key');
  const verifyingShares: Record<Identifier, Uint8Array> = {};
  const Snew = new Map<Identifier, P>();
  for (const id of [...newIdentifiers].sort()) {
    const S = evalCommitted(C, identifierScalar(id));
    if (S.is0()) throw new ReshareError(`new verifying share of ${id} is the identity`);
    Snew.set(id, S);
  }
  const some = [...Snew.keys()].slice(0, kNew);
  const l2 = lagrangeAtZero(some);
  const back = mulAddUnsafe(Point, some.map((id) => Snew.get(id)!), some.map((id) => l2.get(id)!));
  if (!back.equals(oldGroup)) throw new GroupKeyMismatchError('new verifying shares do not give back the group key');
  // One inversion for all affine conversions instead of one per point.
  const affine = normalizeZ(Point, [...C, ...Snew.values()]);
  const commitmentsBytes = affine.slice(0, C.length).map((c) => c.toBytes(true));
  [...Snew.keys()].forEach((id, i) => { verifyingShares[id] = affine[C.length + i]!.toBytes(true); });
  const groupPublicKey = groupKeyFromCommitment(old.suite, commitmentsBytes[0]!);
  if (!equalBytes(groupPublicKey, old.groupPublicKey)) throw new GroupKeyMismatchError('group public key changed');
  return { suite: old.suite, threshold: kNew, participants: newIdentifiers.length, commitments: commitmentsBytes, verifyingShares, groupPublicKey };
}

/** One sub-share to check: the dealer's commitments and f_dealer(x_recipient). */
export interface SubShareToCheck {
  commitment: ReshareCommitment;
  subShare: Uint8Array;
}

/**
 * A new member's check of all its sub-shares, from every dealer and both secrets, against the
 * dealers' commitments at its identifier in ONE random-linear-combination batch (vss.ts); only when
 * the batch fails is each checked alone, to name the dealers at fault. Returns the bad dealers per
 * item index (empty when all hold). Commitment shapes must already be checked (parseable points).
 */
export function verifySubSharesBatched(recipient: Identifier, items: SubShareToCheck[]): number[] {
  const x = identifierScalar(recipient);
  const parsed: ({ share: bigint; commitment: P[] } | null)[] = items.map((it) => {
    try {
      return { share: decodeScalar(it.subShare, 'sub-share'), commitment: parseCommitments(it.commitment) };
    } catch {
      return null;
    }
  });
  const unreadable = parsed.flatMap((p, i) => (p === null ? [i] : []));
  const readable = parsed.flatMap((p) => (p === null ? [] : [p]));
  if (verifySharesBatched(x, readable)) return unreadable;
  const bad = parsed.flatMap((p, i) => (p === null || !Point.BASE.multiply(p.share).equals(evaluateVss(p.commitment, x)) ? [i] : []));
  if (bad.length === unreadable.length) throw new ReshareError('the batched sub-share check failed, yet every sub-share holds alone');
  return bad;
}

/**
 * A new member's key package from sub-shares it has already checked (verifySubSharesBatched) and the
 * new public package (reshareCommittedPublicForGroup over the same dealers): x'_j = Σ_i λ_i f_i(x_j),
 * Lagrange weights over the dealers' old identifiers. Checks x'_j·G against its new verifying share.
 */
export function combineCheckedSubShares(newPublic: PublicKeyPackage, recipient: Identifier, subShares: { dealer: Identifier; subShare: Uint8Array }[]): KeyPackage {
  assertIdentifier(recipient, 'recipient');
  const S = Object.hasOwn(newPublic.verifyingShares, recipient) ? newPublic.verifyingShares[recipient] : undefined;
  if (!S) throw new ReshareError('recipient is not in the new committee');
  const lambdas = lagrangeAtZero(subShares.map((d) => assertIdentifier(d.dealer, 'dealer')));
  let share = Fn.ZERO;
  for (const d of subShares) share = Fn.add(share, Fn.mul(lambdas.get(d.dealer)!, decodeScalar(d.subShare, 'sub-share')));
  if (share === Fn.ZERO || !Point.BASE.multiply(share).equals(decodePoint(S))) throw new ReshareError('combined share does not match its verifying share');
  return { ...newPublic, identifier: recipient, signingShare: Fn.toBytes(share) };
}

/**
 * New member `recipient` combines dealings from at least k_old distinct old members into its new
 * key package (new share = Σ_i λ_i f_i(x_recipient)). Every dealing is verified first; bad dealers
 * are named in a ReshareBlameError (retry with other dealers). Fails with GroupKeyMismatchError if
 * the result would change the MPK/CPK.
 */
export function combineReshare(
  oldPublic: PublicKeyPackage,
  newIdentifiers: Identifier[],
  kNew: number,
  recipient: Identifier,
  dealings: { commitment: ReshareCommitment; subShare: ReshareSubShare }[],
): KeyPackage {
  assertIdentifier(recipient, 'recipient');
  if (!Array.isArray(newIdentifiers) || !newIdentifiers.includes(recipient)) throw new ReshareError('recipient is not in the new committee');
  if (!Array.isArray(dealings)) throw new ReshareError('dealings: expected an array');
  const pub = reshareCommittedPublic(oldPublic, newIdentifiers, kNew, dealings.map((d) => d.commitment));
  const bad: Identifier[] = [];
  for (const d of dealings) {
    if (d.subShare?.dealer !== d.commitment.dealer || d.subShare.recipient !== recipient) { bad.push(d.commitment.dealer); continue; }
    try {
      verifyDealing(d.commitment, oldPublic.verifyingShares[d.commitment.dealer]!, recipient, d.subShare.subShare);
    } catch {
      bad.push(d.commitment.dealer);
    }
  }
  if (bad.length) throw new ReshareBlameError(bad);
  const lambdas = lagrangeAtZero(dealings.map((d) => d.commitment.dealer));
  let share = Fn.ZERO;
  for (const d of dealings) share = Fn.add(share, Fn.mul(lambdas.get(d.commitment.dealer)!, Fn.fromBytes(d.subShare.subShare)));
  if (!Point.BASE.multiply(share).equals(decodePoint(pub.verifyingShares[recipient]))) throw new ReshareError('combined share does not match its verifying share');
  return { ...pub, identifier: recipient, signingShare: Fn.toBytes(share) };
}

/** JSON forms (hex fields, fixed key order) for the network layer. */
export interface ReshareCommitmentJson { suite: Suite; dealer: string; commitments: string[] }
export interface ReshareSubShareJson { dealer: string; recipient: string; subShare: string }

const reshareError = (m: string) => new ReshareError(m);
const unhex = (x: unknown, what: string, len: number) => hexField(x, what, len, reshareError);
const asObject = (x: unknown, what: string) => objectField(x, what, reshareError);

export function encodeReshareCommitment(c: ReshareCommitment): ReshareCommitmentJson {
  return { suite: c.suite, dealer: c.dealer, commitments: c.commitments.map((d) => bytesToHex(d)) };
}
export function decodeReshareCommitment(json: unknown): ReshareCommitment {
  const o = asObject(json, 'reshare commitment');
  if (o.suite !== 'derivation' && o.suite !== 'signing') throw new ReshareError('reshare commitment: unknown suite');
  if (!Array.isArray(o.commitments) || o.commitments.length < 2) throw new ReshareError('reshare commitment: expected >= 2 commitments');
  const commitments = o.commitments.map((d, j) => unhex(d, `D_${j}`, 33));
  commitments.forEach((d, j) => decodePoint(d, `D_${j}`));
  return { suite: o.suite, dealer: assertIdentifier(o.dealer, 'dealer'), commitments };
}
export function encodeReshareSubShare(s: ReshareSubShare): ReshareSubShareJson {
  return { dealer: s.dealer, recipient: s.recipient, subShare: bytesToHex(s.subShare) };
}
export function decodeReshareSubShare(json: unknown): ReshareSubShare {
  const o = asObject(json, 'reshare sub-share');
  const subShare = unhex(o.subShare, 'sub-share', 32);
  decodeScalar(subShare, 'sub-share');
  return { dealer: assertIdentifier(o.dealer, 'dealer'), recipient: assertIdentifier(o.recipient, 'recipient'), subShare };
}
