// Fan-outs that return as soon as they can, and certified keys that reach every member (issue 12,
// items 1 and 2), across node processes: a member stopped (SIGSTOP) or killed during provisioning and
// publication, then back; every member but the entry one stopped.
import { jest } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { Devnet, DEMO_CONTRACT, DEMO_MEASUREMENTS, type CommitteeView } from '../../src/devnet/devnet.js';
import { generateIdentityKey } from '../../src/crypto/identity.js';
import { generateTransportKeyPair } from '../../src/crypto/hpke.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { workerReportData } from '../../src/keys/wire.js';
import { RpcError } from '../../src/rpc/errors.js';
import { provisionContractKey, publishContractKey, type WorkerKeys } from '../../src/sdk/worker.js';
import { tempDir } from '../helpers/node.js';

jest.setTimeout(120_000);

const demo = utf8(DEMO_CONTRACT);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freshWorker(): WorkerKeys {
  const s = generateIdentityKey();
  return { hpke: generateTransportKeyPair(), signing: { secretKey: s.secretKey, publicKey: s.publicKey } };
}

describe('fan-outs with members down (n = 3, k = 2)', () => {
  let devnet: Devnet;
  let view: CommitteeView;
  const stopped = new Set<number>();

  const makeQuote = async (reportData: Uint8Array) => ({
    quote: devnet.pki!.buildSgxQuoteV3({ mrEnclave: hexToBytes(DEMO_MEASUREMENTS.mrEnclave), mrSigner: hexToBytes(DEMO_MEASUREMENTS.mrSigner),
      isvProdId: DEMO_MEASUREMENTS.isvProdId, isvSvn: DEMO_MEASUREMENTS.isvSvn, reportData }),
    collateralJson: JSON.stringify(await devnet.pki!.collateral({ tee: 'SGX' })),
  });

  const signal = (i: number, sig: 'SIGSTOP' | 'SIGCONT') => {
    devnet.nodes[i]!.process!.kill(sig);
    if (sig === 'SIGSTOP') stopped.add(i); else stopped.delete(i);
  };

  /** Provisions and publishes (cid, version) through node `entry`; returns the public key and how long provisioning took. */
  async function provisionAndPublish(version: number, entry = 0): Promise<{ publicKey: string; provisionMs: number }> {
    const keys = freshWorker();
    const client = devnet.nodes[entry]!.client;
    const started = Date.now();
    const got = await provisionContractKey({ client, pinnedCommitteeKey: view.committeeKey, contractId: demo, version, keys, makeQuote });
    const provisionMs = Date.now() - started;
    await publishContractKey(client, { pinnedCommitteeKey: view.committeeKey, contractId: demo, version, publicKey: got.publicKey, signing: keys.signing });
    return { publicKey: bytesToHex(got.publicKey), provisionMs };
  }

  /** What every member answers for the current key (version 0), polled until they agree on `expected` or the deadline. */
  async function waitForSameLatest(expected: { version: number; publicKey: string }, timeoutMs: number): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const answers = await Promise.all(devnet.nodes.map((n) => n.client.call<{ version: number; publicKey: Uint8Array }>('PublicService', 'GetContractKey',
        { contractId: demo, version: 0 }, { timeoutMs: 3000 }).then((k) => `v${k.version} ${bytesToHex(k.publicKey)}`, (e: unknown) => `error ${String(e)}`)));
      if (answers.every((a) => a === `v${expected.version} ${expected.publicKey}`) || Date.now() > deadline) return answers;
      await sleep(300);
    }
  }

  beforeAll(async () => {
    devnet = new Devnet({ dir: tempDir('fanout'), nodes: 3, threshold: 2 });
    view = await devnet.genesis();
    await devnet.registerDemoContract();
    // Versions 2 and 3 are issued first, while every member is up (governance reaches each member itself).
    for (const v of [2, 3]) await devnet.governContract('rotate', demo, v);
  });
  afterAll(async () => {
    for (const i of [...stopped]) signal(i, 'SIGCONT');
    await devnet.stop();
  });

  test('with one member stopped (SIGSTOP), provisioning returns without waiting for it, and the member gets the key once it runs again', async () => {
    signal(2, 'SIGSTOP');
    const v1 = await provisionAndPublish(1);
    // Was 10 s (the fan-out waited for the stopped member's deadline); k partials arrive in well under a second.
    expect(v1.provisionMs).toBeLessThan(5000);
    signal(2, 'SIGCONT');
    const k = await (async () => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          return await devnet.nodes[2]!.client.call<{ publicKey: Uint8Array }>('PublicService', 'GetContractKey', { contractId: demo, version: 1 });
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await sleep(300);
        }
      }
    })();
    expect(bytesToHex(k.publicKey)).toBe(v1.publicKey);
  });

  test('a member killed during a publication gets the key after restart, and every member then serves the same latest version', async () => {
    devnet.killNode(2);
    const v2 = await provisionAndPublish(2);
    expect(v2.provisionMs).toBeLessThan(5000);
    await devnet.startNode(2);
    await devnet.unseal(2);
    const answers = await waitForSameLatest({ version: 2, publicKey: v2.publicKey }, 40_000);
    expect(answers).toEqual(devnet.nodes.map(() => `v2 ${v2.publicKey}`));
  });

  test('a member that missed a publication fetches the certified key from the other members while the coordinator is down', async () => {
    await devnet.stopNode(2);
    // The member at index 1 coordinates the publication of version 3 and goes down before it could deliver to the one at index 2.
    const v3 = await provisionAndPublish(3, 1);
    devnet.killNode(1);
    await devnet.startNode(2);
    await devnet.unseal(2);
    const deadline = Date.now() + 40_000;
    let answer = '';
    while (Date.now() < deadline) {
      answer = await devnet.nodes[2]!.client.call<{ version: number; publicKey: Uint8Array }>('PublicService', 'GetContractKey', { contractId: demo, version: 0 })
        .then((k) => `v${k.version} ${bytesToHex(k.publicKey)}`, (e: unknown) => `error ${String(e)}`);
      if (answer === `v3 ${v3.publicKey}`) break;
      await sleep(300);
    }
    expect(answer).toBe(`v3 ${v3.publicKey}`);
    await devnet.startNode(1);
    await devnet.unseal(1);
    const answers = await waitForSameLatest({ version: 3, publicKey: v3.publicKey }, 30_000);
    expect(answers).toEqual(devnet.nodes.map(() => `v3 ${v3.publicKey}`));
  });

  test('with every member but the entry one stopped, the worker gets UNAVAILABLE naming each silent member, within its deadline', async () => {
    for (const i of [1, 2]) signal(i, 'SIGSTOP');
    try {
      const keys = freshWorker();
      const client = devnet.nodes[0]!.client;
      const ch = await client.call<Record<string, unknown>>('WorkerService', 'GetChallenge', {});
      const nonce = ch.nonce as Uint8Array;
      const { quote, collateralJson } = await makeQuote(workerReportData(keys.hpke.publicKey, keys.signing.publicKey, nonce));
      const started = Date.now();
      const err = await client.call('WorkerService', 'ProvisionContractKey', {
        contractId: demo, version: 3, dcap: { quote, collateralJson }, workerHpkeKey: keys.hpke.publicKey,
        workerSigningKey: keys.signing.publicKey, nonce, challengeExpiresAtMs: ch.expiresAtMs, challengeIssuerNodeId: ch.issuerNodeId,
        challengeSignature: ch.signature,
      }, { timeoutMs: 6000 }).then(() => undefined, (e: unknown) => e);
      const tookMs = Date.now() - started;
      expect(err).toBeInstanceOf(RpcError);
      expect(status[(err as RpcError).code]).toBe('UNAVAILABLE');
      expect((err as RpcError).message).toMatch(/only 1 of the 2 members needed released a partial/);
      for (const i of [1, 2]) {
        const id = bytesToHex(view.members.find((m) => m.endpoint === devnet.nodes[i]!.endpoint)!.nodeId);
        expect((err as RpcError).message).toMatch(new RegExp(`node ${id}: no answer (within|yet)`));
      }
      expect(tookMs).toBeLessThan(6000);
    } finally {
      for (const i of [1, 2]) signal(i, 'SIGCONT');
    }
  });
});
