// Election benchmark: sequential Phragmén (Substrate semantics) on two seeded instances, incremental
// loop against the straightforward full-rescan loop measured in the same run.
//   node dist/bench/election/main.js [--skip-polkadot-straightforward]
import os from 'node:os';
import { runElection } from '../../src/election/run.js';
import type { ElectionInput, ElectionResult, LoopKind } from '../../src/election/types.js';
import { edgesSha256 } from '../../src/election/run.js';
import { randomInstance } from './generate.js';

/** Wall-clock and CPU (user + system) milliseconds: CPU time shows the cost when others share the cores. */
function time(input: ElectionInput, loop: LoopKind): { ms: number; cpuMs: number; result: ElectionResult } {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const result = runElection(input, { algorithm: 'seq-phragmen', loop });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  return { ms, cpuMs: (c.user + c.system) / 1000, result };
}

function fingerprint(r: ElectionResult): string {
  return `${r.winners.map((w) => `${w.id}:${w.backedStake}`).join(',')}|${edgesSha256(r, 'number')}`;
}

const skipSlow = process.argv.includes('--skip-polkadot-straightforward');
const cases: Array<{ name: string; input: ElectionInput; target: number; straightforward: boolean }> = [
  {
    name: '1000c/10000v/32s',
    input: randomInstance({ seed: 1n, candidates: 1000, voters: 10_000, seats: 32, maxVotes: 16, selfVotes: false }),
    target: 300,
    straightforward: true,
  },
  {
    name: 'polkadot 1500c/22500v x16 + self votes/297s',
    input: randomInstance({ seed: 2n, candidates: 1500, voters: 22_500, seats: 297, fixedVotes: 16, maxVotes: 16, selfVotes: true }),
    target: 2000,
    straightforward: !skipSlow,
  },
];

console.log(`load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} on ${os.cpus().length} cores`);
for (const c of cases) {
  const edges = c.input.voters.reduce((n, v) => n + v.targets.length, 0);
  console.log(`${c.name}: ${c.input.voters.length} voters, ${edges} edges`);
  time(c.input, 'incremental'); // warm-up
  const runs = [time(c.input, 'incremental'), time(c.input, 'incremental'), time(c.input, 'incremental')];
  const inc = Math.min(...runs.map((r) => r.ms));
  const incCpu = Math.min(...runs.map((r) => r.cpuMs));
  console.log(`  incremental     ${inc.toFixed(0).padStart(7)} ms wall, ${incCpu.toFixed(0)} ms CPU (best of 3; target < ${c.target} ms: ${inc < c.target ? 'met' : 'MISSED'})`);
  if (c.straightforward) {
    const s = time(c.input, 'straightforward');
    const same = fingerprint(s.result) === fingerprint(runs[0]!.result);
    console.log(`  straightforward ${s.ms.toFixed(0).padStart(7)} ms wall, ${s.cpuMs.toFixed(0)} ms CPU (one run); ratio ${(s.ms / inc).toFixed(1)}x; identical output: ${same}`);
    if (!same) process.exitCode = 1;
  }
}
