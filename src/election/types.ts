// Plain data shapes of an election: what goes in (a snapshot) and what comes out. Ids are strings
// (hex node ids in the node); stakes are bigint u64 in, u128 (`ExtendedBalance`) inside.

export interface ElectionVoter {
  id: string;
  /** u64 (`VoteWeight`). */
  stake: bigint;
  /** Targets in vote order. Upstream skips repeats and votes for non-candidates. */
  targets: string[];
}

export interface ElectionSnapshot {
  /** Candidate order is the tie-break order. */
  candidates: string[];
  /** Voter order is the order normalisation and balancing walk. */
  voters: ElectionVoter[];
}

export interface ElectionInput extends ElectionSnapshot {
  seats: number;
  /**
   * How the ids were spelled in the JSON the input came from; only `edges_sha256` and JSON output
   * care (the fixtures use JSON numbers). Defaults to 'string'.
   */
  idKind?: 'string' | 'number';
}

/** sp-npos-elections `BalancingConfig`. */
export interface BalancingConfig {
  iterations: number;
  tolerance: bigint;
}

export type Algorithm = 'seq-phragmen' | 'phragmms';
export type LoopKind = 'incremental' | 'straightforward';

export interface RunOptions {
  algorithm: Algorithm;
  balance?: BalancingConfig;
  /** seq-phragmen only; both give identical output. Default 'incremental'. */
  loop?: LoopKind;
}

/** `ElectionScore`: minimal_stake, sum_stake (maximised), sum_stake_squared (minimised). */
export interface ElectionScore {
  minimal_stake: bigint;
  sum_stake: bigint;
  sum_stake_squared: bigint;
}

export interface Winner {
  id: string;
  /** u128 sum of the winner's internal edge weights. */
  backedStake: bigint;
  round: number;
}

/** One voter's internal (u128) edge weights to winners, in vote order, zero edges dropped. */
export interface VoterEdges {
  voter: string;
  edges: Array<{ target: string; weight: bigint }>;
}

/** `Assignment<AccountId, P>`: per-thing parts per target. */
export interface Assignment {
  who: string;
  distribution: Array<[target: string, parts: bigint]>;
}

/** `StakedAssignment<AccountId>`. */
export interface StakedAssignment {
  who: string;
  distribution: Array<[target: string, stake: bigint]>;
}

/** `Support<AccountId>` of one target. */
export interface Support {
  total: bigint;
  voters: Array<[voter: string, stake: bigint]>;
}

export interface ElectionResult {
  /** In round order. */
  winners: Winner[];
  /** Internal weights; the data behind `edges_sha256`. */
  edges: VoterEdges[];
  /** Staking view: Perbill assignments, normalised to one. */
  assignments: Assignment[];
  /** Staking view: assignments back to stake, summed per target, targets in id order. */
  supports: Array<[target: string, support: Support]>;
  /** `evaluate_support` over the winners' backed stakes. */
  scoreFromInternalWeights: ElectionScore;
  /** `evaluate_support` over `supports`. */
  score: ElectionScore;
}
