// Provisioning with one member stopped vs all up (issue 12, bench/chaos item 2): sequential
// provisionings through the worker SDK as the development worker runs them (provisionContractKey over a
// FailoverClient of every member, retried on a transient status within 60 s), with fresh worker keys and
// a development DCAP quote each time. One client per phase, as one worker process would keep it.
import type { TestPki } from '../../src/attestation/test-pki/index.js';
import { equalBytes } from '../../src/crypto/bytes.js';
import type { Devnet } from '../../src/devnet/devnet.js';
import { FailoverClient, withRetries } from '../../src/sdk/failover.js';
import { provisionContractKey } from '../../src/sdk/worker.js';
import { demoQuote, freshWorker } from '../provision/provisioning.js';
import { nowMs, percentile } from '../provision/timing.js';

export interface ProvisionRow { phase: string; runs: number; failed: number; p50: number; p99: number; failures: string[] }

export interface ProvisionChaosOptions {
  committeeKey: Uint8Array;
  contractId: Uint8Array;
  version: number;
  expectedKey: Uint8Array;
  pki: TestPki;
  collateralJson: string;
  runs: number;
  log(s: string): void;
}

async function phase(devnet: Devnet, label: string, o: ProvisionChaosOptions): Promise<ProvisionRow> {
  o.log(`  provisioning: ${label}`);
  const client = new FailoverClient(devnet.nodes.map((n) => n.listen), {
    channelOptions: { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1000 },
  });
  const latencies: number[] = [];
  const failures: string[] = [];
  try {
    for (let i = 0; i < o.runs; i++) {
      const t0 = nowMs();
      try {
        const r = await withRetries(() => provisionContractKey({
          client, pinnedCommitteeKey: o.committeeKey, contractId: o.contractId, version: o.version, keys: freshWorker(),
          makeQuote: async (reportData) => ({ quote: demoQuote(o.pki, reportData), collateralJson: o.collateralJson }),
        }), { timeoutMs: 60_000 });
        if (!equalBytes(r.publicKey, o.expectedKey)) throw new Error('derived a different contract key');
        latencies.push(nowMs() - t0);
      } catch (err) {
        failures.push((err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 200));
      }
    }
  } finally {
    client.close();
  }
  return { phase: label, runs: o.runs, failed: failures.length, p50: percentile(latencies, 50), p99: percentile(latencies, 99), failures: [...new Set(failures)].slice(0, 3) };
}

/** All up; one member stopped (not the first endpoint); the first endpoint stopped. Every member runs again after. */
export async function provisioningUnderChaos(devnet: Devnet, o: ProvisionChaosOptions): Promise<ProvisionRow[]> {
  const rows: ProvisionRow[] = [];
  const last = devnet.nodes.length - 1;
  rows.push(await phase(devnet, 'all up', o));
  for (const [i, label] of [[last, `${devnet.nodes[last]!.name} SIGSTOPped (not the entry)`], [0, `${devnet.nodes[0]!.name} SIGSTOPped (first endpoint)`]] as const) {
    const p = devnet.nodes[i]!.process;
    p?.kill('SIGSTOP');
    try {
      rows.push(await phase(devnet, label, o));
    } finally {
      p?.kill('SIGCONT');
    }
  }
  return rows;
}
