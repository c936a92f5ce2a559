// Stake-weighted committee election with Substrate's sp-npos-elections semantics (DESIGN §3 step 2).
export * from './types.js';
export * from './arithmetic.js';
export { compareIds } from './ids.js';
export { setup_inputs, type ElectionState } from './state.js';
export { seq_phragmen, seq_phragmen_core_incremental, seq_phragmen_core_straightforward } from './phragmen.js';
export { phragmms, calculate_max_score, apply_elected } from './phragmms.js';
export { balance, balance_voter } from './balancing.js';
export * from './assignments.js';
export { evaluate_support, compareScores, is_better, strict_threshold_better } from './score.js';
export { runElection, edgesJson, edgesSha256, assignmentsJson, assignmentsSha256 } from './run.js';
export { validateElectionInput, canonicalize, parseStake, ElectionInputError, MAX_SEATS, type ElectionInputErrorCode } from './validate.js';
export { electCommittee, type Committee, type CommitteeMember } from './committee.js';
