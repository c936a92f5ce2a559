// DEVELOPMENT worker (DESIGN §5): fresh keys in memory, DCAP quotes or SEV-SNP reports from a test
// PKI instead of a TEE, provisioning and publication through the worker SDK, then DemoContract
// served with the keys.
// It proves the protocol end to end on a laptop; it protects nothing, because its "enclave" is
// this process.
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { generateTransportKeyPair } from '../crypto/hpke.js';
import { generateIdentityKey } from '../crypto/identity.js';
import { GatekeeperClient } from '../rpc/client.js';
import { RpcError } from '../rpc/errors.js';
import { TRANSIENT_STATUSES, withRetries } from '../sdk/failover.js';
import { provisionContractKey, publishContractKey, type WorkerKeys } from '../sdk/worker.js';
import type { WorkerConfig } from './config.js';
import { DemoContract, type Log } from './demo-contract.js';
import { testPkiQuoteMaker } from './quotes.js';
import { loadTestPki } from './test-pki-file.js';

/** The readyFile's content: what the devnet and tests need to reach the worker. */
export interface ReadyFile {
  endpoint: string;
  contracts: { id: string; version: number; publicKey: string }[];
}

export interface DevWorker {
  endpoint: string;
  contracts: (ReadyFile['contracts'][number] & { generation: number; usedMembers: string[] })[];
  close(): Promise<void>;
}

/**
 * Provisioning again while the committee answers a transient status (UNAVAILABLE, DEADLINE_EXCEEDED,
 * RESOURCE_EXHAUSTED: a member starting, between ceremonies, too slow, or rate limiting), with the
 * SDK's backoff (withRetries), for at most `timeoutMs`; `attempts` bounds the tries too (tests use 1).
 */
async function retrying<T>(what: string, log: Log, attempts: number, timeoutMs: number, f: (remainingMs: number) => Promise<T>): Promise<T> {
  let tries = 0;
  try {
    return await withRetries(async (remainingMs) => {
      tries++;
      try {
        return await f(remainingMs);
      } catch (err) {
        if (!(err instanceof RpcError) || !TRANSIENT_STATUSES.includes(err.code)) throw err;
        if (tries >= attempts) throw new LastAttempt(err);
        log(`${what}: committee answered ${grpc.status[err.code]} (${err.message.slice(0, 300)}); retry ${tries}/${attempts - 1}`);
        throw err;
      }
    }, { timeoutMs, backoffBaseMs: 500, backoffMaxMs: 4000 });
  } catch (err) {
    throw err instanceof LastAttempt ? err.cause : err;
  }
}

/** The transient failure of the last allowed attempt, thrown past withRetries. */
class LastAttempt extends Error {
  constructor(override readonly cause: RpcError) { super(cause.message); }
}

function writeAtomic(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/** Channel credentials for the committee: TLS with the configured CA (and client certificate), else plaintext. */
export function committeeCredentials(config: WorkerConfig): grpc.ChannelCredentials {
  const tls = config.tls;
  if (!tls) return grpc.credentials.createInsecure();
  const read = (f: string) => fs.readFileSync(f);
  return grpc.credentials.createSsl(read(tls.caFile), tls.keyFile ? read(tls.keyFile) : null, tls.certFile ? read(tls.certFile) : null);
}

/** Starts the development worker; rejects (nothing served) if any contract cannot be provisioned. */
export async function startDevWorker(config: WorkerConfig, log: Log = () => {}, opts: { retries?: number; retryTimeoutMs?: number } = {}): Promise<DevWorker> {
  log(`DEVELOPMENT worker: ${config.tee === 'SNP' ? 'SEV-SNP reports' : 'quotes'} are signed by a test PKI, not by a TEE; never use it for real secrets`);
  const pki = loadTestPki(config.testPki);
  log(`test PKI loaded from ${config.testPki}; ${config.tee === 'SNP' ? `attesting as an SEV-SNP ${pki.snp?.product ?? ''} guest` : `quoting as ${config.tee}`}`);
  // Fresh per process and never written anywhere: a restarted worker is a new worker.
  const keys: WorkerKeys = { hpke: generateTransportKeyPair(), signing: generateIdentityKey() };
  log(`worker keys: hpke ${bytesToHex(keys.hpke.publicKey).slice(0, 16)}…, signing ${bytesToHex(keys.signing.publicKey)}`);
  const makeQuote = testPkiQuoteMaker(pki, config.measurements);
  const client = new GatekeeperClient(config.gatekeeper, committeeCredentials(config));
  log(`committee connection: ${config.tls ? `TLS (CA ${config.tls.caFile}${config.tls.certFile ? ', client certificate' : ''})` : 'plaintext'}`);
  const demo = new DemoContract(log);
  const contracts: DevWorker['contracts'] = [];
  let server: grpc.Server | undefined;
  try {
    for (const c of config.contracts) {
      const name = `contract ${JSON.stringify(c.idText)} v${c.version}`;
      log(`${name}: provisioning through ${config.gatekeeper}`);
      const got = await retrying(name, log, opts.retries ?? 20, opts.retryTimeoutMs ?? 90_000, () => provisionContractKey({
        client, pinnedCommitteeKey: config.committeeKey, contractId: c.id, version: c.version, keys, makeQuote,
      }));
      log(`${name}: combined ${got.usedMembers.length} of ${got.committee.members.length} members' partials (epoch ${got.committee.epoch}, k=${got.committee.threshold}), generation ${got.generation}`);
      for (const b of got.badMembers) log(`${name}: dropped member ${b.nodeId}: ${b.reason}`);
      for (const r of got.refusals) log(`${name}: refusal: ${r}`);
      const cert = await publishContractKey(client, {
        pinnedCommitteeKey: config.committeeKey, contractId: c.id, version: c.version, publicKey: got.publicKey, signing: keys.signing,
      });
      log(`${name}: published ${bytesToHex(got.publicKey)}, certificate verifies under the pinned committee key (generation ${cert.generation})`);
      demo.addKey(c.id, c.version, got.secretKey);
      got.secretKey.fill(0);
      contracts.push({ id: c.idText, version: c.version, publicKey: bytesToHex(got.publicKey), generation: cert.generation, usedMembers: got.usedMembers });
    }
    const served = await demo.serve(config.listen);
    server = served.server;
    log(`serving gatekeeper.v1.DemoContract on ${served.endpoint}`);
    if (config.readyFile) {
      const ready: ReadyFile = { endpoint: served.endpoint, contracts: contracts.map(({ id, version, publicKey }) => ({ id, version, publicKey })) };
      writeAtomic(config.readyFile, JSON.stringify(ready) + '\n');
      log(`ready: wrote ${config.readyFile}`);
    }
    const s = server;
    return {
      endpoint: served.endpoint, contracts,
      close: async () => {
        client.close();
        await new Promise<void>((resolve) => s.tryShutdown(() => resolve()));
      },
    };
  } catch (err) {
    client.close();
    server?.forceShutdown();
    throw err;
  }
}
