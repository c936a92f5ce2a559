// Substrate's own unit tests (paritytech/polkadot-sdk sp-npos-elections tests.rs, phragmms.rs,
// helpers.rs and sp-arithmetic lib.rs), as transcribed to data in the shared
// fixtures/election/substrate-vectors.json. Each test carries the upstream test's name. Vectors with
// literal expectations are checked literally; `float_mock` and `run_and_compare` ones have none
// upstream and are checked the way upstream checks them, against the f64 model of mock.rs.
import {
  Perbill, Percent, PerU16, Permill, normalize, from_rational, type PerThingType,
} from '../../src/election/arithmetic.js';
import {
  assignment_ratio_to_staked, into_assignment, into_staked, to_supports, try_normalize_staked,
} from '../../src/election/assignments.js';
import { balance } from '../../src/election/balancing.js';
import { finalizeWeights, seq_phragmen, seq_phragmen_core_incremental, seq_phragmen_core_straightforward } from '../../src/election/phragmen.js';
import { apply_elected, calculate_max_score, phragmms } from '../../src/election/phragmms.js';
import { compareScores, strict_threshold_better } from '../../src/election/score.js';
import { setup_inputs, try_normalize_assignment, try_normalize_elected, type ElectionState } from '../../src/election/state.js';
import type { Assignment, ElectionScore } from '../../src/election/types.js';
import { elect_float } from './float-model.js';
import { readJson, snapshotOf } from './load.js';

const file = readJson('substrate-vectors.json');
const vectors: any[] = file.vectors;
const byKind = (...kinds: string[]) => vectors.filter((v) => kinds.includes(v.kind)).map((v) => [v.name, v] as const);
const PER_THINGS: Record<string, PerThingType> = { Perbill, Permill, Percent, PerU16 };
const LOOPS = ['incremental', 'straightforward'] as const;

const num = (id: string) => Number(id);
const sortRows = <T>(rows: T[]) => rows.map((r) => JSON.stringify(r)).sort();
const assignmentRows = (as: Assignment[]) => as.map((a) => [num(a.who), a.distribution.map(([t, p]) => [num(t), Number(p)])]);
const score = ([a, b, c]: string[]): ElectionScore => ({ minimal_stake: BigInt(a!), sum_stake: BigInt(b!), sum_stake_squared: BigInt(c!) });

function voterEdges(s: ElectionState): Array<[number, string, Array<[number, string]>]> {
  return s.voterIds.map((id, v) => {
    const edges: Array<[number, string]> = [];
    for (let e = s.edgeStart[v]!; e < s.edgeStart[v + 1]!; e++) edges.push([num(s.candidateIds[s.edgeCand[e]!]!), s.edgeWeight[e]!.toString()]);
    return [num(id), s.budget[v]!.toString(), edges];
  });
}
function candidateRows(s: ElectionState) {
  return s.candidateIds.map((id, c) => [num(id), s.elected[c] === 1, s.round[c], s.backed[c]!.toString()]);
}

test('the vectors file is the one the README describes', () => {
  expect(file.sources.repository).toBe('paritytech/polkadot-sdk');
  expect(vectors).toHaveLength(35);
});

describe('setup_inputs', () => {
  test.each(byKind('setup_inputs'))('%s', (_name, v) => {
    const s = setup_inputs(snapshotOf(v.candidates, v.voters));
    expect(s.voterIds).toEqual(v.expected.voters_after_setup.map(String));
    expect(candidateRows(s)).toEqual(v.expected.candidates);
  });
});

describe('seq_phragmen_core (tests.rs)', () => {
  for (const loop of LOOPS) {
    test.each(byKind('seq_phragmen_core', 'seq_phragmen_core+balance'))(`%s (${loop} loop)`, (_name, v) => {
      const s = setup_inputs(snapshotOf(v.candidates, v.voters));
      (loop === 'incremental' ? seq_phragmen_core_incremental : seq_phragmen_core_straightforward)(s, v.to_elect);
      finalizeWeights(s);
      if (v.balancing) {
        const iters = balance(s, { iterations: v.balancing.iterations, tolerance: BigInt(v.balancing.tolerance) });
        expect(iters).toBeGreaterThan(v.expected.balance_iterations_gt);
      }
      expect(voterEdges(s)).toEqual(v.expected.voter_edges_ordered);
      expect(candidateRows(s)).toEqual(v.expected.candidates_who_elected_round_backed);
    });
  }
});

describe('Voter::try_normalize / try_normalize_elected (voter_normalize_ops_works)', () => {
  const [, v] = byKind('voter_normalize')[0]!;
  test.each(v.cases.map((c: any) => [c.op, c]) as Array<[string, any]>)('%s', (_op, c) => {
    const s = setup_inputs(snapshotOf([1, 2, 3], [[10, c.budget, [1, 2, 3]]]));
    c.weights.forEach((w: string, i: number) => { s.edgeWeight[i] = BigInt(w); });
    c.elected.forEach((e: boolean, i: number) => { s.elected[i] = c.op === 'try_normalize' || e ? 1 : 0; });
    try_normalize_elected(s, 0);
    expect(s.edgeWeight.map(String)).toEqual(c.expected);
  });
});

describe('seq_phragmen (tests.rs)', () => {
  for (const loop of LOOPS) {
    test.each(byKind('seq_phragmen'))(`%s (${loop} loop)`, (_name, v) => {
      const P = PER_THINGS[v.per_thing]!;
      const bal = v.balancing ? { iterations: v.balancing.iterations, tolerance: BigInt(v.balancing.tolerance) } : undefined;
      const out = seq_phragmen(v.to_elect, snapshotOf(v.candidates, v.voters), P, bal, loop);
      const ids = out.state.candidateIds;
      const winners = out.winners.map((w) => [num(ids[w.index]!), w.backedStake.toString(), w.round]);
      const x = v.expected;
      if (x.winners_unordered) expect(sortRows(winners)).toEqual(sortRows(x.winners_unordered));
      if (x.winners_ordered) expect(winners).toEqual(x.winners_ordered);
      if (x.winner_ids_unordered) expect(winners.map((w) => w[0]).sort()).toEqual([...x.winner_ids_unordered].sort());
      const rows = assignmentRows(out.assignments);
      if (x.assignments_unordered) expect(sortRows(rows)).toEqual(sortRows(x.assignments_unordered));
      if (x.assignments_ordered) expect(rows).toEqual(x.assignments_ordered);
      if (x.assignments_len !== undefined) expect(rows).toHaveLength(x.assignments_len);
      if (x.assignments_sum_to_accuracy) {
        for (const a of out.assignments) expect(a.distribution.reduce((s, [, p]) => s + p, 0n)).toBe(P.accuracy);
      }
      if (x.assignment_targets_ordered) {
        expect(out.assignments.map((a) => [num(a.who), a.distribution.map(([t]) => num(t))])).toEqual(x.assignment_targets_ordered);
      }
      const stakeOf = new Map(v.voters.map((r: any) => [String(r[0]), BigInt(r[1])]));
      const staked = assignment_ratio_to_staked(out.assignments, (w) => stakeOf.get(w) as bigint, P);
      if (x.staked_not_normalized_unordered) {
        expect(sortRows(staked.map((a) => [num(a.who), a.distribution.map(([t, w]) => [num(t), w.toString()])])))
          .toEqual(sortRows(x.staked_not_normalized_unordered));
      }
      const supports = to_supports(staked);
      if (x.supports) {
        expect(Object.fromEntries(supports.map(([t, s]) => [t, { total: s.total.toString(), voters: s.voters.map(([a, w]) => [num(a), w.toString()]) }])))
          .toEqual(x.supports);
      }
      if (x.no_support_for) for (const id of x.no_support_for) expect(supports.find(([t]) => t === String(id))).toBeUndefined();
    });
  }
});

describe('run_and_compare against the f64 model (mock.rs elect_float)', () => {
  const cases = byKind('run_and_compare').flatMap(([name, v]) => v.per_things.map((p: string) => [`${name} ${p}`, v, p] as const));
  test.each(cases)('%s', (_name, v, per) => {
    const P = PER_THINGS[per]!;
    const stakeOf = new Map<number, number>(v.voters.map((r: any) => [r[0], Number(r[1])]));
    const out = seq_phragmen(v.to_elect, snapshotOf(v.candidates, v.voters), P);
    const truth = elect_float(v.to_elect, v.candidates, v.voters.map((r: any) => [r[0], r[2]]), (w) => stakeOf.get(w)!);
    expect(out.winners.map((w) => num(out.state.candidateIds[w.index]!))).toEqual(truth.winners.map(([w]) => w));
    for (const a of out.assignments) {
      const fa = truth.assignments.find(([w]) => w === num(a.who));
      expect(fa).toBeDefined();
      for (const [t, parts] of a.distribution) {
        const ratio = fa![1].find(([c]) => c === num(t));
        expect(ratio).toBeDefined();
        // P::from_float(x) = floor(clamp(x, 0, 1) * ACCURACY); upstream allows an error of one part.
        const fromFloat = BigInt(Math.floor(Math.min(1, Math.max(0, ratio![1])) * Number(P.accuracy)));
        const d = fromFloat - parts;
        expect(d >= -1n && d <= 1n).toBe(true);
      }
      expect(a.distribution.reduce((s, [, p]) => s + p, 0n)).toBe(P.accuracy);
    }
  });
});

describe('float_mock (float_phragmen_poc_works): the f64 model itself', () => {
  test.each(byKind('float_mock'))('%s', (_name, v) => {
    const stakeOf = new Map<number, number>(v.voters.map((r: any) => [r[0], Number(r[1])]));
    const truth = elect_float(v.to_elect, v.candidates, v.voters.map((r: any) => [r[0], r[2]]), (w) => stakeOf.get(w)!);
    expect(sortRows(truth.winners.map(([w, s]) => [w, String(s)]))).toEqual(sortRows(v.expected.winners_unordered));
    expect(sortRows(truth.assignments)).toEqual(sortRows(v.expected.assignments_float_unordered));
    // The exact algorithm elects the same set.
    const out = seq_phragmen(v.to_elect, snapshotOf(v.candidates, v.voters), Perbill);
    expect(out.winners.map((w) => num(out.state.candidateIds[w.index]!)).sort()).toEqual(truth.winners.map(([w]) => w).sort());
  });
});

test.each(byKind('invariant'))('%s', (_name, v) => {
  for (const out of [
    seq_phragmen(v.to_elect, snapshotOf(v.candidates, v.voters), Perbill),
    phragmms(v.to_elect, snapshotOf(v.candidates, v.voters), Perbill),
  ]) {
    expect(out.winners).toHaveLength(v.to_elect);
    out.winners.forEach((w, i) => expect(w.round).toBe(i));
  }
});

describe('assignment conversions (tests.rs, helpers.rs)', () => {
  const cases = byKind('assignment_conversion').flatMap(([name, v]) => v.cases.map((c: any, i: number) => [`${name} #${i} ${c.op}`, c] as const));
  test.each(cases)('%s', (_name, c) => {
    const P = PER_THINGS[c.per_thing ?? 'Perbill']!;
    const rows = (d: Array<[string, bigint]>) => d.map(([t, x]) => [num(t), typeof c.expected[0][1] === 'string' ? x.toString() : Number(x)]);
    let got: Array<[string, bigint]>;
    switch (c.op) {
      case 'staked_into_assignment':
        got = into_assignment({ who: '1', distribution: c.input.map(([t, w]: any) => [String(t), BigInt(w)]) }, P).distribution;
        break;
      case 'assignment_into_staked':
        got = into_staked({ who: '1', distribution: c.input.map(([t, p]: any) => [String(t), BigInt(p)]) }, BigInt(c.stake), P).distribution;
        break;
      case 'assignment_try_normalize':
        got = try_normalize_assignment({ who: '1', distribution: c.input.map(([t, p]: any) => [String(t), BigInt(p)]) }, P).distribution;
        break;
      case 'staked_try_normalize':
        got = try_normalize_staked({ who: '1', distribution: c.input.map(([t, w]: any) => [String(t), BigInt(w)]) }, BigInt(c.stake)).distribution;
        break;
      default:
        throw new Error(`unknown op ${c.op}`);
    }
    expect(rows(got)).toEqual(c.expected);
  });
});

describe('ElectionScore', () => {
  const cases = byKind('score_strict_threshold_better').flatMap(([name, v]) => v.cases.map((c: any, i: number) => [`${name} #${i}`, c] as const));
  test.each(cases)('strict_threshold_better: %s', (_name, c) => {
    expect(strict_threshold_better(score(c.this), score(c.that), BigInt(c.threshold_perbill_parts))).toBe(c.expected);
  });
  const ords = byKind('score_ord').flatMap(([name, v]) => v.cases.map((c: any, i: number) => [`${name} #${i}`, c] as const));
  test.each(ords)('Ord: %s', (_name, c) => {
    const r = compareScores(score(c.a), score(c.b));
    if (c.expected === 'eq') expect(r).toBe(0);
    else if (c.expected === 'ne') expect(r).not.toBe(0);
    else expect(r).toBe(1);
  });
});

describe('phragmms (phragmms.rs)', () => {
  test.each(byKind('phragmms_manual'))('%s', (_name, v) => {
    const P = PER_THINGS[v.per_thing]!;
    const s = setup_inputs(snapshotOf(v.candidates, v.voters));
    const scores = s.candidateIds.map(() => ({ n: 0n, d: 1n }));
    const edgesOf = (who: string) => {
      const vi = s.voterIds.indexOf(who);
      const out: Array<[number, string]> = [];
      for (let e = s.edgeStart[vi]!; e < s.edgeStart[vi + 1]!; e++) out.push([num(s.candidateIds[s.edgeCand[e]!]!), s.edgeWeight[e]!.toString()]);
      return out;
    };
    for (const round of v.expected.rounds) {
      const w = calculate_max_score(s, P, scores);
      expect(num(s.candidateIds[w]!)).toBe(round.winner);
      // Rational128 equality is by value.
      expect(scores[w]!.n).toBe(BigInt(round.score_value) * scores[w]!.d);
      apply_elected(s, w, scores[w]!);
      for (const [who, edges] of Object.entries(round.after_apply_elected)) expect(edgesOf(who)).toEqual(edges);
      s.elected[w] = 1;
      balance(s, { iterations: v.balancing.iterations, tolerance: BigInt(v.balancing.tolerance) });
      if (round.after_balance) for (const [who, edges] of Object.entries(round.after_balance)) expect(edgesOf(who)).toEqual(edges);
    }
  });
  test.each(byKind('phragmms'))('%s', (_name, v) => {
    const P = PER_THINGS[v.per_thing]!;
    const out = phragmms(v.to_elect, snapshotOf(v.candidates, v.voters), P, { iterations: v.balancing.iterations, tolerance: BigInt(v.balancing.tolerance) });
    const ids = out.state.candidateIds;
    const x = v.expected;
    if (x.winners_ordered) expect(out.winners.map((w) => [num(ids[w.index]!), w.backedStake.toString()])).toEqual(x.winners_ordered);
    if (x.winner_ids_ordered) expect(out.winners.map((w) => num(ids[w.index]!))).toEqual(x.winner_ids_ordered);
    if (x.assignments_ordered) expect(assignmentRows(out.assignments)).toEqual(x.assignments_ordered);
  });
});

describe('sp_arithmetic::normalize (lib.rs)', () => {
  const TYPE_MAX: Record<string, bigint> = {
    u8: 0xffn, u16: 0xffffn, u32: 0xffffffffn, u64: 0xffffffffffffffffn, u128: (1n << 128n) - 1n,
    'Perbill(u64 upper)': 0xffffffffffffffffn, 'PerU16(u32 upper)': 0xffffffffn,
  };
  const [, v] = byKind('normalize')[0]!;
  test.each(v.cases.map((c: any, i: number) => [`#${i} ${c.type} [${c.input.length} values] -> ${c.target}`, c]) as Array<[string, any]>)('%s', (_n, c) => {
    const max = TYPE_MAX[c.type];
    expect(max).toBeDefined();
    const run = () => normalize(c.input.map(BigInt), BigInt(c.target), max);
    if (c.expected === 'ok') expect(run().reduce((a, b) => a + b, 0n)).toBe(BigInt(c.target));
    else if (typeof c.expected === 'string') expect(run).toThrow(c.expected.replace(/^error: /, ''));
    else expect(run().map(String)).toEqual(c.expected);
  });
});

test('Perbill::from_rational rounds down and saturates to one', () => {
  expect(from_rational(Perbill, 1n, 3n)).toBe(333_333_333n);
  expect(from_rational(Percent, 989n, 1000n)).toBe(98n);
  expect(from_rational(Perbill, 5n, 4n)).toBe(1_000_000_000n);
  expect(from_rational(Perbill, 0n, 0n)).toBe(1_000_000_000n);
});
