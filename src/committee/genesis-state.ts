// The genesis ceremony as an explicit state machine (after drand's dkg state machine): one record per
// epoch, persisted before any message that depends on it is sent, so a restarted node resumes where it
// was. Every transition checks that the move is allowed, then the phase deadline.

export const CeremonyStates = {
  /** Elected: own round-1 broadcast persisted; collecting the other members' round-1 packages. */
  Round1: 'ROUND1',
  /** All round-1 packages verified; own round-2 shares sealed and persisted; collecting ours. */
  Round2: 'ROUND2',
  /**
   * Both key shares computed and persisted with this member's signed confirmation of the roster it
   * computed; collecting every other member's outcome (a confirmation, or a complaint that aborts).
   */
  Keyed: 'KEYED',
  /** Every listed member confirmed the same roster: the roster certificate may be signed. */
  Confirmed: 'CONFIRMED',
  /** Not elected: waiting for the elected committee's roster certificate. */
  Observing: 'OBSERVING',
  /** Election round / refresh (src/node/committee-rounds.ts): the engine runs the hand-off protocol. */
  Handoff: 'HANDOFF',
  /** Hand-off complete (new shares stored): the outgoing committee signs the new roster certificate. */
  Activating: 'ACTIVATING',
  /** Roster certificate verified and persisted: the committee is active. */
  Complete: 'COMPLETE',
  /** A phase deadline passed or an operator aborted; the epoch's ceremony is over. */
  Aborted: 'ABORTED',
} as const;

export type CeremonyState = (typeof CeremonyStates)[keyof typeof CeremonyStates];

const ALLOWED: Record<CeremonyState, CeremonyState[]> = {
  ROUND1: ['ROUND2', 'ABORTED'],
  ROUND2: ['KEYED', 'ABORTED'],
  KEYED: ['CONFIRMED', 'ABORTED'],
  CONFIRMED: ['COMPLETE', 'ABORTED'],
  OBSERVING: ['COMPLETE', 'ABORTED'],
  HANDOFF: ['ACTIVATING', 'ABORTED'],
  ACTIVATING: ['COMPLETE', 'ABORTED'],
  COMPLETE: [],
  ABORTED: [],
};

export function isTerminal(s: CeremonyState): boolean {
  return ALLOWED[s].length === 0;
}

export class CeremonyError extends Error {
  override name = 'CeremonyError';
  constructor(readonly code: CeremonyErrorCode, message: string) {
    super(message);
  }
}

export type CeremonyErrorCode =
  | 'ErrInvalidStateChange'
  | 'ErrTimeoutReached'
  | 'ErrAlreadyVoted'
  | 'ErrEpochNotNext'
  | 'ErrCommitteeActive'
  | 'ErrNotInCeremony'
  | 'ErrDealerDisqualified'
  | 'ErrFalseComplaint'
  | 'ErrRosterMismatch';

export interface CeremonyClock {
  state: CeremonyState;
  phaseDeadlineMs: number;
  phaseTimeoutMs: number;
}

export function isValidStateChange(from: CeremonyState, to: CeremonyState): boolean {
  return ALLOWED[from].includes(to);
}

/** Moves to `to`, starting a fresh phase deadline; aborting is allowed past the deadline. */
export function transition<T extends CeremonyClock>(c: T, to: CeremonyState, nowMs: number): T {
  if (!isValidStateChange(c.state, to)) {
    throw new CeremonyError('ErrInvalidStateChange', `the ceremony cannot move from ${c.state} to ${to}`);
  }
  // A certified roster completes an ACTIVATING round whenever it arrives: the certificate proves itself,
  // and a member that gave up on it would be a member of the new roster without its shares.
  const certified = c.state === 'ACTIVATING' && to === 'COMPLETE';
  if (to !== 'ABORTED' && !certified && nowMs > c.phaseDeadlineMs) {
    throw new CeremonyError('ErrTimeoutReached', `the ${c.state} phase missed its deadline`);
  }
  return { ...c, state: to, phaseDeadlineMs: nowMs + c.phaseTimeoutMs };
}

/** True when the current phase is past its deadline and the ceremony must abort. */
export function deadlinePassed(c: CeremonyClock, nowMs: number): boolean {
  return !isTerminal(c.state) && nowMs > c.phaseDeadlineMs;
}

/** What an operator should do next, in words, for `gatekeeper status`. */
export function nextStepFor(state: CeremonyState | undefined, member: boolean): string {
  switch (state) {
    case undefined: return 'wait for the governance-signed genesis snapshot (OperatorService.SubmitGenesis; `npm start` does it for a local devnet)';
    case 'ROUND1': return 'wait: exchanging DKG round-1 packages with the other members';
    case 'ROUND2': return 'wait: exchanging sealed DKG shares with the other members';
    case 'KEYED': return 'wait: collecting every member\'s confirmation of its key package';
    case 'CONFIRMED': return 'wait: the committee is signing its roster certificate';
    case 'HANDOFF': return 'wait: the committee is handing its shares to the next roster (ceremony handoff-<epoch>)';
    case 'ACTIVATING': return 'wait: the outgoing committee is signing the new roster certificate (past its deadline the node keeps its new shares and keeps asking; `gatekeeper ceremony abort` gives them up)';
    case 'OBSERVING': return 'wait: this node was not elected; it is waiting for the committee certificate';
    case 'COMPLETE': return member ? 'none: this node serves as a committee member' : 'none: this node follows the committee (not a member)';
    case 'ABORTED': return 'the ceremony aborted: read the error, then submit a new snapshot with a higher epoch';
  }
}
