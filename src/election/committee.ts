// From election winners to a committee roster. Substrate's seq_phragmen has no entry barrier: with
// more seats than backed candidates it still fills the seats with zero-stake candidates, and the
// caller must strip them. This is that caller.
import { runElection } from './run.js';
import type { BalancingConfig, ElectionSnapshot } from './types.js';
import { canonicalize } from './validate.js';

export interface CommitteeMember {
  id: string;
  /** u128 backed stake from the election's internal weights. */
  backedStake: bigint;
}

export interface Committee {
  /** Backed winners in round order (the order of election, most preferred first). */
  members: CommitteeMember[];
  /** Winners elected with zero backing, stripped from the roster, in round order. */
  dropped: string[];
  /**
   * Set when the roster has fewer members than seats: fewer candidates are backed than there are
   * seats. The roster is then only the backed winners; whether that committee is large enough is
   * the caller's decision (the node refuses a roster smaller than its configured minimum).
   */
  reason?: 'fewer-backed-candidates-than-seats';
}

/**
 * Elects a committee of up to `seats` from `snapshot` with sequential Phragmén (Substrate's
 * semantics) over the canonical order (`canonicalize`), optionally balanced.
 */
export function electCommittee(snapshot: ElectionSnapshot, seats: number, balance?: BalancingConfig): Committee {
  if (!Number.isInteger(seats) || seats < 1) throw new RangeError(`seats must be a positive integer, got ${seats}`);
  const input = { ...canonicalize(snapshot), seats };
  const result = runElection(input, { algorithm: 'seq-phragmen', ...(balance ? { balance } : {}) });
  const members: CommitteeMember[] = [];
  const dropped: string[] = [];
  for (const w of result.winners) {
    if (w.backedStake > 0n) members.push({ id: w.id, backedStake: w.backedStake });
    else dropped.push(w.id);
  }
  return members.length < seats ? { members, dropped, reason: 'fewer-backed-candidates-than-seats' } : { members, dropped };
}
