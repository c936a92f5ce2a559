// Sequential Phragmén with Substrate's exact integer rules (sp-npos-elections phragmen.rs,
// `seq_phragmen` / `seq_phragmen_core`): scores are Rational128 with denominator DEN = u128::MAX,
// every product is floor(a * b / c) at 256 bits, every sum saturates at u128, ties go to the first
// candidate in input order. Two loops give identical output:
// - 'straightforward' rescans every edge every round, literally as upstream;
// - 'incremental' keeps each candidate's sum of load terms and, after a round, only revisits the
//   edges of the winner's backers (the only voters whose load changed). A saturating sum of
//   non-negative terms equals min(exact sum, u128::MAX) whatever the order, so keeping exact sums
//   and saturating when comparing gives upstream's scores bit for bit.
import { DEN, U128_MAX, mulDivFloorSat, saturatingAdd, saturatingSub, type PerThingType } from './arithmetic.js';
import { balance } from './balancing.js';
import { intoAssignments, retainEdges, setup_inputs, try_normalize_elected, type ElectionState } from './state.js';
import type { Assignment, BalancingConfig, ElectionSnapshot, LoopKind } from './types.js';

/** Winners (in round order) and assignments, as upstream's `ElectionResult`, plus the final state. */
export interface PhragmenOutcome {
  winners: Array<{ index: number; backedStake: bigint; round: number }>;
  assignments: Assignment[];
  state: ElectionState;
}

/** Electing candidate `w` in `round`: its backers' loads become its score (phragmen.rs loop 3). */
function applyWinner(
  s: ElectionState, owner: Int32Array, w: number, round: number, scoreN: bigint, backers: Int32Array,
): void {
  s.elected[w] = 1;
  s.round[w] = round;
  for (const e of backers) {
    const v = owner[e]!;
    // edge.load = score.lazy_saturating_sub(voter.load); voter.load = score
    s.edgeLoad[e] = saturatingSub(scoreN, s.load[v]!);
    s.load[v] = scoreN;
  }
}

/** The voter of each edge. */
function edgeOwners(s: ElectionState): Int32Array {
  const owner = new Int32Array(s.edgeCand.length);
  for (let v = 0; v < s.voterIds.length; v++) owner.fill(v, s.edgeStart[v]!, s.edgeStart[v + 1]!);
  return owner;
}

/** Edges pointing at each candidate, in voter order (the order upstream visits them). */
function incomingEdges(s: ElectionState): Int32Array[] {
  const counts = new Int32Array(s.candidateIds.length);
  for (let e = 0; e < s.edgeCand.length; e++) counts[s.edgeCand[e]!]!++;
  const lists = Array.from(counts, (n) => new Int32Array(n));
  const fill = new Int32Array(s.candidateIds.length);
  for (let e = 0; e < s.edgeCand.length; e++) {
    const c = s.edgeCand[e]!;
    lists[c]![fill[c]!++] = e;
  }
  return lists;
}

/** Upstream's score of an unelected candidate with zero approval: `Bounded::max_value()` = MAX/1. */
const INFINITE = -1n;

/** Rational128 order between two seq_phragmen scores: all finite ones share denominator DEN. */
function lessScore(a: bigint, b: bigint): boolean {
  if (a === INFINITE) return false;
  if (b === INFINITE) return true;
  return a < b;
}

/** `seq_phragmen_core`, rescanning every edge every round exactly as upstream. */
export function seq_phragmen_core_straightforward(s: ElectionState, toElect: number): void {
  const nc = s.candidateIds.length;
  const rounds = Math.min(toElect, nc);
  const incoming = incomingEdges(s);
  const owner = edgeOwners(s);
  const score = new Array<bigint>(nc).fill(0n);
  for (let round = 0; round < rounds; round++) {
    // loop 1: initialise scores
    for (let c = 0; c < nc; c++) {
      if (s.elected[c]) continue;
      score[c] = s.approval[c] === 0n ? INFINITE : DEN / s.approval[c]!;
    }
    // loop 2: add every voter's load term
    for (let v = 0; v < s.voterIds.length; v++) {
      const load = s.load[v]!;
      const budget = s.budget[v]!;
      for (let e = s.edgeStart[v]!; e < s.edgeStart[v + 1]!; e++) {
        const c = s.edgeCand[e]!;
        if (s.elected[c] || s.approval[c] === 0n) continue;
        const term = mulDivFloorSat(load, budget, s.approval[c]!);
        // lazy_saturating_add: a zero term leaves the score alone.
        if (term !== 0n) score[c] = saturatingAdd(score[c]!, term);
      }
    }
    // loop 3: the first minimum wins
    let best = -1;
    for (let c = 0; c < nc; c++) {
      if (s.elected[c]) continue;
      if (best < 0 || lessScore(score[c]!, score[best]!)) best = c;
    }
    if (best < 0) break;
    applyWinner(s, owner, best, round, score[best] === INFINITE ? U128_MAX : score[best]!, incoming[best]!);
  }
}

/** `seq_phragmen_core` with incrementally maintained score numerators; same result. */
export function seq_phragmen_core_incremental(s: ElectionState, toElect: number): void {
  const nc = s.candidateIds.length;
  const rounds = Math.min(toElect, nc);
  const incoming = incomingEdges(s);
  const owner = edgeOwners(s);
  // Exact (unsaturated) sum of each candidate's load terms, and each edge's current term.
  const termSum = new Array<bigint>(nc).fill(0n);
  const edgeTerm = new Array<bigint>(s.edgeCand.length).fill(0n);
  const base = s.approval.map((a) => (a === 0n ? INFINITE : DEN / a));
  for (let round = 0; round < rounds; round++) {
    let best = -1;
    let bestScore = 0n;
    for (let c = 0; c < nc; c++) {
      if (s.elected[c]) continue;
      let sc = base[c]!;
      if (sc !== INFINITE) {
        sc += termSum[c]!;
        if (sc > U128_MAX) sc = U128_MAX;
      }
      if (best < 0 || lessScore(sc, bestScore)) { best = c; bestScore = sc; }
    }
    if (best < 0) break;
    const scoreN = bestScore === INFINITE ? U128_MAX : bestScore;
    const backers = incoming[best]!;
    applyWinner(s, owner, best, round, scoreN, backers);
    // Only the winner's backers changed load: refresh the terms of their other edges.
    for (const we of backers) {
      const v = owner[we]!;
      const load = s.load[v]!;
      const budget = s.budget[v]!;
      for (let e = s.edgeStart[v]!; e < s.edgeStart[v + 1]!; e++) {
        const c = s.edgeCand[e]!;
        if (s.elected[c] || s.approval[c] === 0n) continue;
        const term = mulDivFloorSat(load, budget, s.approval[c]!);
        termSum[c] = termSum[c]! - edgeTerm[e]! + term;
        edgeTerm[e] = term;
      }
    }
  }
}

/**
 * After the rounds (phragmen.rs, end of `seq_phragmen_core`): each edge to an elected candidate
 * gets floor(budget * edge.load / voter.load), others 0; backed stakes add up; zero edges go; each
 * voter's weights are normalised to its budget.
 */
export function finalizeWeights(s: ElectionState): void {
  for (let v = 0; v < s.voterIds.length; v++) {
    for (let e = s.edgeStart[v]!; e < s.edgeStart[v + 1]!; e++) {
      const c = s.edgeCand[e]!;
      const w = s.elected[c] ? mulDivFloorSat(s.budget[v]!, s.edgeLoad[e]!, s.load[v]!) : 0n;
      s.edgeWeight[e] = w;
      s.backed[c] = saturatingAdd(s.backed[c]!, w);
    }
  }
  retainEdges(s, (e) => s.edgeWeight[e]! > 0n);
  for (let v = 0; v < s.voterIds.length; v++) try_normalize_elected(s, v);
}

/** Winners in round order with their backed stake (`ElectionResult::winners`). */
export function winnersByRound(s: ElectionState): PhragmenOutcome['winners'] {
  const out: PhragmenOutcome['winners'] = [];
  for (let c = 0; c < s.candidateIds.length; c++) {
    if (s.elected[c]) out.push({ index: c, backedStake: s.backed[c]!, round: s.round[c]! });
  }
  return out.sort((a, b) => a.round - b.round);
}

/** `seq_phragmen::<_, P>(to_elect, candidates, voters, balancing)`. */
export function seq_phragmen(
  toElect: number,
  snapshot: ElectionSnapshot,
  P: PerThingType,
  balancing?: BalancingConfig,
  loop: LoopKind = 'incremental',
): PhragmenOutcome {
  const s = setup_inputs(snapshot);
  if (loop === 'incremental') seq_phragmen_core_incremental(s, toElect);
  else seq_phragmen_core_straightforward(s, toElect);
  finalizeWeights(s);
  if (balancing) balance(s, balancing);
  return { winners: winnersByRound(s), assignments: intoAssignments(s, P), state: s };
}
