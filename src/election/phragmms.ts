// PhragMMS (sp-npos-elections phragmms.rs; Cevallos & Stewart, arXiv 2004.12990): each round elects
// the candidate with the maximum score `approval * ACCURACY / (1/ACCURACY + sum of the voters'
// elected shares)` (`calculate_max_score`), moves stake to it (`apply_elected`), then balances.
import { U128_MAX, from_rational, multiply_by_rational_with_rounding, saturatingAdd, saturatingMul, saturatingSub, type PerThingType } from './arithmetic.js';
import { balance } from './balancing.js';
import { winnersByRound, type PhragmenOutcome } from './phragmen.js';
import { intoAssignments, setup_inputs, type ElectionState } from './state.js';
import type { BalancingConfig, ElectionSnapshot } from './types.js';

/** A Rational128 n/d (d >= 1). */
interface Ratio { n: bigint; d: bigint }

function greater(a: Ratio, b: Ratio): boolean {
  return a.d === b.d ? a.n > b.n : a.n * b.d > b.n * a.d;
}

/** `calculate_max_score`: the unelected candidate with the strictly greatest score (first wins ties). */
export function calculate_max_score(s: ElectionState, P: PerThingType, scores: Ratio[]): number {
  const nc = s.candidateIds.length;
  for (let c = 0; c < nc; c++) if (!s.elected[c]) scores[c] = { n: 1n, d: P.accuracy };
  for (let v = 0; v < s.voterIds.length; v++) {
    let contribution = 0n;
    for (let e = s.edgeStart[v]!; e < s.edgeStart[v + 1]!; e++) {
      const c = s.edgeCand[e]!;
      if (s.elected[c]) contribution += from_rational(P, s.edgeWeight[e]!, s.backed[c]!);
    }
    for (let e = s.edgeStart[v]!; e < s.edgeStart[v + 1]!; e++) {
      const c = s.edgeCand[e]!;
      if (!s.elected[c]) scores[c] = { n: 1n, d: contribution + scores[c]!.d };
    }
  }
  let best: Ratio = { n: 0n, d: 1n };
  let bestIndex = -1;
  for (let c = 0; c < nc; c++) {
    if (s.approval[c]! > 0n) {
      const n = s.approval[c]! * P.accuracy;
      scores[c] = { n: n > U128_MAX ? U128_MAX : n, d: scores[c]!.d };
      if (!s.elected[c] && greater(scores[c]!, best)) { best = scores[c]!; bestIndex = c; }
    } else {
      scores[c] = { n: 0n, d: 1n };
    }
  }
  return bestIndex;
}

/** `apply_elected`: each backer of `w` gives it its unused budget plus a cut from over-backed edges. */
export function apply_elected(s: ElectionState, w: number, score: Ratio): void {
  // score.to_den(1): n / d rounded to nearest, ties down.
  const cutoff = multiply_by_rational_with_rounding(score.n, 1n, score.d, 'NearestPrefDown')!;
  let electedBacked = s.backed[w]!;
  for (let v = 0; v < s.voterIds.length; v++) {
    const start = s.edgeStart[v]!, end = s.edgeStart[v + 1]!;
    let newEdge = -1;
    for (let e = start; e < end; e++) if (s.edgeCand[e] === w) { newEdge = e; break; }
    if (newEdge < 0) continue;
    let used = 0n;
    for (let e = start; e < end; e++) used += s.edgeWeight[e]!;
    let newWeight = saturatingSub(s.budget[v]!, used);
    electedBacked = saturatingAdd(electedBacked, newWeight);
    for (let e = start; e < end; e++) {
      if (e === newEdge || s.edgeWeight[e]! === 0n) continue;
      const c = s.edgeCand[e]!;
      if (s.backed[c]! > cutoff) {
        const backed = s.backed[c]! > 1n ? s.backed[c]! : 1n;
        const take = saturatingMul(s.edgeWeight[e]!, cutoff) / backed;
        s.edgeWeight[e] = saturatingSub(s.edgeWeight[e]!, take);
        s.backed[c] = saturatingSub(s.backed[c]!, take);
        electedBacked = saturatingAdd(electedBacked, take);
        newWeight = saturatingAdd(newWeight, take);
      }
    }
    s.edgeWeight[newEdge] = newWeight;
  }
  s.backed[w] = electedBacked;
}

/** `phragmms::<_, P>(to_elect, candidates, voters, balancing)`. */
export function phragmms(
  toElect: number, snapshot: ElectionSnapshot, P: PerThingType, balancing?: BalancingConfig,
): PhragmenOutcome {
  const s = setup_inputs(snapshot);
  const scores: Ratio[] = s.candidateIds.map(() => ({ n: 0n, d: 1n }));
  for (let round = 0; round < toElect; round++) {
    const w = calculate_max_score(s, P, scores);
    if (w < 0) break;
    apply_elected(s, w, scores[w]!);
    s.round[w] = round;
    s.elected[w] = 1;
    if (balancing) balance(s, balancing);
  }
  return { winners: winnersByRound(s), assignments: intoAssignments(s, P), state: s };
}
