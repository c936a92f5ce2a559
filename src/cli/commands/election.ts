// `gatekeeper election run --input FILE [--algorithm seq-phragmen|phragmms]
//  [--balance ITERATIONS,TOLERANCE] [--json]`: runs the committee election over a snapshot in the
// fixtures' input format and prints the winners, score and edge hash (`edges_sha256`).
// `gatekeeper election submit ...`: an election round on the committee (election-submit.ts).
import fs from 'node:fs';
import type { Command } from '../main.js';
import { parseCommandArgs, requireOption, UsageError } from '../args.js';
import { ElectionInputError, validateElectionInput } from '../../election/validate.js';
import { edgesSha256, runElection } from '../../election/run.js';
import type { Algorithm, BalancingConfig } from '../../election/types.js';
import { runElectionSubmit } from './election-submit.js';

const USAGE = 'usage: gatekeeper election run --input FILE [--algorithm seq-phragmen|phragmms] [--balance ITERATIONS,TOLERANCE] [--json]\n'
  + '       gatekeeper election submit ... (gatekeeper election submit --help)\n';

/** `--balance 10,0`: iterations (0..1e6) and a u128 tolerance. */
function parseBalance(s: string): BalancingConfig {
  const m = /^([0-9]{1,7}),([0-9]{1,39})$/.exec(s);
  if (!m) throw new UsageError(`--balance must be ITERATIONS,TOLERANCE (e.g. 10,0), got '${s}'`);
  const iterations = Number(m[1]);
  const tolerance = BigInt(m[2]!);
  if (iterations > 1_000_000) throw new UsageError('--balance: at most 1000000 iterations');
  if (tolerance >= 1n << 128n) throw new UsageError('--balance: tolerance must fit in u128');
  return { iterations, tolerance };
}

const command: Command = {
  summary: 'run the stake-weighted committee election over a snapshot, or submit an election round to the committee',
  async run(argv) {
    if (argv[0] === 'submit') return runElectionSubmit(argv);
    const { values, positionals } = parseCommandArgs(argv, {
      input: { type: 'string' },
      algorithm: { type: 'string' },
      balance: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    });
    if (values.help) { process.stdout.write(USAGE); return 0; }
    if (positionals.length !== 1 || positionals[0] !== 'run') throw new UsageError(USAGE.trimEnd());
    const file = requireOption(values, 'input');
    const algorithm = (values.algorithm ?? 'seq-phragmen') as Algorithm;
    if (algorithm !== 'seq-phragmen' && algorithm !== 'phragmms') {
      throw new UsageError(`--algorithm must be seq-phragmen or phragmms, got '${values.algorithm}'`);
    }
    const balance = values.balance === undefined ? undefined : parseBalance(values.balance);

    let text: string;
    try { text = fs.readFileSync(file, 'utf8'); } catch { throw new UsageError(`cannot read ${file}`); }
    let json: unknown;
    try { json = JSON.parse(text); } catch (err) {
      throw new UsageError(`${file} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    let input;
    try { input = validateElectionInput(json); } catch (err) {
      if (err instanceof ElectionInputError) throw new UsageError(`${file}: ${err.message}`);
      throw err;
    }

    const t0 = process.hrtime.bigint();
    const result = runElection(input, { algorithm, ...(balance ? { balance } : {}) });
    const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;

    const kind = input.idKind ?? 'string';
    const id = (x: string): string | number => (kind === 'number' ? Number(x) : x);
    const s = result.scoreFromInternalWeights;
    const out = {
      winners: result.winners.map((w) => [id(w.id), w.backedStake.toString()]),
      score: [s.minimal_stake, s.sum_stake, s.sum_stake_squared].map(String),
      edgesSha256: edgesSha256(result, kind),
      supportsTotals: result.supports.map(([t, sup]) => [id(t), sup.total.toString()]),
      elapsedMs: Math.round(elapsedMs * 1000) / 1000,
    };
    if (values.json) {
      process.stdout.write(JSON.stringify(out) + '\n');
      return 0;
    }
    const lines = [
      `${algorithm}${balance ? ` balanced (${balance.iterations} iterations, tolerance ${balance.tolerance})` : ''}: ` +
        `${result.winners.length} of ${input.seats} seats, ${input.candidates.length} candidates, ${input.voters.length} voters`,
      ...result.winners.map((w, i) => `  ${String(i + 1).padStart(4)}. ${w.id}  backed ${w.backedStake}${w.backedStake === 0n ? '  (no backing: not a committee member)' : ''}`),
      `score (minimal, sum, sum of squares): ${out.score.join(', ')}`,
      `edges sha256: ${out.edgesSha256}`,
      `election took ${out.elapsedMs} ms`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
export default command;
