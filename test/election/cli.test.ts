// `gatekeeper election run`, called in-process through the command module's run().
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import command from '../../src/cli/commands/election.js';
import { UsageError } from '../../src/cli/args.js';
import { ELECTION_DIR, readJson } from './load.js';
import { runCommand } from '../helpers/cli.js';

const capture = (argv: string[]) => runCommand(command, argv);

const fixture = (name: string) => path.join(ELECTION_DIR, `${name}.input.json`);
let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gk-election-')); });
afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });
function writeInput(obj: unknown): string {
  const f = path.join(tmp, `in-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(f, typeof obj === 'string' ? obj : JSON.stringify(obj));
  return f;
}

describe.each([
  ['seq_phragmen', []],
  ['seq_phragmen_balance_10_0', ['--balance', '10,0']],
  ['phragmms_balance_2_0', ['--algorithm', 'phragmms', '--balance', '2,0']],
] as Array<[string, string[]]>)('--json on small_selfvote_50c_500v_16s, %s', (config, flags) => {
  test('matches the reference', async () => {
    const { code, out } = await capture(['run', '--input', fixture('small_selfvote_50c_500v_16s'), ...flags, '--json']);
    expect(code).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(1);
    const o = JSON.parse(lines[0]!);
    const ref = readJson('small_selfvote_50c_500v_16s.expected.json').results[config].reference;
    expect(o.winners).toEqual(ref.winners);
    expect(o.score).toEqual(ref.score_from_internal_weights);
    expect(o.edgesSha256).toBe(ref.edges_sha256);
    expect(o.supportsTotals).toEqual(ref.supports_totals);
    expect(typeof o.elapsedMs).toBe('number');
    expect(o.elapsedMs).toBeGreaterThan(0);
  });
});

test('human output names winners and flags zero-backed ones', async () => {
  const f = writeInput({ seats: 3, candidates: ['a', 'b', 'c'], voters: [['x', '10', ['a']], ['y', '10', ['b']]] });
  const { code, out } = await capture(['run', '--input', f]);
  expect(code).toBe(0);
  expect(out).toMatch(/3 of 3 seats/);
  expect(out).toMatch(/c {2}backed 0 {2}\(no backing: not a committee member\)/);
  expect(out).toMatch(/edges sha256: [0-9a-f]{64}/);
});

test('string ids are kept as strings in --json output', async () => {
  const f = writeInput({ seats: 1, candidates: ['aa', 'bb'], voters: [['x', '5', ['bb', 'aa']], ['y', '7', ['bb']]] });
  const o = JSON.parse((await capture(['run', '--input', f, '--json'])).out);
  expect(o.winners).toEqual([['bb', '12']]);
});

describe('invalid input is a usage error (exit 2)', () => {
  test.each([
    ['stake above u64', { seats: 1, candidates: [1], voters: [[2, '18446744073709551616', [1]]] }, /STAKE_OUT_OF_RANGE/],
    ['unknown target', { seats: 1, candidates: [1], voters: [[2, '5', [9]]] }, /UNKNOWN_TARGET/],
    ['duplicate candidate', { seats: 1, candidates: [1, 1], voters: [[2, '5', [1]]] }, /DUPLICATE_CANDIDATE/],
    ['empty snapshot', { seats: 1, candidates: [], voters: [] }, /EMPTY_SNAPSHOT/],
    ['seats out of range', { seats: 5, candidates: [1, 2], voters: [[2, '5', [1]]] }, /SEATS_OUT_OF_RANGE/],
    ['not JSON', '{"seats": ', /not valid JSON/],
  ] as Array<[string, unknown, RegExp]>)('%s', async (_name, body, msg) => {
    const f = writeInput(body);
    await expect(capture(['run', '--input', f, '--json'])).rejects.toThrow(UsageError);
    await expect(capture(['run', '--input', f, '--json'])).rejects.toThrow(msg);
  });
  test('missing file, bad flags', async () => {
    await expect(capture(['run', '--input', path.join(tmp, 'nope.json')])).rejects.toThrow(/cannot read/);
    await expect(capture(['run'])).rejects.toThrow(/--input is required/);
    await expect(capture(['run', '--input', fixture('ring_ties_12c_4s'), '--algorithm', 'dhondt'])).rejects.toThrow(/--algorithm/);
    await expect(capture(['run', '--input', fixture('ring_ties_12c_4s'), '--balance', '10'])).rejects.toThrow(/--balance/);
    await expect(capture(['run', '--input', fixture('ring_ties_12c_4s'), '--frobnicate'])).rejects.toThrow(UsageError);
  });
});
