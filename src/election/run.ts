// One entry point for the node and the CLI: run seq-Phragmén or PhragMMS over an input and return
// both views of the outcome, the internal u128 weights and the staking view (Perbill assignments
// converted back to stake), with their scores. The per-thing type is Perbill, as in staking.
import { createHash } from 'node:crypto';
import { Perbill, U64_MAX } from './arithmetic.js';
import { assignment_ratio_to_staked_normalized, to_supports } from './assignments.js';
import { seq_phragmen, type PhragmenOutcome } from './phragmen.js';
import { phragmms } from './phragmms.js';
import { evaluate_support } from './score.js';
import type { ElectionInput, ElectionResult, RunOptions, VoterEdges } from './types.js';

/**
 * Runs the election `opts.algorithm` over `input` (taken in its given order; see `canonicalize`).
 * The algorithms keep upstream's leniency (unknown and repeated targets are ignored); untrusted JSON
 * goes through `validateElectionInput` first. This only refuses what would break the arithmetic's
 * premises: stakes outside u64 and a seat count that is not a non-negative safe integer.
 */
export function runElection(input: ElectionInput, opts: RunOptions): ElectionResult {
  if (!Number.isSafeInteger(input.seats) || input.seats < 0) throw new RangeError(`seats must be a non-negative integer, got ${input.seats}`);
  for (const v of input.voters) {
    if (typeof v.stake !== 'bigint' || v.stake < 0n || v.stake > U64_MAX) throw new RangeError(`stake of voter ${v.id} is outside u64`);
  }
  const P = Perbill;
  let outcome: PhragmenOutcome;
  if (opts.algorithm === 'seq-phragmen') {
    outcome = seq_phragmen(input.seats, input, P, opts.balance, opts.loop ?? 'incremental');
  } else if (opts.algorithm === 'phragmms') {
    outcome = phragmms(input.seats, input, P, opts.balance);
  } else {
    throw new RangeError(`unknown election algorithm: ${String(opts.algorithm)}`);
  }
  const s = outcome.state;
  const winners = outcome.winners.map((w) => ({ id: s.candidateIds[w.index]!, backedStake: w.backedStake, round: w.round }));

  const edges: VoterEdges[] = [];
  for (let v = 0; v < s.voterIds.length; v++) {
    const row: VoterEdges['edges'] = [];
    for (let e = s.edgeStart[v]!; e < s.edgeStart[v + 1]!; e++) {
      if (s.edgeWeight[e]! > 0n) row.push({ target: s.candidateIds[s.edgeCand[e]!]!, weight: s.edgeWeight[e]! });
    }
    if (row.length > 0) edges.push({ voter: s.voterIds[v]!, edges: row });
  }

  const budgets = new Map<string, bigint>();
  s.voterIds.forEach((id, v) => budgets.set(id, s.budget[v]!));
  const staked = assignment_ratio_to_staked_normalized(outcome.assignments, (who) => budgets.get(who)!, P);
  const supports = to_supports(staked);

  return {
    winners,
    edges,
    assignments: outcome.assignments,
    supports,
    scoreFromInternalWeights: evaluate_support(winners.map((w) => w.backedStake)),
    score: evaluate_support(supports.map(([, sup]) => sup.total)),
  };
}

function renderId(id: string, kind: 'string' | 'number'): string | number {
  return kind === 'number' ? Number(id) : id;
}

/**
 * The fixtures' `edges` value: `[[voter, [[target, "weight"], ...]], ...]` with ids spelled as in
 * the input JSON; `edges_sha256` is SHA-256 of its `JSON.stringify` (no spaces).
 */
export function edgesJson(result: ElectionResult, idKind: 'string' | 'number' = 'string'): string {
  return JSON.stringify(result.edges.map((r) => [
    renderId(r.voter, idKind),
    r.edges.map((e) => [renderId(e.target, idKind), e.weight.toString()]),
  ]));
}

export function edgesSha256(result: ElectionResult, idKind: 'string' | 'number' = 'string'): string {
  return createHash('sha256').update(edgesJson(result, idKind)).digest('hex');
}

/** The fixtures' `assignments_perbill` (parts as JSON numbers) and its SHA-256. */
export function assignmentsJson(result: ElectionResult, idKind: 'string' | 'number' = 'string'): string {
  return JSON.stringify(result.assignments.map((a) => [
    renderId(a.who, idKind),
    a.distribution.map(([t, p]) => [renderId(t, idKind), Number(p)]),
  ]));
}

export function assignmentsSha256(result: ElectionResult, idKind: 'string' | 'number' = 'string'): string {
  return createHash('sha256').update(assignmentsJson(result, idKind)).digest('hex');
}
