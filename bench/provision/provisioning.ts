// Provisionings through the real worker SDK (provisionContractKey) against a devnet, split into phases
// by an RpcCaller that times each call the SDK makes: GetChallenge, ProvisionContractKey (the members'
// side: the entry member fans out, every member checks the quote and seals its partial),
// GetCommittee, and the worker's own computation (whatever is left: opening, checking, combining,
// deriving, verifying the roster chain).
import { hexToBytes } from '@noble/hashes/utils.js';
import { DEMO_MEASUREMENTS } from '../../src/devnet/devnet.js';
import type { TestPki } from '../../src/attestation/test-pki/index.js';
import { generateIdentityKey } from '../../src/crypto/identity.js';
import { generateTransportKeyPair } from '../../src/crypto/hpke.js';
import type { CallOptions } from '../../src/rpc/client.js';
import type { ServiceName } from '../../src/rpc/proto.js';
import type { RpcCaller } from '../../src/sdk/client.js';
import { provisionContractKey, type WorkerKeys } from '../../src/sdk/worker.js';
import { nowMs } from './timing.js';

export interface Phases {
  challengeMs: number;
  quoteMs: number;
  /** ProvisionContractKey round trip as the worker sees it. */
  membersMs: number;
  committeeMs: number;
  /** The worker's computation: the SDK call minus its RPCs and quote building. */
  workerMs: number;
  /** The SDK call, end to end. */
  totalMs: number;
}

/** An RpcCaller that adds the wall time of each method's calls into `spent`. */
class TimedCaller implements RpcCaller {
  spent = new Map<string, number>();
  constructor(private readonly inner: RpcCaller) {}
  async call<Res = Record<string, unknown>>(service: ServiceName, method: string, request?: Record<string, unknown>, opts?: CallOptions): Promise<Res> {
    const t0 = nowMs();
    try {
      return await this.inner.call<Res>(service, method, request, opts);
    } finally {
      this.spent.set(method, (this.spent.get(method) ?? 0) + nowMs() - t0);
    }
  }
}

export function freshWorker(): WorkerKeys {
  const s = generateIdentityKey();
  return { hpke: generateTransportKeyPair(), signing: { secretKey: s.secretKey, publicKey: s.publicKey } };
}

export function demoQuote(pki: TestPki, reportData: Uint8Array): Uint8Array {
  return pki.buildSgxQuoteV3({
    mrEnclave: hexToBytes(DEMO_MEASUREMENTS.mrEnclave), mrSigner: hexToBytes(DEMO_MEASUREMENTS.mrSigner),
    isvProdId: DEMO_MEASUREMENTS.isvProdId, isvSvn: DEMO_MEASUREMENTS.isvSvn, reportData,
  });
}

export interface ProvisionTarget {
  client: RpcCaller;
  committeeKey: Uint8Array;
  contractId: Uint8Array;
  version: number;
  pki: TestPki;
  collateralJson: string;
}

/** One provisioning with fresh worker keys; throws if the committee names a bad member or refuses one. */
export async function provisionOnce(t: ProvisionTarget, expectedPublicKey?: Uint8Array): Promise<{ phases: Phases; publicKey: Uint8Array; secretKey: Uint8Array; keys: WorkerKeys }> {
  const caller = new TimedCaller(t.client);
  const keys = freshWorker();
  let quoteMs = 0;
  const t0 = nowMs();
  const r = await provisionContractKey({
    client: caller, pinnedCommitteeKey: t.committeeKey, contractId: t.contractId, version: t.version, keys,
    makeQuote: async (reportData) => {
      const q0 = nowMs();
      const quote = demoQuote(t.pki, reportData);
      quoteMs += nowMs() - q0;
      return { quote, collateralJson: t.collateralJson };
    },
  });
  const totalMs = nowMs() - t0;
  if (r.badMembers.length || r.refusals.length) {
    throw new Error(`provisioning was not clean: bad ${JSON.stringify(r.badMembers)}, refusals ${JSON.stringify(r.refusals)}`);
  }
  if (expectedPublicKey && Buffer.compare(expectedPublicKey, r.publicKey) !== 0) throw new Error('a provisioning derived a different contract key');
  const get = (m: string) => caller.spent.get(m) ?? 0;
  const phases: Phases = {
    challengeMs: get('GetChallenge'), quoteMs, membersMs: get('ProvisionContractKey'), committeeMs: get('GetCommittee'),
    workerMs: totalMs - get('GetChallenge') - quoteMs - get('ProvisionContractKey') - get('GetCommittee'), totalMs,
  };
  return { phases, publicKey: r.publicKey, secretKey: r.secretKey, keys };
}

/** `workers` concurrent workers, each provisioning back to back until `durationMs` has passed. */
export async function provisioningThroughput(targets: ProvisionTarget[], workers: number, durationMs: number, expectedPublicKey: Uint8Array):
  Promise<{ done: number; seconds: number; latencies: number[] }> {
  const latencies: number[] = [];
  const t0 = nowMs();
  const end = t0 + durationMs;
  await Promise.all(Array.from({ length: workers }, async (_, w) => {
    while (nowMs() < end) {
      const r = await provisionOnce(targets[w % targets.length]!, expectedPublicKey);
      latencies.push(r.phases.totalMs);
    }
  }));
  return { done: latencies.length, seconds: (nowMs() - t0) / 1000, latencies };
}
