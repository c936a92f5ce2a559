// Conversions between ratio and staked assignments and the support map (sp-npos-elections
// assignments.rs, helpers.rs, lib.rs `to_supports`).
import { from_rational, normalize, perThingMul, saturatingAdd, type PerThingType } from './arithmetic.js';
import { compareIds } from './ids.js';
import type { Assignment, StakedAssignment, Support } from './types.js';

/** `Assignment::into_staked(stake)`: zero parts dropped, each part times stake rounded to nearest (ties down). */
export function into_staked(a: Assignment, stake: bigint, P: PerThingType): StakedAssignment {
  return {
    who: a.who,
    distribution: a.distribution.filter(([, p]) => p !== 0n).map(([t, p]) => [t, perThingMul(P, p, stake)]),
  };
}

/** `StakedAssignment::into_assignment`: parts `from_rational(w, total)` (rounded down), zero parts dropped. */
export function into_assignment(a: StakedAssignment, P: PerThingType): Assignment {
  let total = 0n;
  for (const [, w] of a.distribution) total = saturatingAdd(total, w);
  const distribution: Array<[string, bigint]> = [];
  for (const [t, w] of a.distribution) {
    const parts = from_rational(P, w, total);
    if (parts !== 0n) distribution.push([t, parts]);
  }
  return { who: a.who, distribution };
}

/** `StakedAssignment::try_normalize(stake)`: weights normalised (u128) to sum to `stake`. */
export function try_normalize_staked(a: StakedAssignment, stake: bigint): StakedAssignment {
  let sum = 0n;
  for (const [, w] of a.distribution) sum += w;
  if (sum === stake) return a;
  const n = normalize(a.distribution.map(([, w]) => w), stake);
  return { who: a.who, distribution: a.distribution.map(([t], k) => [t, n[k]!]) };
}

/** `assignment_ratio_to_staked`: no normalisation. `stakeOf` must know every voter. */
export function assignment_ratio_to_staked(
  ratios: readonly Assignment[], stakeOf: (who: string) => bigint, P: PerThingType,
): StakedAssignment[] {
  return ratios.map((a) => into_staked(a, stakeOf(a.who), P));
}

/** `assignment_ratio_to_staked_normalized`. */
export function assignment_ratio_to_staked_normalized(
  ratios: readonly Assignment[], stakeOf: (who: string) => bigint, P: PerThingType,
): StakedAssignment[] {
  return assignment_ratio_to_staked(ratios, stakeOf, P).map((a) => try_normalize_staked(a, stakeOf(a.who)));
}

/** `to_supports`: per target, saturating total and voters in assignment order; targets in id order. */
export function to_supports(assignments: readonly StakedAssignment[]): Array<[string, Support]> {
  const map = new Map<string, Support>();
  for (const { who, distribution } of assignments) {
    for (const [target, w] of distribution) {
      let s = map.get(target);
      if (!s) { s = { total: 0n, voters: [] }; map.set(target, s); }
      s.total = saturatingAdd(s.total, w);
      s.voters.push([who, w]);
    }
  }
  return [...map.entries()].sort((x, y) => compareIds(x[0], y[0]));
}
