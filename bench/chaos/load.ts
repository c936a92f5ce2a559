// GetContractKey under load through the SDK's own failover (issue 12, bench/chaos item 1): closed-loop
// callers of getContractKey over one FailoverClient that knows every member, while the bench kills n−k
// members, restarts them (sealed for a phase, then unsealed), stops them (SIGSTOP) and resumes them. Every answer is checked
// against the pinned committee key (CPK) by the SDK and against the published key by the bench.
import { equalBytes } from '../../src/crypto/bytes.js';
import type { Devnet } from '../../src/devnet/devnet.js';
import { sleep } from '../../src/devnet/devnet.js';
import { getContractKey } from '../../src/sdk/client.js';
import { CommitteeVerificationError, ContractKeyCertificateError } from '../../src/sdk/errors.js';
import { FailoverClient } from '../../src/sdk/failover.js';
import { nowMs, percentile } from '../provision/timing.js';

export interface PhaseStats {
  phase: string;
  /** 'shared': one long-lived FailoverClient for all callers; 'fresh': a new one per request (a CLI call, a starting app). */
  client: 'shared' | 'fresh';
  seconds: number;
  requests: number;
  failed: number;
  wrong: number;
  p50: number;
  p99: number;
  max: number;
  /** A few distinct failures, bounded. */
  failures: string[];
}

export interface LoadOptions {
  committeeKey: Uint8Array;
  contractId: Uint8Array;
  version: number;
  expectedKey: Uint8Array;
  phaseMs: number;
  concurrency: number;
  /** The n−k members killed and restarted. */
  killed: number[];
  /** The n−k members stopped and resumed. */
  stopped: number[];
  log(s: string): void;
}

const CHANNEL = { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1000 };

/**
 * The six phases; returns one row per phase and client kind. Half the callers share one long-lived
 * client (it learns which members answer), half build a fresh one per request, so every phase also
 * meets the first endpoint in the list whatever state it is in. Leaves every member running and unsealed.
 */
export async function contractKeyUnderChaos(devnet: Devnet, o: LoadOptions): Promise<PhaseStats[]> {
  const names = ['all up', `${o.killed.length} members killed (SIGKILL)`, 'restarted, still sealed', 'restarted (unsealed)',
    `${o.stopped.length} members SIGSTOPped`, 'resumed (SIGCONT)'];
  const kinds = ['shared', 'fresh'] as const;
  const acc = kinds.map((client) => names.map((phase) => ({ phase, client, latencies: [] as number[], failed: 0, wrong: 0, failures: new Map<string, number>() })));
  const spans = names.map(() => ({ from: 0, to: 0 }));
  const endpoints = devnet.nodes.map((n) => n.listen);
  const shared = new FailoverClient(endpoints, { channelOptions: CHANNEL });
  let phase = 0;
  let running = true;
  const lanes = Array.from({ length: o.concurrency }, async (_, lane) => {
    const kind = lane % 2 === 0 ? 0 : 1;
    while (running) {
      const p = acc[kind]![phase]!;
      const client = kind === 0 ? shared : new FailoverClient(endpoints, { channelOptions: CHANNEL });
      const t0 = nowMs();
      try {
        const key = await getContractKey(client, o.committeeKey, o.contractId, o.version);
        if (equalBytes(key.publicKey, o.expectedKey)) p.latencies.push(nowMs() - t0);
        else p.wrong++;
      } catch (err) {
        if (err instanceof ContractKeyCertificateError || err instanceof CommitteeVerificationError) p.wrong++;
        else p.failed++;
        const what = (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 200);
        p.failures.set(what, (p.failures.get(what) ?? 0) + 1);
      } finally {
        if (client !== shared) client.close();
      }
    }
  });
  const enter = (i: number) => { spans[phase]!.to = nowMs(); phase = i; spans[i]!.from = nowMs(); o.log(`  phase: ${names[i]}`); };
  const procs = () => o.stopped.map((v) => devnet.nodes[v]!.process);
  let stopped = false;
  try {
    enter(0);
    await sleep(o.phaseMs);
    enter(1);
    for (const v of o.killed) devnet.killNode(v);
    await sleep(o.phaseMs);
    // The restart (process start, self-test) still counts as "killed"; then the members serve, sealed,
    // until their operators unseal them, as after a real restart.
    await Promise.all(o.killed.map((v) => devnet.startNode(v)));
    enter(2);
    await sleep(o.phaseMs);
    await Promise.all(o.killed.map((v) => devnet.unseal(v)));
    enter(3);
    await sleep(o.phaseMs);
    enter(4);
    for (const p of procs()) p?.kill('SIGSTOP');
    stopped = true;
    await sleep(o.phaseMs);
    enter(5);
    for (const p of procs()) p?.kill('SIGCONT');
    stopped = false;
    await sleep(o.phaseMs);
  } finally {
    if (stopped) for (const p of procs()) p?.kill('SIGCONT');
    spans[phase]!.to = nowMs();
    running = false;
    await Promise.all(lanes);
    shared.close();
  }
  return acc.flat().map((a, i) => {
    const span = spans[i % names.length]!;
    return {
      phase: a.phase, client: a.client, seconds: (span.to - span.from) / 1000, requests: a.latencies.length + a.failed + a.wrong,
      failed: a.failed, wrong: a.wrong, p50: percentile(a.latencies, 50), p99: percentile(a.latencies, 99),
      max: a.latencies.length ? Math.max(...a.latencies) : NaN,
      failures: [...a.failures.entries()].sort((x, y) => y[1] - x[1]).slice(0, 4).map(([k, n]) => `${n}x ${k}`),
    };
  });
}
