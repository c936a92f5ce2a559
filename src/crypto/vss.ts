// Feldman VSS for the DKG on noble's points: RFC 9591 Appendix C.2 (vss_verify, derive_group_info)
// and the round-1 proofs of knowledge, with multi-scalar multiplications instead of one scalar
// multiplication per term. A check over many senders is batched with random 128-bit weights (the
// random linear combination of Bellare–Garay–Rabin, "Fast batch verification", 1998): if any single
// equation is false the batch passes with probability at most 2^-128. A failed batch says only that
// some sender is wrong; the caller re-checks them one by one to name who.
import { mulAddUnsafe } from '@noble/curves/abstract/curve.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';

const Point = secp256k1.Point;
const Fn = Point.Fn;
export type CurvePoint = InstanceType<typeof Point>;

/** Random batch weights in [1, 2^128]. */
function weights(count: number): bigint[] {
  const bytes = randomBytes(16 * count);
  return Array.from({ length: count }, (_, i) => BigInt('0x' + bytesToHex(bytes.subarray(16 * i, 16 * i + 16))) + 1n);
}

/** x^0 .. x^(len-1) mod n. */
function powers(x: bigint, len: number): bigint[] {
  const out = [Fn.ONE];
  for (let j = 1; j < len; j++) out.push(Fn.mul(out[j - 1]!, x));
  return out;
}

/** f(x) = Σ_j coefficients[j]·x^j mod n (Horner). Secret coefficients stay scalars: no curve operations. */
export function evaluatePolynomial(coefficients: bigint[], x: bigint): bigint {
  let acc = Fn.ZERO;
  for (let j = coefficients.length - 1; j >= 0; j--) acc = Fn.add(Fn.mul(acc, x), coefficients[j]!);
  return acc;
}

/**
 * Σ_j C_j·x^j: the point a share at x must match (RFC 9591 Appendix C.2 vss_verify), or with the summed
 * commitments a member's verifying share (derive_group_info). Variable time: public inputs only. With
 * roster identifiers 1..n the scalars x^j are short, and the wNAF walk is as long as the longest.
 */
export function evaluateVss(commitment: CurvePoint[], x: bigint): CurvePoint {
  return mulAddUnsafe(Point, commitment, powers(x, commitment.length));
}

/**
 * True iff share_j·G = evaluateVss(commitment_j, x) for every item (batched). The shares are secret:
 * their weighted sum is multiplied by G in constant time; everything else is public.
 */
export function verifySharesBatched(x: bigint, items: { share: bigint; commitment: CurvePoint[] }[]): boolean {
  if (items.length === 0) return true;
  const r = weights(items.length);
  let sum = Fn.ZERO;
  items.forEach((it, j) => { sum = Fn.add(sum, Fn.mul(r[j]!, it.share)); });
  const lhs = sum === Fn.ZERO ? Point.ZERO : Point.BASE.multiply(sum);
  const rhs = mulAddUnsafe(Point, items.map((it) => evaluateVss(it.commitment, x)), r);
  return lhs.equals(rhs);
}

/** One round-1 proof of knowledge, parsed: R = mu·G − c·phi must hold (c already hashed by the suite). */
export interface ProofEquation {
  phi: CurvePoint;
  R: CurvePoint;
  mu: bigint;
  c: bigint;
}

/** True iff R = mu·G − c·phi for one proof. Public inputs. */
export function verifyProof(p: ProofEquation): boolean {
  return p.R.equals(Point.BASE.multiplyUnsafe(p.mu).subtract(p.phi.multiplyUnsafe(p.c)));
}

/** True iff every proof holds (batched): (Σ r_j·mu_j)·G = Σ r_j·R_j + Σ (r_j·c_j)·phi_j. Public inputs. */
export function verifyProofsBatched(proofs: ProofEquation[]): boolean {
  if (proofs.length === 0) return true;
  const r = weights(proofs.length);
  let mu = Fn.ZERO;
  proofs.forEach((p, j) => { mu = Fn.add(mu, Fn.mul(r[j]!, p.mu)); });
  const lhs = Point.BASE.multiplyUnsafe(mu);
  const rhs = mulAddUnsafe(Point, [...proofs.map((p) => p.R), ...proofs.map((p) => p.phi)],
    [...r, ...proofs.map((p, j) => Fn.mul(r[j]!, p.c))]);
  return lhs.equals(rhs);
}
