// The incremental loop must give exactly the straightforward loop's output (winners, backed stakes,
// rounds, every internal edge weight, every assignment) on seeded random instances built to hit
// the hard cases: exact ties, near-ties that binary64 cannot separate (stakes near u64::MAX that
// differ by one), repeated targets, self votes, votes for non-candidates, zero stakes, candidates
// nobody backs and more seats than backed candidates.
import fc from 'fast-check';
import { Perbill, U64_MAX } from '../../src/election/arithmetic.js';
import { seq_phragmen, type PhragmenOutcome } from '../../src/election/phragmen.js';
import { setup_inputs } from '../../src/election/state.js';
import { randomInstance } from '../../bench/election/generate.js';
import type { BalancingConfig, ElectionSnapshot } from '../../src/election/types.js';

function fingerprint(o: PhragmenOutcome): string {
  const s = o.state;
  return JSON.stringify({
    winners: o.winners.map((w) => [s.candidateIds[w.index], w.backedStake.toString(), w.round]),
    edges: Array.from(s.edgeCand, (c, e) => [c, s.edgeWeight[e]!.toString()]),
    starts: Array.from(s.edgeStart),
    assignments: o.assignments.map((a) => [a.who, a.distribution.map(([t, p]) => [t, p.toString()])]),
  });
}

const stake = fc.oneof(
  fc.constantFrom(0n, 1n, 2n, 10n, 1000n),              // small and equal: exact ties
  fc.bigInt({ min: U64_MAX - 8n, max: U64_MAX }),       // near u64::MAX: binary64 cannot tell them apart
  fc.bigInt({ min: 10n ** 10n, max: 10n ** 15n }),      // realistic
  fc.bigInt({ min: 0n, max: U64_MAX }),
);

function instance(maxCandidates: number, maxVoters: number, maxVotes: number, size: fc.SizeForArbitrary = 'small') {
  return fc.record({
    nc: fc.integer({ min: 1, max: maxCandidates }),
    seats: fc.integer({ min: 1, max: maxCandidates + 2 }),
    voters: fc.array(
      fc.record({
        // Ids 1..maxCandidates double as candidate ids: self votes happen.
        id: fc.integer({ min: 1, max: maxCandidates * 3 }),
        stake,
        // Targets may repeat and may name non-candidates (ids above nc).
        targets: fc.array(fc.integer({ min: 1, max: maxCandidates + 2 }), { maxLength: maxVotes, size }),
      }),
      { maxLength: maxVoters, size },
    ),
    selfVotes: fc.boolean(),
  }).map(({ nc, seats, voters, selfVotes }): { snapshot: ElectionSnapshot; seats: number } => {
    const candidates = Array.from({ length: nc }, (_, i) => String(i + 1));
    const vs = voters.map((v) => ({ id: String(v.id), stake: v.stake, targets: v.targets.map(String) }));
    if (selfVotes) for (const c of candidates) vs.push({ id: c, stake: vs[0]?.stake ?? 1n, targets: [c] });
    return { snapshot: { candidates, voters: vs }, seats };
  });
}

function agree(snapshot: ElectionSnapshot, seats: number, balancing?: BalancingConfig): void {
  const a = seq_phragmen(seats, snapshot, Perbill, balancing, 'incremental');
  const b = seq_phragmen(seats, snapshot, Perbill, balancing, 'straightforward');
  expect(fingerprint(a)).toBe(fingerprint(b));
}

test('incremental = straightforward on 3000 small instances', () => {
  fc.assert(fc.property(instance(8, 12, 6), ({ snapshot, seats }) => agree(snapshot, seats)), { seed: 42, numRuns: 3000 });
});

test('incremental = straightforward with balancing on 500 small instances', () => {
  fc.assert(fc.property(instance(8, 12, 6), ({ snapshot, seats }) => agree(snapshot, seats, { iterations: 3, tolerance: 0n })),
    { seed: 43, numRuns: 500 });
});

test('incremental = straightforward on 150 medium instances', () => {
  fc.assert(fc.property(instance(40, 150, 16, 'max'), ({ snapshot, seats }) => agree(snapshot, seats)), { seed: 44, numRuns: 150 });
});

test('near-ties at u64::MAX are resolved exactly, not by binary64', () => {
  // Approvals differ by a few units in 2^65: every binary64 estimate coincides.
  const candidates = ['1', '2', '3', '4'];
  const voters = [
    { id: '10', stake: U64_MAX - 1n, targets: ['1', '2'] },
    { id: '11', stake: U64_MAX, targets: ['2', '3'] },
    { id: '12', stake: U64_MAX - 2n, targets: ['3', '4'] },
    { id: '13', stake: U64_MAX, targets: ['4', '1'] },
  ];
  const a = seq_phragmen(3, { candidates, voters }, Perbill, undefined, 'incremental');
  const b = seq_phragmen(3, { candidates, voters }, Perbill, undefined, 'straightforward');
  expect(fingerprint(a)).toBe(fingerprint(b));
  expect(a.winners).toHaveLength(3);
});

test('setup_inputs approvals equal the plain saturating BigInt sums (mixed stake sizes, repeats, unknown targets)', () => {
  fc.assert(fc.property(instance(8, 20, 6), ({ snapshot }) => {
    const s = setup_inputs(snapshot);
    const expected = new Map<string, bigint>(snapshot.candidates.map((c) => [c, 0n]));
    for (const v of snapshot.voters) {
      for (const t of new Set(v.targets)) if (expected.has(t)) expected.set(t, expected.get(t)! + v.stake);
    }
    expect(s.approval).toEqual(snapshot.candidates.map((c) => expected.get(c)));
  }), { seed: 45, numRuns: 500 });
});

test('incremental = straightforward on a seeded 300-candidate, 3000-voter instance with self votes', () => {
  const input = randomInstance({ seed: 7n, candidates: 300, voters: 3000, seats: 40, maxVotes: 16, selfVotes: true });
  agree(input, input.seats);
});
