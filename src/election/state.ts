// The mutable election graph of sp-npos-elections (lib.rs `Candidate`, `Voter`, `Edge`,
// `setup_inputs`, `Voter::try_normalize_elected`, `Voter::into_assignment`), laid out as flat
// arrays (edges of voter v are edgeStart[v] .. edgeStart[v+1]) instead of Rc<RefCell<_>>.
import { U128_MAX, normalize, saturatingAdd, saturatingSub, from_rational, type PerThingType } from './arithmetic.js';
import type { Assignment, ElectionSnapshot } from './types.js';

export interface ElectionState {
  candidateIds: string[];
  approval: bigint[];
  backed: bigint[];
  elected: Uint8Array;
  round: Int32Array;
  voterIds: string[];
  budget: bigint[];
  /**
   * Voter load numerator. Upstream's `lazy_saturating_*` never look at the denominator, so it
   * never affects a result and is not kept.
   */
  load: bigint[];
  edgeStart: Int32Array;
  edgeCand: Int32Array;
  edgeLoad: bigint[];
  edgeWeight: bigint[];
}

/**
 * `setup_inputs`: candidates keep input order; per voter, a repeated target is skipped and votes for
 * non-candidates are dropped; a voter left with no edge is dropped; approval is the saturating sum
 * of the backers' stakes.
 */
export function setup_inputs(snapshot: ElectionSnapshot): ElectionState {
  const candidateIds = snapshot.candidates.slice();
  const nc = candidateIds.length;
  // Upstream's BTreeMap insert keeps the last index of a repeated id.
  const index = new Map<string, number>();
  candidateIds.forEach((id, i) => index.set(id, i));
  // Approval sums: stakes below 2^53 are added as two exact 32-bit-limb float sums (no BigInt
  // per edge); larger stakes, or more than 2^20 of them on one candidate, take the BigInt path.
  const approvalBig = new Array<bigint>(nc).fill(0n);
  const hiSum = new Float64Array(nc);
  const loSum = new Float64Array(nc);
  const count = new Int32Array(nc);
  const LIMB = 2 ** 32;

  const voterIds: string[] = [];
  const budget: bigint[] = [];
  const starts: number[] = [0];
  const cands: number[] = [];
  // seenBy[c] = 1 + the input index of the last voter with an edge to c: repeats are skipped.
  const seenBy = new Int32Array(nc);
  let voterNo = 0;
  for (const v of snapshot.voters) {
    voterNo += 1;
    const before = cands.length;
    const small = v.stake < 2n ** 53n;
    const sf = small ? Number(v.stake) : 0;
    const hi = Math.floor(sf / LIMB), lo = sf % LIMB;
    for (const t of v.targets) {
      const idx = index.get(t);
      if (idx === undefined || seenBy[idx] === voterNo) continue;
      seenBy[idx] = voterNo;
      if (small && count[idx]! < 1 << 20) {
        hiSum[idx] = hiSum[idx]! + hi;
        loSum[idx] = loSum[idx]! + lo;
        count[idx] = count[idx]! + 1;
      } else {
        approvalBig[idx] = saturatingAdd(approvalBig[idx]!, v.stake);
      }
      cands.push(idx);
    }
    if (cands.length === before) continue;
    voterIds.push(v.id);
    budget.push(v.stake);
    starts.push(cands.length);
  }
  const ne = cands.length;
  // Exact: each limb sum is below 2^20 * 2^32 < 2^53. A u128 cannot saturate from these.
  const approval = approvalBig.map((a, c) => (count[c] === 0 ? a : saturatingAdd(a, (BigInt(hiSum[c]!) << 32n) + BigInt(loSum[c]!))));
  return {
    candidateIds,
    approval,
    backed: new Array<bigint>(nc).fill(0n),
    elected: new Uint8Array(nc),
    round: new Int32Array(nc),
    voterIds,
    budget,
    load: new Array<bigint>(voterIds.length).fill(0n),
    edgeStart: Int32Array.from(starts),
    edgeCand: Int32Array.from(cands),
    edgeLoad: new Array<bigint>(ne).fill(0n),
    edgeWeight: new Array<bigint>(ne).fill(0n),
  };
}

/**
 * `Voter::try_normalize_elected`: normalise the weights of the voter's elected edges to its budget
 * and move the candidates' backed stakes along (saturating, as upstream).
 */
export function try_normalize_elected(s: ElectionState, v: number): void {
  const start = s.edgeStart[v]!, end = s.edgeStart[v + 1]!;
  const idx: number[] = [];
  let sum = 0n;
  for (let e = start; e < end; e++) {
    if (!s.elected[s.edgeCand[e]!]) continue;
    idx.push(e);
    sum += s.edgeWeight[e]!;
  }
  // Already exact (and within u128): normalize would return the input unchanged.
  if (sum === s.budget[v]! && sum <= U128_MAX) return;
  const normalized = normalize(idx.map((e) => s.edgeWeight[e]!), s.budget[v]!);
  idx.forEach((e, k) => {
    const c = s.edgeCand[e]!;
    s.backed[c] = saturatingAdd(saturatingSub(s.backed[c]!, s.edgeWeight[e]!), normalized[k]!);
    s.edgeWeight[e] = normalized[k]!;
  });
}

/** Rebuilds the edge arrays keeping only edges for which `keep(e)` holds (voters stay). */
export function retainEdges(s: ElectionState, keep: (e: number) => boolean): void {
  const nv = s.voterIds.length;
  const starts = new Int32Array(nv + 1);
  const cands: number[] = [];
  const loads: bigint[] = [];
  const weights: bigint[] = [];
  for (let v = 0; v < nv; v++) {
    for (let e = s.edgeStart[v]!; e < s.edgeStart[v + 1]!; e++) {
      if (!keep(e)) continue;
      cands.push(s.edgeCand[e]!);
      loads.push(s.edgeLoad[e]!);
      weights.push(s.edgeWeight[e]!);
    }
    starts[v + 1] = cands.length;
  }
  s.edgeStart = starts;
  s.edgeCand = Int32Array.from(cands);
  s.edgeLoad = loads;
  s.edgeWeight = weights;
}

/**
 * `Voter::into_assignment` for every voter, then `Assignment::try_normalize`: per-thing parts
 * `from_rational(weight, budget)`, zero parts trimmed, empty assignments dropped, parts normalised
 * to one.
 */
export function intoAssignments(s: ElectionState, P: PerThingType): Assignment[] {
  const out: Assignment[] = [];
  for (let v = 0; v < s.voterIds.length; v++) {
    const distribution: Array<[string, bigint]> = [];
    for (let e = s.edgeStart[v]!; e < s.edgeStart[v + 1]!; e++) {
      const parts = from_rational(P, s.edgeWeight[e]!, s.budget[v]!);
      if (parts !== 0n) distribution.push([s.candidateIds[s.edgeCand[e]!]!, parts]);
    }
    if (distribution.length === 0) continue;
    out.push(try_normalize_assignment({ who: s.voterIds[v]!, distribution }, P));
  }
  return out;
}

/** `Assignment::try_normalize`: parts normalised (in `UpperOf<P>`) to sum to one. */
export function try_normalize_assignment(a: Assignment, P: PerThingType): Assignment {
  let sum = 0n;
  for (const [, p] of a.distribution) sum += p;
  if (sum === P.accuracy) return a;
  const normalized = normalize(a.distribution.map(([, p]) => p), P.accuracy, P.upperMax);
  return {
    who: a.who,
    distribution: a.distribution.map(([t], k) => [t, normalized[k]! > P.accuracy ? P.accuracy : normalized[k]!]),
  };
}
