// Sequential Phragmén with Substrate's exact integer rules (sp-npos-elections phragmen.rs,
// `seq_phragmen` / `seq_phragmen_core`): scores are Rational128 with denominator DEN = u128::MAX,
// every product is floor(a * b / c) at 256 bits, every sum saturates at u128, ties go to the first
// candidate in input order. Two loops give identical output:
// - 'straightforward' rescans every edge every round, literally as upstream (O(seats x edges));
// - 'incremental' revisits, after a round, only the edges of the winner's backers (the only voters
//   whose load changed), and computes exact scores only where the winner can be (see
//   `seq_phragmen_core_incremental`). A saturating sum of non-negative terms equals
//   min(exact sum, u128::MAX) in any order, so an exact sum taken later is upstream's score.
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

/** Unit roundoff of binary64. */
const U = 2 ** -53;
/** Approximate scores at or above this may be saturated at u128::MAX: always check those exactly. */
const NEAR_SATURATION = 2 ** 127;

/**
 * `seq_phragmen_core` with incrementally maintained scores; same result as the straightforward loop.
 *
 * Per candidate it keeps a binary64 estimate of its sum of load terms together with a rigorous
 * bound on the estimate's error, updated only when one of its backers changes load (that is, when
 * the backer also backs the round's winner). Each round the exact BigInt score, the same
 * floor-and-saturate sum upstream computes, is evaluated only for the candidates whose error
 * interval reaches the smallest upper bound; the true minimum is always among them, and ties are
 * broken by input order among the exact values, so the winner is exactly upstream's.
 */
export function seq_phragmen_core_incremental(s: ElectionState, toElect: number): void {
  const nc = s.candidateIds.length;
  const nv = s.voterIds.length;
  const rounds = Math.min(toElect, nc);
  const incoming = incomingEdges(s);
  const owner = edgeOwners(s);
  const ne = s.edgeCand.length;

  const finite = new Uint8Array(nc);
  const base = new Array<bigint>(nc).fill(0n);
  const baseF = new Float64Array(nc);
  const approvalF = new Float64Array(nc);
  for (let c = 0; c < nc; c++) {
    if (s.approval[c] === 0n) continue;
    finite[c] = 1;
    base[c] = DEN / s.approval[c]!;
    baseF[c] = Number(base[c]);
    approvalF[c] = Number(s.approval[c]);
  }
  // Estimated sum of load terms, its error bound, and each edge's estimated term.
  const approx = new Float64Array(nc);
  const err = new Float64Array(nc);
  const edgeTermF = new Float64Array(ne);
  // Exact score (base + sum of terms, saturated) and whether a backer's load changed since.
  const exact = new Array<bigint>(nc).fill(0n);
  const dirty = new Uint8Array(nc).fill(1);
  // load * budget per voter.
  const product = new Array<bigint>(nv).fill(0n);
  const contenders: number[] = [];

  const exactScore = (c: number): bigint => {
    if (!dirty[c]) return exact[c]!;
    const a = s.approval[c]!;
    let sum = 0n;
    for (const e of incoming[c]!) {
      const p = product[owner[e]!]!;
      if (p === 0n) { edgeTermF[e] = 0; continue; }
      const t = p / a;
      edgeTermF[e] = Number(t);
      sum += t;
    }
    approx[c] = Number(sum);
    // Each re-seeded edge term is within U of its exact value; so is their sum.
    err[c] = 4 * U * approx[c]! + 4;
    let sc = base[c]! + sum;
    if (sc > U128_MAX) sc = U128_MAX;
    exact[c] = sc;
    dirty[c] = 0;
    return sc;
  };

  for (let round = 0; round < rounds; round++) {
    // Smallest upper bound among unelected finite candidates. The 16U slack covers the rounding of
    // DEN / approval to binary64, of est itself and of these bound computations.
    let minHi = Infinity;
    for (let c = 0; c < nc; c++) {
      if (s.elected[c] || !finite[c]) continue;
      const est = baseF[c]! + approx[c]!;
      const hi = est + err[c]! + 16 * U * (Math.abs(est) + err[c]!) + 4;
      if (hi < minHi) minHi = hi;
    }
    let best = -1;
    let bestScore = 0n;
    if (minHi !== Infinity) {
      contenders.length = 0;
      for (let c = 0; c < nc; c++) {
        if (s.elected[c] || !finite[c]) continue;
        const est = baseF[c]! + approx[c]!;
        const lo = est - err[c]! - 16 * U * (Math.abs(est) + err[c]!) - 4;
        if (lo <= minHi || est >= NEAR_SATURATION) contenders.push(c);
      }
      for (const c of contenders) {
        const sc = exactScore(c);
        if (best < 0 || sc < bestScore) { best = c; bestScore = sc; }
      }
    } else {
      // Only zero-approval candidates are left: all score MAX/1, the first wins.
      for (let c = 0; c < nc; c++) if (!s.elected[c]) { best = c; bestScore = U128_MAX; break; }
    }
    if (best < 0) break;
    const scoreN = bestScore;
    const backers = incoming[best]!;
    applyWinner(s, owner, best, round, scoreN, backers);
    // Only the winner's backers changed load: move the estimates of their other candidates.
    for (const we of backers) {
      const v = owner[we]!;
      const p = s.load[v]! * s.budget[v]!;
      product[v] = p;
      const pf = Number(p);
      for (let e = s.edgeStart[v]!; e < s.edgeStart[v + 1]!; e++) {
        const c = s.edgeCand[e]!;
        if (s.elected[c] || !finite[c]) continue;
        const old = edgeTermF[e]!;
        const t = pf / approvalF[c]!;
        const before = approx[c]!;
        const next = before - old + t;
        approx[c] = next;
        edgeTermF[e] = t;
        // t is within 6U relative (+1 for the floor) of the exact term; the two roundings of the
        // update are within U of their results.
        err[c] = err[c]! + 8 * U * t + 1 + 2 * U * (Math.abs(before) + old + t + Math.abs(next));
        dirty[c] = 1;
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
      let w = 0n;
      if (s.elected[c]) {
        const el = s.edgeLoad[e]!, vl = s.load[v]!;
        // floor(budget * l / l) = budget: the common case of a voter with one elected target.
        w = el === vl && vl !== 0n ? s.budget[v]! : mulDivFloorSat(s.budget[v]!, el, vl);
      }
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
