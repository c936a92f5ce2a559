// Every generated fixture, every configuration: the exact-integer reference must be reproduced
// bit for bit (winners, edges and their SHA-256, assignments and their SHA-256, supports, scores),
// by both seq-Phragmén loops.
import { runElection, edgesJson, edgesSha256, assignmentsJson, assignmentsSha256 } from '../../src/election/run.js';
import type { RunOptions } from '../../src/election/types.js';
import { fixtureNames, inputOf, readJson } from './load.js';

const CONFIGS: Array<[string, RunOptions[]]> = [
  ['seq_phragmen', [{ algorithm: 'seq-phragmen', loop: 'incremental' }, { algorithm: 'seq-phragmen', loop: 'straightforward' }]],
  ['seq_phragmen_balance_10_0', [
    { algorithm: 'seq-phragmen', balance: { iterations: 10, tolerance: 0n }, loop: 'incremental' },
    { algorithm: 'seq-phragmen', balance: { iterations: 10, tolerance: 0n }, loop: 'straightforward' },
  ]],
  ['phragmms_balance_2_0', [{ algorithm: 'phragmms', balance: { iterations: 2, tolerance: 0n } }]],
];

const scoreStrings = (s: { minimal_stake: bigint; sum_stake: bigint; sum_stake_squared: bigint }) =>
  [s.minimal_stake, s.sum_stake, s.sum_stake_squared].map(String);

const names = fixtureNames();

test('the fixture folder holds the expected instances', () => {
  expect(names).toEqual(expect.arrayContaining(['ring_ties_12c_4s', 'small_50c_500v_16s']));
});

describe.each(names)('%s', (name) => {
  const input = inputOf(readJson(`${name}.input.json`));
  const expected = readJson(`${name}.expected.json`);
  for (const [config, variants] of CONFIGS) {
    for (const opts of variants) {
      test(`${config} (${opts.loop ?? 'phragmms'})`, () => {
        const ref = expected.results[config].reference;
        const r = runElection(input, opts);
        expect(r.winners.map((w) => [Number(w.id), w.backedStake.toString()])).toEqual(ref.winners);
        expect(JSON.parse(edgesJson(r, 'number'))).toEqual(ref.edges);
        expect(edgesSha256(r, 'number')).toBe(ref.edges_sha256);
        expect(JSON.parse(assignmentsJson(r, 'number'))).toEqual(ref.assignments_perbill);
        expect(assignmentsSha256(r, 'number')).toBe(ref.assignments_sha256);
        expect(scoreStrings(r.scoreFromInternalWeights)).toEqual(ref.score_from_internal_weights);
        expect(scoreStrings(r.score)).toEqual(ref.score);
        expect(r.supports.map(([t, s]) => [Number(t), s.total.toString()])).toEqual(ref.supports_totals);
        expect(r.supports.map(([t, s]) => [Number(t), { total: s.total.toString(), voters: s.voters.map(([v, w]) => [Number(v), w.toString()]) }]))
          .toEqual(ref.supports);
      });
    }
  }
});
