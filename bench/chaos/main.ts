// bench/chaos (issue 12): what users meet when members fail, in one run on loopback devnets (n = 5, k = 3).
//   1. GetContractKey under load through the SDK's failover while n−k members are killed, restarted
//      (unsealed), SIGSTOPped and resumed: requests, failed, wrong, p50, p99 per phase. Target failed =
//      0, wrong = 0.
//   2. Provisioning p50 with one member stopped vs all up (the worker SDK as the development worker
//      runs it). Target ratio <= 2.
//   3. Genesis with a member killed at each persisted ceremony state and restarted: converges on
//      identical keys everywhere, or aborts everywhere naming the missing member.
//   3b. The same for a hand-off (a refresh of the genesis roster): a member killed at each phase (deal,
//      acknowledge, qualify) and at the round's ACTIVATING; epoch 2 with the genesis CPK and MPK on
//      every member, or an abort everywhere naming the victim; the old committee serves meanwhile.
//   4. 10^5 fuzzed messages over every method of every service: crashes, INTERNAL, other statuses, RSS of
//      every node. Target 0 crashes, 0 INTERNAL, RSS levelling off.
//   npm run build && npm run bench:chaos -- [--json] [--only load,provision,genesis,handoff,fuzz]
//     [--phase-s 8] [--concurrency 16] [--prov-runs 20] [--fuzz 100000] [--fuzz-concurrency 32]
//     [--genesis-states ROUND1,ROUND2,KEYED,CONFIRMED] [--genesis-victims 1,3]
//     [--handoff-states deal,acknowledge,qualify,ACTIVATING] [--handoff-victims 1,3] [--down-s 2] [--seed 12] [--keep]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DEMO_POLICY_ID, Devnet, sleep } from '../../src/devnet/devnet.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { genesisCeremonyId } from '../../src/ceremony/genesis/messages.js';
import { identityPublicKey } from '../../src/crypto/identity.js';
import { Unsealer } from '../../src/node/keystore.js';
import { GatekeeperClient } from '../../src/rpc/client.js';
import { publishContractKey } from '../../src/sdk/worker.js';
import { withRetries } from '../../src/sdk/failover.js';
import { demoQuote, freshWorker, provisionOnce } from '../provision/provisioning.js';
import { f0, f1, f2, nowMs } from '../provision/timing.js';
import { get as metricsText } from '../genesis/metrics.js';
import { floorGrowth, fuzz, lastQuarterGrowth, type FuzzResult, type FuzzTarget, type Signer } from './fuzz.js';
import { genesisKillAt } from './genesis.js';
import type { KillRun } from './kill-run.js';
import { handoffKillAt } from './handoff.js';
import { contractKeyUnderChaos, type PhaseStats } from './load.js';
import { provisioningUnderChaos, type ProvisionRow } from './provision.js';
import { formCommittee, registerDemo, unsealSlow } from './setup.js';
import type { ServiceName } from '../../src/rpc/proto.js';

const N = 5;
const K = 3;
const argv = process.argv.slice(2);
const num = (name: string, dflt: number) => { const i = argv.indexOf(name); return i >= 0 ? Number(argv[i + 1]) : dflt; };
const list = (name: string, dflt: string) => { const i = argv.indexOf(name); return (i >= 0 ? argv[i + 1]! : dflt).split(',').filter(Boolean); };
const JSON_OUT = argv.includes('--json');
const KEEP = argv.includes('--keep');
const ONLY = new Set(list('--only', 'load,provision,genesis,handoff,fuzz'));
const PHASE_MS = num('--phase-s', 8) * 1000;
const CONCURRENCY = num('--concurrency', 16);
const PROV_RUNS = num('--prov-runs', 20);
const FUZZ = num('--fuzz', 100_000);
const FUZZ_CONCURRENCY = num('--fuzz-concurrency', 32);
const GENESIS_STATES = list('--genesis-states', 'ROUND1,ROUND2,KEYED,CONFIRMED');
const GENESIS_VICTIMS = list('--genesis-victims', '1,3').map((s) => Number(s) - 1);
const GENESIS_PHASE_MS = num('--genesis-phase-s', 20) * 1000;
const HANDOFF_STATES = list('--handoff-states', 'deal,acknowledge,qualify,ACTIVATING');
const HANDOFF_VICTIMS = list('--handoff-victims', '1,3').map((s) => Number(s) - 1);
/** How long a killed member stays down in the genesis and hand-off sections (past FAILOVER_MS, 3 s, the others pass over it). */
const DOWN_MS = num('--down-s', 2) * 1000;
const SEED = num('--seed', 12);

// With --json, progress and the table go to stderr, so stdout is the JSON alone.
const log = (s: string) => (JSON_OUT ? process.stderr : process.stdout).write(s + '\n');
const out = log;
const pad = (s: string | number, w: number) => String(s).padStart(w);

function rssOf(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch { return undefined; }
}

/** A member's identity key, read the way the node itself reads it: its database opened with two unseal shares. */
async function memberKey(devnet: Devnet, i: number): Promise<Signer> {
  const n = devnet.nodes[i]!;
  const db = new Database(path.join(n.dir, 'gatekeeper.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const u = new Unsealer(db);
    let keys;
    for (const s of n.unsealShares.slice(0, 2)) keys = await u.add(s);
    if (!keys) throw new Error('two shares did not unseal');
    return { secretKey: keys.identitySecret, publicKey: identityPublicKey(keys.identitySecret) };
  } finally { db.close(); }
}

/** "handler failed" lines in the nodes' logs (each INTERNAL answer has one), counted by message. */
function internalCauses(devnet: Devnet, since: number[]): Map<string, number> {
  const causes = new Map<string, number>();
  devnet.nodes.forEach((n, i) => {
    const file = path.join(n.dir, 'node.log');
    if (!fs.existsSync(file)) return;
    const text = fs.readFileSync(file, 'utf8').slice(since[i]);
    for (const line of text.split('\n')) {
      if (!line.includes('handler failed')) continue;
      try {
        const j = JSON.parse(line) as { method?: string; err?: string };
        const k = `${j.method}: ${String(j.err).slice(0, 160)}`;
        causes.set(k, (causes.get(k) ?? 0) + 1);
      } catch { /* not JSON */ }
    }
  });
  return causes;
}

interface Report {
  machine: { cores: number; node: string; loadavg: number[] };
  sizes: Record<string, unknown>;
  load?: PhaseStats[];
  provisioning?: { rows: ProvisionRow[]; ratioStoppedMember: number; ratioFirstEndpoint: number };
  genesis?: KillRun[];
  handoff?: KillRun[];
  fuzz?: FuzzResult & { rssLastQuarterGrowthPct: number[]; rssFloorGrowthPct: number[]; heapFloorGrowthPct: number[]; internalCauses: [string, number][] };
  seconds: number;
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gk-bench-chaos-'));
  const started = nowMs();
  const report: Report = {
    machine: { cores: os.cpus().length, node: process.version, loadavg: os.loadavg() },
    sizes: { n: N, k: K, phaseSeconds: PHASE_MS / 1000, concurrency: CONCURRENCY, provisioningRuns: PROV_RUNS, fuzzMessages: FUZZ,
      fuzzConcurrency: FUZZ_CONCURRENCY, genesisStates: GENESIS_STATES, genesisVictims: GENESIS_VICTIMS.map((v) => `node-${v + 1}`),
      genesisPhaseTimeoutMs: GENESIS_PHASE_MS, handoffStates: HANDOFF_STATES, handoffVictims: HANDOFF_VICTIMS.map((v) => `node-${v + 1}`), seed: SEED },
    seconds: 0,
  };
  log(`bench/chaos: n = ${N}, k = ${K}, ${os.cpus().length} cores, node ${process.version}, load average ${os.loadavg().map(f2).join(' ')}`);
  const devnet = new Devnet({ dir: path.join(root, 'devnet'), nodes: N, threshold: K, nodeConfig: { publicRateLimitPerSecond: 1_000_000, logLevel: 'warn' } });
  try {
    if (ONLY.has('load') || ONLY.has('provision') || ONLY.has('fuzz')) {
      const view = await formCommittee(devnet, N, K);
      log(`committee formed after ${f1((nowMs() - started) / 1000)} s; installing the demo policy and contract`);
      await registerDemo(devnet);
      const pki = devnet.pki!;
      const collateralJson = JSON.stringify(await pki.collateral({ tee: 'SGX' }));
      const contractId = utf8('demo');
      // A contract key published first: provision once, publish v1 (retried: other users load this machine).
      const first = await withRetries(() => provisionOnce({ client: devnet.nodes[0]!.client, committeeKey: view.committeeKey, contractId, version: 1, pki, collateralJson }),
        { timeoutMs: 120_000 });
      await withRetries(() => publishContractKey(devnet.nodes[0]!.client, { pinnedCommitteeKey: view.committeeKey, contractId, version: 1, publicKey: first.publicKey, signing: first.keys.signing }),
        { timeoutMs: 120_000 });
      log(`committee formed and demo v1 published after ${f1((nowMs() - started) / 1000)} s`);
      // Killed: the first endpoints (every fresh client's first choice). Stopped: the next ones, where the
      // long-lived client has moved to while the first were down.
      const killed = Array.from({ length: N - K }, (_, i) => i);
      const stopped = Array.from({ length: N - K }, (_, i) => N - K + i);

      if (ONLY.has('load')) {
        const names = (xs: number[]) => xs.map((v) => devnet.nodes[v]!.name).join(', ');
        log(`1. GetContractKey under load, ${CONCURRENCY} callers, ${PHASE_MS / 1000} s per phase, killed ${names(killed)}, stopped ${names(stopped)}`);
        report.sizes.killed = names(killed);
        report.sizes.stopped = names(stopped);
        report.load = await contractKeyUnderChaos(devnet, { committeeKey: view.committeeKey, contractId, version: 1, expectedKey: first.publicKey,
          phaseMs: PHASE_MS, concurrency: CONCURRENCY, killed, stopped, log });
      }
      if (ONLY.has('provision')) {
        log(`2. provisioning, ${PROV_RUNS} sequential runs per phase`);
        const rows = await provisioningUnderChaos(devnet, { committeeKey: view.committeeKey, contractId, version: 1, expectedKey: first.publicKey,
          pki, collateralJson, runs: PROV_RUNS, log });
        report.provisioning = { rows, ratioStoppedMember: rows[1]!.p50 / rows[0]!.p50, ratioFirstEndpoint: rows[2]!.p50 / rows[0]!.p50 };
      }
      if (ONLY.has('fuzz')) {
        log(`4. fuzz: ${FUZZ} messages, ${FUZZ_CONCURRENCY} in flight, over every method of every node`);
        const seeds = new Map<string, Uint8Array[]>();
        const add = (service: ServiceName, method: string, req: Record<string, unknown>) => {
          const key = `${service}/${method}`;
          seeds.set(key, [...(seeds.get(key) ?? []), GatekeeperClient.encode(service, method, req)]);
        };
        add('PublicService', 'GetContractKey', { contractId, version: 1 });
        add('PublicService', 'GetContractKey', { contractId, version: 0 });
        const challenge = await devnet.nodes[0]!.client.call<Record<string, unknown>>('WorkerService', 'GetChallenge', {});
        const w = freshWorker();
        add('WorkerService', 'ProvisionContractKey', { contractId, version: 1, dcap: { quote: demoQuote(pki, new Uint8Array(64)), collateralJson },
          workerHpkeKey: w.hpke.publicKey, workerSigningKey: w.signing.publicKey, nonce: challenge.nonce, challengeExpiresAtMs: challenge.expiresAtMs,
          challengeIssuerNodeId: challenge.issuerNodeId, challengeSignature: challenge.signature });
        add('WorkerService', 'PublishContractKey', { contractId, version: 1, publicKey: first.publicKey, workerSigningKey: w.signing.publicKey, signature: new Uint8Array(64) });
        // Epoch 1 is done, so even an unmutated copy is refused (a valid epoch-2 snapshot would start a ceremony).
        const snapshot = await withRetries(() => devnet.genesisSnapshot(1, N, K), { timeoutMs: 120_000 });
        add('OperatorService', 'SubmitGenesis', { snapshot, forward: false });
        add('OperatorService', 'SubmitElection', { snapshot, forward: false });
        add('PeerService', 'OfferSnapshot', { snapshot });
        add('OperatorService', 'SetReleasePolicy', devnet.signPolicy(devnet.demoPolicy()));
        add('OperatorService', 'RegisterContract', { contractId, namespace: 'demo', policyId: DEMO_POLICY_ID });
        add('OperatorService', 'Unseal', { share: devnet.nodes[0]!.unsealShares[0]! });
        add('PeerService', 'GetRosterCertificate', { epoch: 1 });
        // Genesis's messages as the ceremony engine serves them (src/ceremony/genesis: round1 → round2 → outcome).
        for (const phase of ['round1', 'round2', 'outcome']) add('PeerService', 'GetCeremonyMessage', { ceremony: genesisCeremonyId(1), phase });
        // Epoch 1 is the active committee: a refresh or an abort of it is refused as it stands.
        add('OperatorService', 'RefreshShares', { epoch: 1 });
        add('OperatorService', 'CeremonyStatus', { epoch: 1 });
        add('OperatorService', 'AbortCeremony', { epoch: 1, reason: 'fuzz' });
        const peer = await memberKey(devnet, N - 1);
        const targets: FuzzTarget[] = devnet.nodes.map((n, i) => ({
          name: n.name, endpoint: n.listen,
          rss: () => rssOf(devnet.nodes[i]!.process?.pid),
          // The live set after the last full collection: a leak raises it, garbage between collections does not.
          heap: async () => { const m = /^gatekeeper_heap_used_after_major_gc_bytes ([0-9.eE+]+)$/m.exec(await metricsText(n.metricsEndpoint)); return m && Number(m[1]) > 0 ? Number(m[1]) : undefined; }, // 0: no full collection yet
          alive: () => { const p = devnet.nodes[i]!.process; return !!p && p.exitCode === null && p.signalCode === null; },
          restart: async () => { devnet.nodes[i]!.process = undefined; await devnet.startNode(i); await unsealSlow(devnet, i); },
        }));
        const logSizes = devnet.nodes.map((n) => { try { return fs.statSync(path.join(n.dir, 'node.log')).size; } catch { return 0; } });
        const every = Math.max(500, Math.floor(FUZZ / 40));
        const r = await fuzz(targets, { messages: FUZZ, concurrency: FUZZ_CONCURRENCY, seed: SEED, sampleEvery: every, seeds,
          operator: { secretKey: devnet.operator.secretKey, publicKey: devnet.operator.publicKey }, peer, big: true,
          progress: (d, t) => { if (d % (every * 8) === 0) log(`  fuzz ${d}/${t}`); } });
        await sleep(200);
        report.fuzz = { ...r, rssLastQuarterGrowthPct: r.rss.map((x) => lastQuarterGrowth(x.samples)), rssFloorGrowthPct: r.rss.map((x) => floorGrowth(x.samples)),
          heapFloorGrowthPct: r.heap.map((x) => floorGrowth(x.samples)),
          internalCauses: [...internalCauses(devnet, logSizes).entries()].sort((a, b) => b[1] - a[1]).slice(0, 20) };
        // The committee still serves the published key afterwards.
        await withRetries(() => devnet.checkCommittee(), { timeoutMs: 120_000 });
      }
    }
    if (ONLY.has('genesis')) {
      await devnet.stop();
      report.genesis = [];
      log(`3. genesis, a member killed at each state, phase timeout ${GENESIS_PHASE_MS / 1000} s`);
      for (const victim of GENESIS_VICTIMS) {
        for (const state of GENESIS_STATES) {
          const r = await genesisKillAt(root, state, victim, { n: N, k: K, phaseTimeoutMs: GENESIS_PHASE_MS, downMs: DOWN_MS, log });
          log(`  node-${victim + 1} killed at ${state}: ${r.outcome} (${r.detail.slice(0, 120)})`);
          report.genesis.push(r);
        }
      }
    }
    if (ONLY.has('handoff')) {
      await devnet.stop();
      report.handoff = [];
      log(`3b. hand-off (a refresh of the genesis roster), a member killed at each state, phase timeout ${GENESIS_PHASE_MS / 1000} s`);
      for (const victim of HANDOFF_VICTIMS) {
        for (const state of HANDOFF_STATES) {
          const r = await handoffKillAt(root, state, victim, { n: N, k: K, phaseTimeoutMs: GENESIS_PHASE_MS, downMs: DOWN_MS, log });
          log(`  node-${victim + 1} killed at ${state}: ${r.outcome} (${r.detail.slice(0, 120)})`);
          report.handoff.push(r);
        }
      }
    }
  } finally {
    await devnet.stop();
    if (KEEP) log(`kept ${root}`);
    else fs.rmSync(root, { recursive: true, force: true });
  }
  report.seconds = (nowMs() - started) / 1000;
  print(report);
  if (JSON_OUT) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
}

function print(r: Report): void {
  if (r.load) {
    out(`\n1. GetContractKey through the SDK failover (all ${N} endpoints), n = ${N}, k = ${K}, ${CONCURRENCY} callers (half on one shared client, `
      + `half on a fresh client per request); killed ${r.sizes.killed}, stopped ${r.sizes.stopped}   [target failed = 0, wrong = 0]`);
    out(`  ${'phase'.padEnd(30)} ${'client'.padEnd(7)} ${pad('s', 5)} ${pad('requests', 9)} ${pad('failed', 7)} ${pad('wrong', 6)} ${pad('p50 ms', 8)} ${pad('p99 ms', 8)} ${pad('max ms', 8)}`);
    for (const p of r.load) {
      out(`  ${p.phase.padEnd(30)} ${p.client.padEnd(7)} ${pad(f1(p.seconds), 5)} ${pad(p.requests, 9)} ${pad(p.failed, 7)} ${pad(p.wrong, 6)} ${pad(f1(p.p50), 8)} ${pad(f1(p.p99), 8)} ${pad(f1(p.max), 8)}`);
      for (const f of p.failures) out(`      ${f}`);
    }
    const failed = r.load.reduce((a, p) => a + p.failed, 0);
    const wrong = r.load.reduce((a, p) => a + p.wrong, 0);
    out(`  total: ${r.load.reduce((a, p) => a + p.requests, 0)} requests, ${failed} failed, ${wrong} wrong: ${failed === 0 && wrong === 0 ? 'MET' : 'MISSED'}`);
  }
  if (r.provisioning) {
    out(`\n2. Provisioning (worker SDK over every endpoint, retrying transient statuses), ${PROV_RUNS} sequential runs each   [target p50 ratio <= 2]`);
    out(`  ${'phase'.padEnd(40)} ${pad('runs', 5)} ${pad('failed', 7)} ${pad('p50 ms', 8)} ${pad('p99 ms', 8)}`);
    for (const p of r.provisioning.rows) {
      out(`  ${p.phase.padEnd(40)} ${pad(p.runs, 5)} ${pad(p.failed, 7)} ${pad(f1(p.p50), 8)} ${pad(f1(p.p99), 8)}`);
      for (const f of p.failures) out(`      ${f}`);
    }
    const { ratioStoppedMember: a, ratioFirstEndpoint: b } = r.provisioning;
    out(`  p50 ratio, one member stopped / all up: ${f2(a)} ${a <= 2 ? 'MET' : 'MISSED'}; first endpoint stopped / all up: ${f2(b)} ${b <= 2 ? 'MET' : 'MISSED'}`);
  }
  const killTable = (title: string, runs: KillRun[]) => {
    out(`\n${title}; restarted and unsealed ${DOWN_MS / 1000} s later; phase timeout ${GENESIS_PHASE_MS / 1000} s`);
    out(`  ${'victim'.padEnd(7)} ${'state'.padEnd(11)} ${'killed at'.padEnd(11)} ${'restarted'.padEnd(11)} ${'outcome'.padEnd(10)} ${pad('s', 5)}  detail`);
    for (const g of runs) {
      out(`  ${g.victim.padEnd(7)} ${g.state.padEnd(11)} ${g.killedAt.padEnd(11)} ${g.restartedAt.padEnd(11)} ${g.outcome.padEnd(10)} ${pad(f0(g.seconds), 5)}  ${g.detail}`);
    }
    const bad = runs.filter((g) => g.outcome === 'FAILED').length;
    out(`  ${runs.length - bad}/${runs.length} runs converged or aborted cleanly everywhere: ${bad === 0 ? 'MET' : 'MISSED'}`);
  };
  if (r.genesis) killTable('3. Genesis with a member killed (SIGKILL) at each ceremony state', r.genesis);
  if (r.handoff) killTable('3b. Hand-off (refresh of the genesis roster) with a member killed (SIGKILL) at each phase', r.handoff);
  if (r.fuzz) {
    const z = r.fuzz;
    out(`\n4. Fuzz: ${z.messages} messages over ${z.methods} methods x ${N} nodes in ${f0(z.seconds)} s (${f0(z.messages / z.seconds)}/s)   [target 0 crashes, 0 INTERNAL, RSS levels out]`);
    out(`  crashes ${z.crashes.length}${z.crashes.length ? ` (${z.crashes.map((c) => `${c.target} at #${c.atMessage}`).join(', ')})` : ''}, INTERNAL ${z.internal}`);
    out(`  statuses: ${Object.entries(z.statuses).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    for (const f of z.internalFindings.slice(0, 10)) out(`    INTERNAL ${f.method} (${f.mutation}, auth ${f.auth}, ${f.bytes} bytes): ${f.details}`);
    for (const [c, n] of z.internalCauses) out(`    cause x${n}: ${c}`);
    for (const f of z.suspicious) out(`    suspicious ${f.method} (${f.mutation}, auth ${f.auth}, ${f.bytes} bytes): ${f.details}`);
    const series = (what: string, xs: { target: string; samples: number[] }[], growth: { label: string; pct: number[] }[]) => {
      out(`  ${what} MiB per node: start, 1/4, 1/2, 3/4, end; ${growth.map((g) => g.label).join('; ')}`);
      xs.forEach((x, i) => {
        const s = x.samples;
        const at = (q: number) => s[Math.floor((s.length - 1) * q)] ?? NaN;
        out(`    ${x.target.padEnd(7)} ${[0, 0.25, 0.5, 0.75, 1].map((q) => pad(f1(at(q)), 6)).join(' ')}   ${growth.map((g) => `${pad(f1(g.pct[i]!), 6)} %`).join('  ')}`);
      });
    };
    series('RSS', z.rss, [{ label: 'last-quarter growth of the peak (over the earlier peak)', pct: z.rssLastQuarterGrowthPct },
      { label: 'of the floor (last quarter\'s lowest over the second quarter\'s)', pct: z.rssFloorGrowthPct }]);
    series('V8 heap after the last full GC', z.heap, [{ label: 'growth of the floor', pct: z.heapFloorGrowthPct }]);
    const rssLevels = z.rssFloorGrowthPct.every((g) => !(g > 10));
    const heapLevels = z.heapFloorGrowthPct.every((g) => !(g > 10));
    out(`  RSS floor levels out (last quarter's lowest <= 10 % over the second quarter's, every node): ${rssLevels ? 'yes' : 'NO'}; `
      + `live heap (after full GC) floor levels out (no leak): ${heapLevels ? 'yes' : 'NO'}. RSS peaks follow the multi-megabyte messages in flight.`);
    out(`  crashes ${z.crashes.length}, INTERNAL ${z.internal}: ${z.crashes.length === 0 && z.internal === 0 ? 'MET' : 'MISSED'}; memory: ${rssLevels && heapLevels ? 'MET' : heapLevels ? 'heap MET, RSS floor MISSED' : 'MISSED'}`);
  }
  out(`\nbench/chaos took ${f0(r.seconds)} s; load average now ${os.loadavg().map(f2).join(' ')}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/chaos: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
