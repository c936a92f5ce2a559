// Boundary validation, canonical order and the committee roster.
import { U64_MAX } from '../../src/election/arithmetic.js';
import { electCommittee } from '../../src/election/committee.js';
import { compareIds } from '../../src/election/ids.js';
import { runElection } from '../../src/election/run.js';
import { canonicalize, ElectionInputError, validateElectionInput } from '../../src/election/validate.js';
import { inputOf, readJson } from './load.js';

const ok = { seats: 1, candidates: ['a', 'b'], voters: [['x', '10', ['a', 'b']]] };

function code(json: unknown): string | undefined {
  try { validateElectionInput(json); return undefined; } catch (err) {
    expect(err).toBeInstanceOf(ElectionInputError);
    return (err as ElectionInputError).code;
  }
}

describe('validateElectionInput', () => {
  test('accepts the fixtures and keeps their order and id kind', () => {
    const json = readJson('small_50c_500v_16s.input.json');
    const input = validateElectionInput(json);
    expect(input).toEqual(inputOf(json));
    expect(input.idKind).toBe('number');
    expect(validateElectionInput(ok).idKind).toBe('string');
  });
  test('stakes: u64 bounds inclusive, beyond refused', () => {
    expect(validateElectionInput({ ...ok, voters: [['x', U64_MAX.toString(), ['a']]] }).voters[0]!.stake).toBe(U64_MAX);
    expect(validateElectionInput({ ...ok, voters: [['x', '0', ['a']]] }).voters[0]!.stake).toBe(0n);
    expect(code({ ...ok, voters: [['x', (U64_MAX + 1n).toString(), ['a']]] })).toBe('STAKE_OUT_OF_RANGE');
    expect(code({ ...ok, voters: [['x', '-1', ['a']]] })).toBe('STAKE_OUT_OF_RANGE');
    expect(code({ ...ok, voters: [['x', '1e9', ['a']]] })).toBe('MALFORMED');
    expect(code({ ...ok, voters: [['x', 1.5, ['a']]] })).toBe('MALFORMED');
  });
  test('ids: duplicates, unknown targets, repeated targets, mixed kinds', () => {
    expect(code({ ...ok, candidates: ['a', 'a'] })).toBe('DUPLICATE_CANDIDATE');
    expect(code({ ...ok, voters: [['x', '1', ['a']], ['x', '2', ['b']]] })).toBe('DUPLICATE_VOTER');
    expect(code({ ...ok, voters: [['x', '1', ['a', 'a']]] })).toBe('DUPLICATE_TARGET');
    expect(code({ ...ok, voters: [['x', '1', ['zz']]] })).toBe('UNKNOWN_TARGET');
    expect(code({ ...ok, candidates: ['a', 2] })).toBe('MALFORMED');
    expect(code({ ...ok, candidates: ['', 'b'] })).toBe('MALFORMED');
    expect(code({ ...ok, candidates: [-1, 2] })).toBe('MALFORMED');
  });
  test('empty snapshot, seats out of range, malformed shapes', () => {
    expect(code({ ...ok, candidates: [] })).toBe('EMPTY_SNAPSHOT');
    expect(code({ ...ok, voters: [] })).toBe('EMPTY_SNAPSHOT');
    expect(code({ ...ok, seats: 0 })).toBe('SEATS_OUT_OF_RANGE');
    expect(code({ ...ok, seats: 3 })).toBe('SEATS_OUT_OF_RANGE');
    expect(code({ ...ok, seats: 1.5 })).toBe('SEATS_OUT_OF_RANGE');
    expect(code({ ...ok, seats: '1' })).toBe('SEATS_OUT_OF_RANGE');
    expect(code(null)).toBe('MALFORMED');
    expect(code([])).toBe('MALFORMED');
    expect(code({ ...ok, voters: [['x', '1']] })).toBe('MALFORMED');
    expect(code({ ...ok, voters: [['x', '1', 'a']] })).toBe('MALFORMED');
  });
});

describe('canonical order', () => {
  test('compareIds: decimal ids by value first, then others by code unit; a total order', () => {
    const ids = ['b', '10', '2', 'a1', '1a', '0', '09', 'ff', '100'];
    expect(ids.slice().sort(compareIds)).toEqual(['0', '2', '10', '100', '09', '1a', 'a1', 'b', 'ff']);
    for (const a of ids) for (const b of ids) for (const c of ids) {
      if (compareIds(a, b) < 0 && compareIds(b, c) < 0) expect(compareIds(a, c)).toBeLessThan(0);
    }
  });
  test('the same snapshot in any order gives the same election', () => {
    const input = inputOf(readJson('small_selfvote_50c_500v_16s.input.json'));
    const shuffled = { ...input, candidates: input.candidates.slice().reverse(), voters: input.voters.slice().reverse() };
    const a = runElection(canonicalize(input), { algorithm: 'seq-phragmen' });
    const b = runElection(canonicalize(shuffled), { algorithm: 'seq-phragmen' });
    expect(b).toEqual(a);
    // Without canonicalisation the input order is the tie-break and walk order, as upstream.
    const ring = inputOf(readJson('ring_ties_12c_4s.input.json'));
    const reversed = { ...ring, candidates: ring.candidates.slice().reverse() };
    expect(runElection(reversed, { algorithm: 'seq-phragmen' }).winners[0]!.id).toBe('12');
    expect(runElection(canonicalize(reversed), { algorithm: 'seq-phragmen' }).winners[0]!.id).toBe('1');
  });
});

describe('electCommittee', () => {
  test('drops zero-backed winners and says why the roster is short', () => {
    const c = electCommittee({
      candidates: ['c', 'a', 'b', 'd'],
      voters: [{ id: 'x', stake: 10n, targets: ['a'] }, { id: 'y', stake: 20n, targets: ['b'] }, { id: 'z', stake: 0n, targets: ['d'] }],
    }, 4);
    expect(c.members).toEqual([{ id: 'b', backedStake: 20n }, { id: 'a', backedStake: 10n }]);
    expect(c.dropped).toEqual(['c', 'd']);
    expect(c.reason).toBe('fewer-backed-candidates-than-seats');
  });
  test('a full committee has no reason and matches the election winners', () => {
    const input = inputOf(readJson('small_50c_500v_16s.input.json'));
    const c = electCommittee(input, 16);
    expect(c.reason).toBeUndefined();
    expect(c.dropped).toEqual([]);
    const ref = readJson('small_50c_500v_16s.expected.json').results.seq_phragmen.reference;
    // The fixture is already in canonical order, so the committee is the reference's winners.
    expect(c.members.map((m) => [Number(m.id), m.backedStake.toString()])).toEqual(ref.winners);
  });
  test('refuses a non-positive seat count', () => {
    expect(() => electCommittee({ candidates: ['a'], voters: [] }, 0)).toThrow(RangeError);
  });
});

test('runElection refuses stakes outside u64 and bad seat counts', () => {
  const base = { seats: 1, candidates: ['a'], voters: [{ id: 'x', stake: 5n, targets: ['a'] }] };
  expect(runElection(base, { algorithm: 'seq-phragmen' }).winners).toHaveLength(1);
  expect(() => runElection({ ...base, voters: [{ id: 'x', stake: U64_MAX + 1n, targets: ['a'] }] }, { algorithm: 'seq-phragmen' })).toThrow(/outside u64/);
  expect(() => runElection({ ...base, voters: [{ id: 'x', stake: -1n, targets: ['a'] }] }, { algorithm: 'phragmms' })).toThrow(/outside u64/);
  expect(() => runElection({ ...base, seats: 1.5 }, { algorithm: 'seq-phragmen' })).toThrow(/seats/);
  expect(() => runElection(base, { algorithm: 'borda' as never })).toThrow(/unknown election algorithm/);
});
