// The ceremony engine's state machine (after drand's internal/dkg state_machine.go): one enum of
// states, one table of allowed moves, one transition function that checks the move, then the deadline.
// A protocol's own progress is its phase name inside RUNNING; the engine's states are the same for
// genesis, hand-off and refresh.

export const EngineStates = {
  /** Phases are running; the record names the current phase and its deadline. */
  Running: 'RUNNING',
  /** The protocol finished; its result is persisted. */
  Complete: 'COMPLETE',
  /** A deadline passed, a culprit was blamed with evidence, or an operator aborted. */
  Aborted: 'ABORTED',
} as const;
export type EngineState = (typeof EngineStates)[keyof typeof EngineStates];

const ALLOWED: Record<EngineState, EngineState[]> = {
  RUNNING: ['RUNNING', 'COMPLETE', 'ABORTED'],
  COMPLETE: [],
  ABORTED: [],
};

/** Named errors, as values an operator can read (drand's ErrTimeoutReached and friends). */
export type EngineErrorCode =
  | 'ErrInvalidStateChange'
  | 'ErrTimeoutReached'
  | 'ErrUnknownCeremony'
  | 'ErrCeremonyExists'
  | 'ErrNotAMember'
  | 'ErrNotYet'
  | 'ErrBadMessage'
  | 'ErrBlamed'
  | 'ErrAlreadyVoted'
  | 'ErrAborted';

export class EngineError extends Error {
  override name = 'EngineError';
  constructor(readonly code: EngineErrorCode, message: string) {
    super(`${code}: ${message}`);
  }
}

export function isTerminal(s: EngineState): boolean {
  return ALLOWED[s].length === 0;
}

export function isValidStateChange(from: EngineState, to: EngineState): boolean {
  return ALLOWED[from].includes(to);
}

export interface PhaseClock { status: EngineState; phase: string; phaseDeadlineMs: number; phaseTimeoutMs: number }

/**
 * Moves to (status, phase) with a fresh deadline. Checks the move first, then the deadline: only an
 * abort may happen past it.
 */
export function transition<T extends PhaseClock>(c: T, status: EngineState, phase: string, nowMs: number): T {
  if (!isValidStateChange(c.status, status)) {
    throw new EngineError('ErrInvalidStateChange', `the ceremony cannot move from ${c.status} to ${status}`);
  }
  if (status !== 'ABORTED' && nowMs > c.phaseDeadlineMs) {
    throw new EngineError('ErrTimeoutReached', `the ${c.phase} phase missed its deadline`);
  }
  return { ...c, status, phase, phaseDeadlineMs: nowMs + c.phaseTimeoutMs };
}

export function deadlinePassed(c: PhaseClock, nowMs: number): boolean {
  return !isTerminal(c.status) && nowMs > c.phaseDeadlineMs;
}
