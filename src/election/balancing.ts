// Star balancing, sp-npos-elections balancing.rs (`balance`, `balance_voter`): each pass walks the
// voters in their fixed input order and re-splits each voter's stake to level its lowest-backed
// elected targets (W3F research, "Computing a balanced solution"; arXiv 2004.12990 appendix A).
import { saturatingAdd, saturatingMul, saturatingSub } from './arithmetic.js';
import { try_normalize_elected, type ElectionState } from './state.js';
import type { BalancingConfig } from './types.js';

/** Runs up to `iterations` passes, stopping early once `max_diff <= tolerance`; returns the passes. */
export function balance(s: ElectionState, config: BalancingConfig): number {
  if (config.iterations === 0) return 0;
  let iter = 0;
  for (;;) {
    let maxDiff = 0n;
    for (let v = 0; v < s.voterIds.length; v++) {
      const diff = balance_voter(s, v, config.tolerance);
      if (diff > maxDiff) maxDiff = diff;
    }
    iter += 1;
    if (maxDiff <= config.tolerance || iter >= config.iterations) return iter;
  }
}

/** One voter's rebalancing; returns the difference it measured before moving stake. */
export function balance_voter(s: ElectionState, v: number, tolerance: bigint): bigint {
  const elected: number[] = [];
  for (let e = s.edgeStart[v]!; e < s.edgeStart[v + 1]!; e++) if (s.elected[s.edgeCand[e]!]) elected.push(e);
  // Either empty, or a self vote: nothing to level.
  if (elected.length <= 1) return 0n;
  const budget = s.budget[v]!;

  let stakeUsed = 0n;
  for (const e of elected) stakeUsed = saturatingAdd(stakeUsed, s.edgeWeight[e]!);

  let difference: bigint;
  let maxStake: bigint | undefined;
  let minStake: bigint | undefined;
  for (const e of elected) {
    const b = s.backed[s.edgeCand[e]!]!;
    if (minStake === undefined || b < minStake) minStake = b;
    if (s.edgeWeight[e]! > 0n && (maxStake === undefined || b > maxStake)) maxStake = b;
  }
  if (maxStake !== undefined) {
    difference = saturatingAdd(saturatingSub(maxStake, minStake!), saturatingSub(budget, stakeUsed));
    if (difference < tolerance) return difference;
  } else {
    difference = budget;
  }

  for (const e of elected) {
    const c = s.edgeCand[e]!;
    s.backed[c] = saturatingSub(s.backed[c]!, s.edgeWeight[e]!);
    s.edgeWeight[e] = 0n;
  }

  // Stable sort by the candidates' backed stake, as Rust's sort_by_key.
  elected.sort((a, b) => {
    const x = s.backed[s.edgeCand[a]!]!, y = s.backed[s.edgeCand[b]!]!;
    return x < y ? -1 : x > y ? 1 : 0;
  });

  let cumulative = 0n;
  let lastIndex = elected.length - 1;
  for (let index = 0; index < elected.length; index++) {
    const backed = s.backed[s.edgeCand[elected[index]!]!]!;
    const temp = saturatingMul(backed, BigInt(index));
    if (saturatingSub(temp, cumulative) > budget) {
      lastIndex = index === 0 ? 0 : index - 1;
      break;
    }
    cumulative = saturatingAdd(cumulative, backed);
  }

  const lastStake = s.backed[s.edgeCand[elected[lastIndex]!]!]!;
  const waysToSplit = BigInt(lastIndex + 1);
  const excess = saturatingSub(saturatingAdd(budget, cumulative), saturatingMul(lastStake, waysToSplit));

  for (let k = 0; k <= lastIndex; k++) {
    const e = elected[k]!;
    const c = s.edgeCand[e]!;
    const w = saturatingSub(saturatingAdd(excess / waysToSplit, lastStake), s.backed[c]!);
    s.edgeWeight[e] = w;
    s.backed[c] = saturatingAdd(s.backed[c]!, w);
  }

  // Upstream ignores a failed normalisation here (`let _ =`): an un-normalised voter is not corrupt.
  try { try_normalize_elected(s, v); } catch { /* as upstream */ }
  return difference;
}
