import { CeremonyError, deadlinePassed, isValidStateChange, nextStepFor, transition, type CeremonyState } from '../../src/committee/genesis-state.js';

const at = (state: CeremonyState, deadline = 1000) => ({ state, phaseDeadlineMs: deadline, phaseTimeoutMs: 500 });

describe('genesis ceremony state machine', () => {
  test('the happy path moves forward and restarts the phase deadline', () => {
    let c = at('ROUND1');
    c = transition(c, 'ROUND2', 900);
    expect(c).toEqual({ state: 'ROUND2', phaseDeadlineMs: 1400, phaseTimeoutMs: 500 });
    c = transition(c, 'KEYED', 1000);
    c = transition(c, 'CONFIRMED', 1200);
    c = transition(c, 'COMPLETE', 1300);
    expect(c.state).toBe('COMPLETE');
  });

  test('skipping a phase, going back, or leaving a terminal state is refused', () => {
    for (const [from, to] of [['ROUND1', 'KEYED'], ['KEYED', 'COMPLETE'], ['ROUND2', 'ROUND1'], ['COMPLETE', 'ABORTED'], ['ABORTED', 'ROUND1'], ['OBSERVING', 'KEYED']] as const) {
      expect(isValidStateChange(from, to)).toBe(false);
      expect(() => transition(at(from), to, 0)).toThrow(expect.objectContaining({ code: 'ErrInvalidStateChange' }));
    }
  });

  test('a move after the deadline is refused, but aborting is always allowed', () => {
    expect(() => transition(at('ROUND1'), 'ROUND2', 1001)).toThrow(CeremonyError);
    expect(() => transition(at('ROUND1'), 'ROUND2', 1001)).toThrow(/missed its deadline/);
    expect(transition(at('ROUND1'), 'ABORTED', 5000).state).toBe('ABORTED');
    // A certificate completes an ACTIVATING round whenever it arrives; nothing else moves past the deadline.
    expect(transition(at('ACTIVATING'), 'COMPLETE', 5000).state).toBe('COMPLETE');
    expect(() => transition(at('HANDOFF'), 'ACTIVATING', 5000)).toThrow(/missed its deadline/);
    expect(deadlinePassed(at('ROUND2'), 1001)).toBe(true);
    expect(deadlinePassed(at('ROUND2'), 1000)).toBe(false);
    expect(deadlinePassed(at('COMPLETE'), 99999)).toBe(false);
  });

  test('status tells the operator the next step in words', () => {
    expect(nextStepFor('ABORTED', false)).toMatch(/higher epoch/);
    expect(nextStepFor('COMPLETE', true)).toMatch(/committee member/);
    expect(nextStepFor(undefined, false)).toMatch(/snapshot/);
  });
});
