// Devnet set-up steps for bench/chaos with deadlines that hold on a loaded shared machine (the devnet's
// own helpers give each call 10 s, which five starting nodes beside other users' tests can miss).
import { DEMO_CONTRACT, DEMO_POLICY_ID, type CommitteeView, type Devnet } from '../../src/devnet/devnet.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { RpcError } from '../../src/rpc/errors.js';
import { withRetries } from '../../src/sdk/failover.js';

const SLOW = 60_000;

export function slowOperatorCall<Res>(devnet: Devnet, i: number, method: string, req: Record<string, unknown>): Promise<Res> {
  return devnet.nodes[i]!.client.call<Res>('OperatorService', method, req, { sign: { role: 'operator', secretKey: devnet.operator.secretKey }, timeoutMs: SLOW });
}

/** Unseals node i with two of its shares; a share the node already counted, or a node already unsealed, is fine. */
export async function unsealSlow(devnet: Devnet, i: number): Promise<void> {
  for (const share of devnet.nodes[i]!.unsealShares.slice(0, 2)) {
    await devnet.nodes[i]!.client.call('OperatorService', 'Unseal', { share }, { timeoutMs: SLOW }).catch((err: unknown) => {
      if (!(err instanceof RpcError && /already unsealed|not sealed/i.test(err.message))) throw err;
    });
  }
}

/** Starts and unseals every node, submits a genesis snapshot for n seats and threshold k through node-1. */
export async function startGenesis(devnet: Devnet, n: number, k: number, phaseTimeoutMs?: number): Promise<void> {
  if (devnet.nodes.length === 0) await devnet.create();
  await Promise.all(devnet.nodes.map((_, i) => devnet.startNode(i)));
  await Promise.all(devnet.nodes.map((_, i) => unsealSlow(devnet, i)));
  const snapshot = await withRetries(() => devnet.genesisSnapshot(1, n, k, phaseTimeoutMs), { timeoutMs: 120_000 });
  const res = await slowOperatorCall<{ forwardErrors: string[] }>(devnet, 0, 'SubmitGenesis', { snapshot, forward: true });
  if (res.forwardErrors.length) throw new Error(`forwarding failed: ${res.forwardErrors.join('; ')}`);
}

/** The devnet's whole genesis with slow-machine deadlines; returns the checked committee. */
export async function formCommittee(devnet: Devnet, n: number, k: number): Promise<CommitteeView> {
  await startGenesis(devnet, n, k);
  await devnet.waitForCommittee(300_000);
  return withRetries(() => devnet.checkCommittee(), { timeoutMs: 120_000 });
}

/** devnet.registerDemoContract with slow-machine deadlines. */
export async function registerDemo(devnet: Devnet): Promise<void> {
  const signed = devnet.signPolicy(devnet.demoPolicy());
  for (let i = 0; i < devnet.nodes.length; i++) {
    await slowOperatorCall(devnet, i, 'SetReleasePolicy', signed);
    await slowOperatorCall(devnet, i, 'RegisterContract', { contractId: utf8(DEMO_CONTRACT), namespace: 'demo', policyId: DEMO_POLICY_ID });
  }
}
