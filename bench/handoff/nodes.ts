// The hand-off in real node processes (issue 11 "Must show"): a loopback devnet of n members forms by
// genesis, then every member hands its shares to the same roster (a refresh: n → n, k → k, every member
// both dealer and new member, both secrets), and each member's CPU for the round is read from its own
// Prometheus counters, from RefreshShares to its COMPLETE (hand-off, activation signature, erasure).
// Printed as ms and as secp256k1 base multiplications timed in this process before and after, as
// bench/genesis prints; target: the median member under 1 s.
// With --profile, member #2 runs under V8's CPU profiler and its time in the round is broken down.
//   npm run build && node dist/bench/handoff/nodes.js [--n 16] [--k 11] [--profile [--profile-out FILE]]
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { Devnet, sleep } from '../../src/devnet/devnet.js';
import { rpcDelta, scrape, type Scrape } from '../genesis/metrics.js';
import { baseMultiplyMs } from '../genesis/run-genesis.js';
import { saveProfileIfAsked, summarizeProfile, top } from '../genesis/cpu-profile.js';

const TARGET_CPU_MS = 1000;
const INCLUSIVE = ['tick', 'step', 'pull', 'serve', 'apply', 'openState', 'sealState', 'deal', 'acknowledge', 'propose', 'checkProposal', 'newPublicPackages',
  'combine', 'nextOf', 'computeNext', 'checkActivation', 'expectedNextRoster', 'stepActivation', 'coordinate', 'frostCommit', 'frostSign', 'finish',
  'verifyTagged', 'signTagged', 'verifyCall', 'signCall', 'sealToPeer', 'openFromPeer', 'sync', 'publicKeys', 'localRoster', 'dueDeliveries', '(garbage collector)'];
const arg = (name: string, dflt: number) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? Number(process.argv[i + 1]) : dflt; };
const n = arg('n', 16);
const k = arg('k', Math.floor((2 * n) / 3) + 1);
const log = (s: string) => process.stdout.write(s + '\n');
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gk-bench-handoff-'));
  const profile = process.argv.includes('--profile');
  const profDir = path.join(dir, 'profiles');
  const devnet = new Devnet({ dir, nodes: n, threshold: k, phaseTimeoutMs: 120_000,
    ...(profile ? { nodeFlags: (i: number) => (i === 1 ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []) } : {}) });
  try {
    log(`hand-off in node processes: n = ${n} → ${n}, k = ${k} → ${k} (a refresh: every member deals and receives), both secrets`);
    await devnet.genesis();
    const endpoints = devnet.nodes.map((x) => x.metricsEndpoint);
    const baseBefore = baseMultiplyMs();
    const before = await Promise.all(endpoints.map(scrape));
    const t0 = Date.now();
    const t0ns = process.hrtime.bigint();
    await devnet.refresh(2, devnet.nodes.map((_, i) => i));
    const done: (Scrape | undefined)[] = new Array(n).fill(undefined);
    const deadline = Date.now() + 300_000;
    while (done.some((d) => !d)) {
      await Promise.all(devnet.nodes.map(async (_, i) => {
        if (done[i]) return;
        const s = await devnet.status(i).catch(() => undefined);
        if (s?.ceremonyEpoch === 2 && s.ceremonyState === 'ABORTED') throw new Error(`node-${i + 1} aborted: ${s.ceremonyError}`);
        if (s?.ceremonyEpoch === 2 && s.ceremonyState === 'COMPLETE') done[i] = await scrape(endpoints[i]!);
      }));
      if (Date.now() > deadline) throw new Error('the hand-off did not complete within 300 s');
      if (done.some((d) => !d)) await sleep(250);
    }
    const wallMs = Date.now() - t0;
    const baseAfter = baseMultiplyMs();
    const view = await devnet.checkCommittee();
    if (view.epoch !== 2) throw new Error(`the committee is at epoch ${view.epoch}, not 2`);
    const cpu = devnet.nodes.map((_, i) => (done[i]!.cpu - before[i]!.cpu) * 1000);
    const base = (baseBefore + baseAfter) / 2;
    const med = median(cpu);
    log(`  wall time RefreshShares -> every member COMPLETE: ${wallMs.toFixed(0)} ms (${n} processes share this machine's ${os.cpus().length} cores)`);
    log(`  CPU per member (user+system): min ${Math.min(...cpu).toFixed(0)} ms, median ${med.toFixed(0)} ms, max ${Math.max(...cpu).toFixed(0)} ms`);
    log(`    in base multiplications (one took ${baseBefore.toFixed(2)} ms before and ${baseAfter.toFixed(2)} ms after): `
      + `median ${(med / base).toFixed(0)}, max ${(Math.max(...cpu) / base).toFixed(0)}`);
    log(`    per member: ${cpu.map((c, i) => `#${i + 1} ${c.toFixed(0)}`).join(', ')}`);
    const sys = devnet.nodes.map((_, i) => (done[i]!.system - before[i]!.system) * 1000);
    log(`    of which system time: median ${median(sys).toFixed(0)} ms`);
    const served = new Map<string, number[]>();
    devnet.nodes.forEach((_, i) => { for (const [key, v] of rpcDelta(before[i]!, done[i]!)) served.set(key, [...(served.get(key) ?? []), v]); });
    log(`  calls served per member in the round (median over members, by method and status): ${[...served].sort((a, b) => median(b[1]) - median(a[1]))
      .map(([key, v]) => `${key} ${median([...v, ...new Array(n - v.length).fill(0)])}`).join(', ')}`);
    log(`  same committee key and MPK as genesis; roster chain of ${view.certificates.length} certificates`);
    log(`  target (median member under ${TARGET_CPU_MS} ms CPU): ${med < TARGET_CPU_MS ? 'MET' : 'MISSED'}`);
    if (profile) {
      await devnet.stop();
      const file = fs.readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
      if (!file) throw new Error('the profiled node wrote no .cpuprofile');
      const s = summarizeProfile(path.join(profDir, file), t0ns, done[1]!.at);
      saveProfileIfAsked(path.join(profDir, file), t0ns, done[1]!.at);
      log(`  where member #2's CPU goes in the round (V8 profile, top self time; #2 pays for the sampler too):`);
      const est = (v: number) => ((v / s.busyMs) * cpu[1]!).toFixed(0).padStart(6);
      log('    inclusive, by function (nested entries overlap):');
      for (const name of INCLUSIVE) {
        const v = s.inclusiveByName.get(name);
        if (v !== undefined && (v / s.busyMs) * cpu[1]! >= 10) log(`    ${est(v)} ms  ${name}`);
      }
      log('    top self time:');
      for (const [name, v] of top(s.self, 12)) log(`    ${((v / s.busyMs) * cpu[1]!).toFixed(0).padStart(6)} ms  ${((100 * v) / s.busyMs).toFixed(1).padStart(5)} %  ${name}`);
    }
  } finally {
    await devnet.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/handoff/nodes: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
