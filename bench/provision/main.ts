// Provisioning benchmark (issue: bench/provision): a loopback devnet with n = 5, k = 4; provisioning
// latency (p50, p99) split into the members' side and the worker's side, and throughput with a few
// concurrent workers; next to it, in the same run, the floor: the curve, signature and HPKE work one
// provisioning needs, timed alone. Then GetContractKey calls per second against a bare grpc-js unary
// server, both driven by the same load generator. Targets: p50 <= 1.5x the floor; GetContractKey
// >= 0.8x the bare server.
//   npm run build && node dist/bench/provision/main.js [--runs 40] [--profile] [--keep]
// --profile runs node-1 (the entry member) and node-2 under `node --cpu-prof` and prints where their
// CPU goes during the provisioning and GetContractKey phases.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Devnet, sleep, type CommitteeView } from '../../src/devnet/devnet.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { encodeMessage } from '../../src/rpc/messages.js';
import { publishContractKey } from '../../src/sdk/worker.js';
import type { GetCommitteeResponse } from '../../src/sdk/client.js';
import { rpcDelta, scrape, type Scrape } from '../genesis/metrics.js';
import { summarizeProfile, top } from '../genesis/cpu-profile.js';
import { measureFloor, type Floor } from './floor.js';
import { closedLoop, RawUnary, startEchoServer, type LoadResult } from './load.js';
import { demoQuote, provisionOnce, provisioningThroughput, type Phases, type ProvisionTarget } from './provisioning.js';
import { f0, f1, f2, nowMs, percentile } from './timing.js';

const N = 5;
const K = 4;
const arg = (name: string, dflt: number) => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : dflt; };
const RUNS = arg('--runs', 40);
const WARMUPS = 4;
const WORKERS = 4;
const THROUGHPUT_MS = arg('--throughput-ms', 8000);
const LOAD_CONCURRENCY = 64;
// Four interleaved rounds of 2 s each side: the other users of this shared machine come and go, and
// alternating often makes both servers see the same conditions.
const LOAD_MS = 2000;
const LOAD_ROUNDS = 4;
const PROFILE = process.argv.includes('--profile');
const KEEP = process.argv.includes('--keep');
const PROFILED = [0, 1];

const log = (s: string) => process.stdout.write(s + '\n');
const pad = (s: string, w: number) => s.padStart(w);


/** Devnet.genesis(), except that the profiled nodes start under --cpu-prof. */
async function formCommittee(devnet: Devnet, profDir: string | undefined): Promise<CommitteeView> {
  if (!profDir) return devnet.genesis();
  await devnet.create();
  await Promise.all(devnet.nodes.map((_, i) => (devnet.startNode(i, PROFILED.includes(i) ? ['--cpu-prof', `--cpu-prof-dir=${path.join(profDir, devnet.nodes[i]!.name)}`] : []))));
  await Promise.all(devnet.nodes.map((_, i) => devnet.unseal(i)));
  const snapshot = await devnet.genesisSnapshot(1, N, K);
  const res = await devnet.operatorCall<{ forwardErrors: string[] }>(0, 'SubmitGenesis', { snapshot, forward: true });
  if (res.forwardErrors.length) throw new Error(`forwarding failed: ${res.forwardErrors.join('; ')}`);
  await devnet.waitForCommittee(120_000);
  return devnet.checkCommittee();
}

function row(label: string, xs: number[], floor?: number): string {
  const p50 = percentile(xs, 50);
  return `  ${label.padEnd(44)} ${pad(f1(p50), 8)} ${pad(f1(percentile(xs, 99)), 8)} ${pad(f1(Math.min(...xs)), 8)}`
    + (floor !== undefined ? `   floor ${pad(f1(floor), 6)} ms, p50/floor ${f2(p50 / floor)}` : '');
}

interface CpuWindow { perNode: number[]; bench: number; rpc: Map<string, number> }

async function cpuWindow<T>(devnet: Devnet, f: () => Promise<T>): Promise<{ result: T; cpu: CpuWindow }> {
  const endpoints = devnet.nodes.map((n) => n.metricsEndpoint);
  const before: Scrape[] = await Promise.all(endpoints.map(scrape));
  const c0 = process.cpuUsage();
  const result = await f();
  const c = process.cpuUsage(c0);
  const after: Scrape[] = await Promise.all(endpoints.map(scrape));
  const rpc = new Map<string, number>();
  before.forEach((b, i) => { for (const [k, v] of rpcDelta(b, after[i]!)) rpc.set(k, (rpc.get(k) ?? 0) + v); });
  return { result, cpu: { perNode: before.map((b, i) => (after[i]!.cpu - b.cpu) * 1000), bench: (c.user + c.system) / 1000, rpc } };
}

/** The floor of each node's CPU per provisioning: the entry member also signs n-1 calls. */
function fl0(fl: Floor): { entry: number; other: number } {
  return { entry: fl.memberMs + (N - 1) * fl.peerCallSignMs, other: fl.memberMs + fl.peerCallVerifyMs };
}

function printFloor(fl: Floor): void {
  log(`\nThe floor, timed alone in this process (CPU ms per call; wall ms beside it). n = ${N}, k = ${K}`);
  log(`  ${'side'.padEnd(9)} ${'step'.padEnd(52)} ${pad('cpu ms', 7)} ${pad('wall ms', 7)}  note`);
  for (const r of fl.rows) {
    log(`  ${r.side.padEnd(9)} ${r.step.padEnd(52)} ${pad(f2(r.cost.cpuMs), 7)} ${pad(f2(r.cost.wallMs), 7)}  ${r.note}`);
  }
  log(`  one member's own work (challenge sig + quote + partial + seal)  ${f2(fl.memberMs)} ms`);
  log(`  signed peer call: sign ${f2(fl.peerCallSignMs)} ms (caller), verify ${f2(fl.peerCallVerifyMs)} ms (callee)`);
  log(`  worker (n opens + k DLEQ checks + combination + derivation)     ${f2(fl.workerMs)} ms`);
  log(`  FLOOR A, per-member critical path + worker (one machine per member): ${f2(fl.criticalPathMs)} ms`);
  log(`     = 1 signCall on the entry (the fan-out) + 1 callee verify + one member's work + worker`);
  log(`  FLOOR B, all CPU work summed (what 2 shared cores must do here):    ${f2(fl.summedMs)} ms`);
  log(`     = n x member work + 1 sign + (n-1) x verify + worker`);
}

function printProfiles(profDir: string, windows: { name: string; from: bigint; to: bigint }[], devnet: Devnet): void {
  for (const i of PROFILED) {
    const name = devnet.nodes[i]!.name;
    const dir = path.join(profDir, name);
    const file = fs.existsSync(dir) ? fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile')) : undefined;
    if (!file) { log(`  ${name}: no .cpuprofile written`); continue; }
    for (const w of windows) {
      const s = summarizeProfile(path.join(dir, file), w.from, w.to);
      log(`\n${name}${i === 0 ? ' (entry member)' : ''}, ${w.name}: ${f0(s.busyMs)} ms busy, ${f0(s.idleMs)} ms idle in the window`);
      const interesting = ['provision', 'providePartial', 'verifyQuote', 'loadCollateral', 'evaluatePartial', 'hpkeSeal', 'memberKeys',
        'decodeKeyPackage', 'verifyCall', 'signCall', 'claim', 'signTagged', 'verifyTagged', 'identityPublicKey', 'challenge',
        'useChallenge', 'recordProvisioned', 'append', 'transaction', 'activeCommittee', 'latest', 'keyShares', 'parseReleasePolicy',
        'evaluatePolicy', 'encodeMessage', 'get', 'contractKey', 'contract', 'rateLimit', 'onDone', 'prepare', 'run', 'fromObject',
        'decode', 'encode', 'toObject', '(garbage collector)', '(program)'];
      const line: string[] = [];
      for (const fn of interesting) {
        const v = s.inclusiveByName.get(fn);
        if (v !== undefined && v / s.busyMs >= 0.01) line.push(`${fn} ${f1((100 * v) / s.busyMs)}%`);
      }
      log(`  inclusive share of busy time: ${line.join(', ')}`);
      log('  top self time:');
      for (const [k, v] of top(s.self, 10)) log(`    ${f1((100 * v) / s.busyMs).padStart(5)} %  ${k}`);
    }
  }
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gk-bench-provision-'));
  const profDir = PROFILE ? path.join(root, 'profiles') : undefined;
  const devnet = new Devnet({ dir: path.join(root, 'devnet'), nodes: N, threshold: K, nodeConfig: { publicRateLimitPerSecond: 1_000_000, logLevel: 'warn' } });
  const started = nowMs();
  log(`provisioning benchmark: n = ${N}, k = ${K}, loopback devnet, ${os.cpus().length} cores, node ${process.version}, `
    + `load average ${os.loadavg().map(f2).join(' ')}${PROFILE ? ', node-1 and node-2 under --cpu-prof' : ''}`);
  const windows: { name: string; from: bigint; to: bigint }[] = [];
  const echo = { close: async () => undefined as void };
  try {
    const view = await formCommittee(devnet, profDir);
    await devnet.registerDemoContract();
    const pki = devnet.pki!;
    const collateralJson = JSON.stringify(await pki.collateral({ tee: 'SGX' }));
    const contractId = utf8('demo');
    const target = (i: number): ProvisionTarget => ({ client: devnet.nodes[i]!.client, committeeKey: view.committeeKey, contractId, version: 1, pki, collateralJson });
    log(`committee formed in ${f1((nowMs() - started) / 1000)} s; collateral JSON ${collateralJson.length} bytes`);

    // Warm-up, then publish version 1 so GetContractKey has something to serve.
    let first: Awaited<ReturnType<typeof provisionOnce>> | undefined;
    for (let i = 0; i < WARMUPS; i++) first = await provisionOnce(target(i % N), first?.publicKey);
    await publishContractKey(devnet.nodes[0]!.client, { pinnedCommitteeKey: view.committeeKey, contractId, version: 1, publicKey: first!.publicKey, signing: first!.keys.signing });

    // What the idle nodes burn (the ceremony timer), to subtract from the per-provisioning CPU below.
    const idle0 = await Promise.all(devnet.nodes.map((n) => scrape(n.metricsEndpoint)));
    await sleep(2000);
    const idle1 = await Promise.all(devnet.nodes.map((n) => scrape(n.metricsEndpoint)));
    const idlePerS = idle0.map((b, i) => ((idle1[i]!.cpu - b.cpu) * 1000) / (Number(idle1[i]!.at - b.at) / 1e9));

    // ---- latency: sequential provisionings through node-1 ----
    const w0 = process.hrtime.bigint();
    const { result: phases, cpu } = await cpuWindow(devnet, async () => {
      const out: Phases[] = [];
      for (let i = 0; i < RUNS; i++) out.push((await provisionOnce(target(0), first!.publicKey)).phases);
      return out;
    });
    const w1 = process.hrtime.bigint();
    windows.push({ name: `${RUNS} sequential provisionings`, from: w0, to: w1 });
    const latencyWindowS = Number(w1 - w0) / 1e9;
    const loadAfterLatency = os.loadavg();

    // ---- throughput: WORKERS concurrent workers, each through its own entry member ----
    const tp = await provisioningThroughput(Array.from({ length: WORKERS }, (_, i) => target(i % N)), WORKERS, THROUGHPUT_MS, first!.publicKey);

    // ---- the floor, alone, while the nodes idle ----
    const committee = await devnet.nodes[0]!.client.call<GetCommitteeResponse>('PublicService', 'GetCommittee', {});
    const floor = await measureFloor({ n: N, k: K, pki, collateralJson, quoteFor: (rd) => demoQuote(pki, rd), committee, committeeKey: view.committeeKey });

    // ---- GetContractKey against the bare server, same generator, interleaved ----
    const req = Buffer.from(encodeMessage('GetContractKeyRequest', { contractId, version: 1 }));
    const nodeCall = new RawUnary(devnet.nodes[0]!.listen, '/gatekeeper.v1.PublicService/GetContractKey', req);
    const answer = await nodeCall.call();
    const e = await startEchoServer(answer);
    echo.close = e.close;
    const echoCall = new RawUnary(e.endpoint, '/gatekeeper.bench.Echo/Echo', req);
    const rounds: { echo: LoadResult; node: LoadResult }[] = [];
    for (let r = 0; r < LOAD_ROUNDS; r++) {
      await closedLoop(() => echoCall.call(), LOAD_CONCURRENCY, 700);
      const eRes = await closedLoop(() => echoCall.call(), LOAD_CONCURRENCY, LOAD_MS);
      await closedLoop(() => nodeCall.call(), LOAD_CONCURRENCY, 700);
      const g0 = process.hrtime.bigint();
      const nRes = await closedLoop(() => nodeCall.call(), LOAD_CONCURRENCY, LOAD_MS);
      if (r === 1) windows.push({ name: 'GetContractKey load, second measured round', from: g0, to: process.hrtime.bigint() });
      rounds.push({ echo: eRes, node: nRes });
    }
    nodeCall.close();
    echoCall.close();

    // ---- report ----
    const pick = (f: (p: Phases) => number) => phases.map(f);
    const membersAndWorker = phases.map((p) => p.membersMs + p.workerMs);
    log(`\nProvisioning latency, ${RUNS} sequential runs through node-1 after ${WARMUPS} warm-ups (wall ms)`);
    log(`  ${'phase'.padEnd(44)} ${pad('p50', 8)} ${pad('p99', 8)} ${pad('min', 8)}`);
    log(row('GetChallenge round trip', pick((p) => p.challengeMs)));
    log(row('quote building (dev PKI, stands in for QE)', pick((p) => p.quoteMs)));
    log(row("members' side: ProvisionContractKey RT", pick((p) => p.membersMs), floor.summedMs - floor.workerMs));
    log(row('GetCommittee round trip (SDK, per call)', pick((p) => p.committeeMs)));
    log(row("worker's side: open, check, combine, derive", pick((p) => p.workerMs), floor.workerMs));
    log(row('members + worker (the provisioning proper)', membersAndWorker, floor.summedMs));
    log(row('whole SDK call (all of the above)', pick((p) => p.totalMs)));
    const p50 = percentile(membersAndWorker, 50);
    log(`  p50 of members + worker = ${f1(p50)} ms:  ${f2(p50 / floor.summedMs)}x FLOOR B (the provisioning's operations timed alone and summed, ${f1(floor.summedMs)} ms)  [target <= 1.5x]; `
      + `${f2(p50 / floor.criticalPathMs)}x FLOOR A (${f1(floor.criticalPathMs)} ms, the critical path if every member had its own machine; here all ${N} share 2 cores)`);
    const sdkP50 = percentile(pick((p) => p.totalMs), 50);
    log(`  p50 of the whole SDK call = ${f1(sdkP50)} ms: ${f2(sdkP50 / floor.criticalPathMs)}x FLOOR A, ${f2(sdkP50 / floor.summedMs)}x FLOOR B`);
    const nodeCpu = cpu.perNode.reduce((a, b) => a + b, 0);
    log(`  CPU per provisioning (metrics scrape of every node + this process): nodes ${cpu.perNode.map((c, i) => `#${i + 1} ${f1(c / RUNS)}`).join(', ')} ms; `
      + `all nodes ${f1(nodeCpu / RUNS)} ms, worker/bench process ${f1(cpu.bench / RUNS)} ms; total ${f1((nodeCpu + cpu.bench) / RUNS)} ms vs FLOOR B ${f1(floor.summedMs)} ms`);
    const netOfIdle = cpu.perNode.map((c, i) => (c - idlePerS[i]! * latencyWindowS) / RUNS);
    log(`  the same net of idle CPU (${idlePerS.map(f1).join('/')} ms per s per node): ${netOfIdle.map((c, i) => `#${i + 1} ${f1(c)}`).join(', ')} ms; `
      + `all nodes ${f1(netOfIdle.reduce((a, b) => a + b, 0))} ms (floor: entry ${f1(fl0(floor).entry)} ms, other member ${f1(fl0(floor).other)} ms)`);
    const rpcs = [...cpu.rpc.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k.replace(/Service\//, '/')} ${f1(v / RUNS)}`);
    log(`  RPCs served per provisioning (all nodes): ${rpcs.join(', ')}`);
    log(`  load average before/after the latency runs: ${os.loadavg().map(f2).join(' ')} / ${loadAfterLatency.map(f2).join(' ')} (other users share these 2 cores)`);

    log(`\nProvisioning throughput: ${WORKERS} concurrent workers (entry members node-1..node-${WORKERS}), ${f1(tp.seconds)} s`);
    log(`  ${tp.done} provisionings = ${f1(tp.done / tp.seconds)} /s; latency p50 ${f1(percentile(tp.latencies, 50))} ms, p99 ${f1(percentile(tp.latencies, 99))} ms`);
    log(`  2 cores / FLOOR B = ${f1(2000 / floor.summedMs)} /s would be the CPU bound of this machine; ratio ${f2((tp.done / tp.seconds) / (2000 / floor.summedMs))}`);

    printFloor(floor);

    log(`\nGetContractKey vs a bare grpc-js unary server: ${LOAD_CONCURRENCY} in flight on one channel, ${LOAD_MS / 1000} s each after a 0.7 s warm-up, interleaved`);
    let eOps = 0; let eSec = 0; let nOps = 0; let nSec = 0;
    for (const [i, r] of rounds.entries()) {
      log(`  round ${i + 1}: bare server ${pad(f0(r.echo.rate), 6)} /s${r.echo.errors ? ` (${r.echo.errors} errors)` : ''}   `
        + `GetContractKey ${pad(f0(r.node.rate), 6)} /s${r.node.errors ? ` (${r.node.errors} errors: ${r.node.firstError})` : ''}   ratio ${f2(r.node.rate / r.echo.rate)}`);
      eOps += r.echo.ops; eSec += r.echo.seconds; nOps += r.node.ops; nSec += r.node.seconds;
    }
    const ratio = (nOps / nSec) / (eOps / eSec);
    log(`  overall: bare ${f0(eOps / eSec)} /s, GetContractKey ${f0(nOps / nSec)} /s, ratio ${f2(ratio)}  [target >= 0.8: ${ratio >= 0.8 ? 'MET' : 'MISSED'}]`);
    log(`  (the load generator shares the 2 cores with the server under test and with the other 4 idle nodes)`);
    const met = p50 <= 1.5 * floor.summedMs;
    log(`\nlatency target (p50 of members + worker <= 1.5x FLOOR B): ${met ? "MET" : "MISSED"}; bench took ${f0((nowMs() - started) / 1000)} s`);
  } finally {
    await echo.close();
    await devnet.stop();
    if (profDir) {
      await sleep(500);
      printProfiles(profDir, windows, devnet);
    }
    if (KEEP) log(`kept ${root}`);
    else fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/provision: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
