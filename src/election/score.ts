// `ElectionScore` (sp-npos-elections lib.rs): `evaluate_support`, the total order `Ord` and
// `strict_threshold_better` with an epsilon given as Perbill parts.
import { Perbill, mul_ceil, saturatingAdd, saturatingMul, tcmp, type PerThingType, U128_MAX } from './arithmetic.js';
import type { ElectionScore } from './types.js';

/** `evaluate_support`: min, saturating sum and saturating sum of squares of the totals. */
export function evaluate_support(totals: Iterable<bigint>): ElectionScore {
  let minimal_stake = U128_MAX;
  let sum_stake = 0n;
  let sum_stake_squared = 0n;
  for (const t of totals) {
    sum_stake = saturatingAdd(sum_stake, t);
    sum_stake_squared = saturatingAdd(sum_stake_squared, saturatingMul(t, t));
    if (t < minimal_stake) minimal_stake = t;
  }
  return { minimal_stake, sum_stake, sum_stake_squared };
}

function cmp(a: bigint, b: bigint): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * `impl Ord for ElectionScore`: lexicographic on (minimal_stake, sum_stake), then the SMALLER
 * sum_stake_squared is the greater score. Returns -1, 0 or 1 for a <, =, > b.
 */
export function compareScores(a: ElectionScore, b: ElectionScore): -1 | 0 | 1 {
  return cmp(a.minimal_stake, b.minimal_stake) || cmp(a.sum_stake, b.sum_stake)
    || cmp(b.sum_stake_squared, a.sum_stake_squared);
}

/** `a > b` in the `Ord` above (no epsilon). */
export function is_better(a: ElectionScore, b: ElectionScore): boolean {
  return compareScores(a, b) > 0;
}

/**
 * `ElectionScore::strict_threshold_better(self, other, threshold)`: `self` must beat `other` by
 * more than `threshold.mul_ceil(that)` in the first field where it is not within that margin.
 * `thresholdParts` is in parts of `P` (Perbill by default, as the staking pallet uses).
 */
export function strict_threshold_better(
  self: ElectionScore, other: ElectionScore, thresholdParts: bigint, P: PerThingType = Perbill,
): boolean {
  if (thresholdParts < 0n || thresholdParts > P.accuracy) throw new RangeError('threshold must be within [0, 1]');
  const fields = (s: ElectionScore) => [s.minimal_stake, s.sum_stake, s.sum_stake_squared] as const;
  const [a, b] = [fields(self), fields(other)];
  const r = a.map((thisV, i) => {
    const that = b[i]!;
    return { ge: thisV >= that, ord: tcmp(thisV, that, mul_ceil(P, thresholdParts, that)) };
  });
  const [m, s, q] = r as [typeof r[0], typeof r[0], typeof r[0]];
  if (m.ord === 1) return true;
  if (m.ge && m.ord === 0 && s.ord === 1) return true;
  if (m.ge && m.ord === 0 && s.ge && s.ord === 0 && q.ord === -1) return true;
  return false;
}
