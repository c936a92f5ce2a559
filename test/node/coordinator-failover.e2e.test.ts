// Coordinator failover and signing at k across node processes (issue 12, item 1; n = 4, k = 3).
// 1. Genesis whose first coordinator stops (SIGSTOP) once every member confirmed its key package: a
//    stopped member answers nothing (DEADLINE_EXCEEDED, not UNAVAILABLE), yet the next member in
//    roster order signs the roster certificate, the others fetch it, and the stopped one, resumed,
//    takes the same certificate instead of signing a second one. PeerService proxies in front of the
//    members hold FrostCommit back until the coordinator is stopped, so that it cannot sign first.
// 2. With one member stopped, a provisioning and a contract-key publication finish well under the 3 s
//    the FrostCommit round used to wait for the stopped member.
import { jest } from '@jest/globals';
import path from 'node:path';
import Database from 'better-sqlite3';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { Devnet, DEMO_CONTRACT, DEMO_MEASUREMENTS, sleep, type CommitteeView } from '../../src/devnet/devnet.js';
import { verifyGroupSignature } from '../../src/crypto/frost.js';
import { rosterCertificateMessage } from '../../src/committee/roster.js';
import { equalBytes, utf8 } from '../../src/crypto/bytes.js';
import { generateIdentityKey } from '../../src/crypto/identity.js';
import { generateTransportKeyPair } from '../../src/crypto/hpke.js';
import { provisionContractKey, publishContractKey, type WorkerKeys } from '../../src/sdk/worker.js';
import { allAuditEntries } from '../../src/audit/log.js';
import { PeerProxy } from '../helpers/peer-proxy.js';
import { tempDir } from '../helpers/node.js';

jest.setTimeout(180_000);

async function until(what: string, timeoutMs: number, ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('coordinator failover and signing at k with a stopped member (n = 4, k = 3)', () => {
  const proxies = Array.from({ length: 4 }, () => new PeerProxy());
  let devnet: Devnet;
  let holdCommits = true;
  /** Devnet indexes in roster order (the roster is sorted by node id). */
  let order: number[] = [];

  /** How member i completed genesis, from its audit log ('signed' or 'fetched'). */
  const completedHow = (i: number): string => {
    const db = new Database(path.join(devnet.nodes[i]!.dir, 'gatekeeper.sqlite'), { readonly: true });
    try {
      const done = [...allAuditEntries(db)].find((e) => e.action === 'genesis.complete');
      return done ? (JSON.parse(done.detailJson) as { how: string }).how : 'not complete';
    } finally {
      db.close();
    }
  };
  async function submitGenesis(): Promise<void> {
    const snapshot = await devnet.genesisSnapshot(1, 4, 3);
    const res = await devnet.operatorCall<{ forwardErrors: string[] }>(0, 'SubmitGenesis', { snapshot, forward: true });
    expect(res.forwardErrors).toEqual([]);
  }
  const state = (i: number) => devnet.status(i).then((s) => s.ceremonyState, () => 'DOWN');

  beforeAll(async () => {
    const endpoints = await Promise.all(proxies.map((p) => p.listen()));
    devnet = new Devnet({ dir: tempDir('failover'), nodes: 4, threshold: 3, phaseTimeoutMs: 60_000, advertise: (i) => endpoints[i]! });
    await devnet.create();
    proxies.forEach((p, i) => {
      p.setTarget(devnet.nodes[i]!.listen);
      p.rewrite = async (method, _req, res) => {
        if (holdCommits && method === 'FrostCommit') throw new Error('held back by the test');
        return res;
      };
    });
    await Promise.all(devnet.nodes.map((_, i) => devnet.startNode(i)));
    await Promise.all(devnet.nodes.map((_, i) => devnet.unseal(i)));
    const ids = await Promise.all(devnet.nodes.map((_, i) => devnet.status(i).then((s) => bytesToHex(s.nodeId))));
    order = ids.map((id, i) => ({ id, i })).sort((a, b) => a.id.localeCompare(b.id)).map((x) => x.i);
  });
  afterAll(async () => {
    await devnet.stop();
    await Promise.all(proxies.map((p) => p.close()));
  });

  test('the first coordinator stopped after every member confirmed: the next member certifies, and the first takes that certificate back', async () => {
    const [first, second] = [order[0]!, order[1]!];
    await submitGenesis();
    await until('every member CONFIRMED', 90_000, async () => (await Promise.all(devnet.nodes.map((_, i) => state(i)))).every((s) => s === 'CONFIRMED'));

    devnet.pauseNode(first);
    holdCommits = false;
    const started = Date.now();
    const others = order.filter((i) => i !== first);
    await until('the other members COMPLETE', 45_000, async () => (await Promise.all(others.map(state))).every((s) => s === 'COMPLETE'));
    const failoverMs = Date.now() - started;
    // ~4 s here on a loaded 2-core machine. Before, when only UNAVAILABLE counted, each timeout of the
    // stopped coordinator cleared the evidence again and failover waited on peer health's growing
    // backoff (26.5 s in the same run conditions; without peer health, until the phase deadline).
    expect(failoverMs).toBeLessThan(12_000);

    const views = await Promise.all(others.map((i) => devnet.committee(i)));
    const cert = (v: CommitteeView) => v.certificates[v.certificates.length - 1]!;
    for (const v of views) {
      expect(equalBytes(cert(v).rosterBytes, cert(views[0]!).rosterBytes)).toBe(true);
      expect(equalBytes(cert(v).signature, cert(views[0]!).signature)).toBe(true);
    }
    expect(verifyGroupSignature(views[0]!.committeeKey, rosterCertificateMessage(1, cert(views[0]!).rosterBytes), cert(views[0]!).signature)).toBe(true);
    // The next member in roster order signed it (the stopped one could not); the others fetched it.
    expect(others.map((i) => [i, completedHow(i)])).toEqual(others.map((i) => [i, i === second ? 'signed' : 'fetched']));

    devnet.resumeNode(first);
    await until('the resumed coordinator COMPLETE', 30_000, async () => (await state(first)) === 'COMPLETE');
    // One certificate everywhere: the resumed coordinator fetched it (members refuse to sign a second one).
    await devnet.checkCommittee();
    expect(completedHow(first)).toBe('fetched');
  });

  test('with one member stopped, provisioning and publication finish without waiting for it', async () => {
    if ((await Promise.all(devnet.nodes.map((_, i) => state(i)))).some((s) => s !== 'COMPLETE')) {
      // Run on its own: form the committee plainly.
      holdCommits = false;
      await submitGenesis();
      await devnet.waitForCommittee(90_000);
    }
    const view = await devnet.checkCommittee();
    await devnet.registerDemoContract();
    const demo = utf8(DEMO_CONTRACT);
    const collateralJson = JSON.stringify(await devnet.pki!.collateral({ tee: 'SGX' }));
    const makeQuote = async (reportData: Uint8Array) => ({
      quote: devnet.pki!.buildSgxQuoteV3({ mrEnclave: hexToBytes(DEMO_MEASUREMENTS.mrEnclave), mrSigner: hexToBytes(DEMO_MEASUREMENTS.mrSigner),
        isvProdId: DEMO_MEASUREMENTS.isvProdId, isvSvn: DEMO_MEASUREMENTS.isvSvn, reportData }),
      collateralJson,
    });
    const client = devnet.nodes[0]!.client;
    const once = async (version: number) => {
      const s = generateIdentityKey();
      const keys: WorkerKeys = { hpke: generateTransportKeyPair(), signing: { secretKey: s.secretKey, publicKey: s.publicKey } };
      const t0 = Date.now();
      const got = await provisionContractKey({ client, pinnedCommitteeKey: view.committeeKey, contractId: demo, version, keys, makeQuote });
      const provisionMs = Date.now() - t0;
      const t1 = Date.now();
      const published = await publishContractKey(client, { pinnedCommitteeKey: view.committeeKey, contractId: demo, version, publicKey: got.publicKey, signing: keys.signing });
      expect(bytesToHex(published.publicKey)).toBe(bytesToHex(got.publicKey));
      return { provisionMs, publishMs: Date.now() - t1 };
    };
    // Version 1 with every member up (warms the members' caches), version 2 with one member stopped.
    await devnet.governContract('rotate', demo, 2);
    const base = await once(1);
    const stopped = order.find((i) => i !== 0)!;
    devnet.pauseNode(stopped);
    try {
      const { provisionMs, publishMs } = await once(2);
      // Was >= 3 s (FrostCommit waited for the stopped member's deadline) plus the delivery push; provisioning was 10 s.
      // Bounded by twice the all-up figures too, for a heavily loaded machine.
      expect({ publishMs, ok: publishMs < Math.max(2000, 2 * base.publishMs) }).toEqual({ publishMs, ok: true });
      expect({ provisionMs, ok: provisionMs < Math.max(2500, 2 * base.provisionMs) }).toEqual({ provisionMs, ok: true });
    } finally {
      devnet.resumeNode(stopped);
    }
  });
});
