// SEV-SNP workers across node processes (issue 14, items 2-4): the development SNP worker
// (`gatekeeper worker --tee snp`) provisions its contract key from a devnet whose members each verify
// its report against the development ARK, publishes it, and opens a client's envelope; the same
// worker is refused under a namespace that lists only SGX; a REPORT_DATA that does not bind the
// caller is refused before any verification or fan-out; a node that trusts only AMD's ARKs refuses a
// report from the development PKI; a revoked SNP MEASUREMENT is refused like a revoked MRENCLAVE.
import { jest } from '@jest/globals';
import fs from 'node:fs';
import { status } from '@grpc/grpc-js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { Devnet, DEMO_SNP_CONTRACT, DEMO_SNP_MEASUREMENT, type CommitteeView } from '../../src/devnet/devnet.js';
import { generateIdentityKey } from '../../src/crypto/identity.js';
import { generateTransportKeyPair } from '../../src/crypto/hpke.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { workerReportData } from '../../src/keys/wire.js';
import { RpcError } from '../../src/rpc/errors.js';
import { provisionContractKey, publishContractKey, type WorkerKeys } from '../../src/sdk/worker.js';
import { getContractKey } from '../../src/sdk/client.js';
import type { GatekeeperClient } from '../../src/rpc/client.js';
import { tempDir } from '../helpers/node.js';

jest.setTimeout(240_000);

const snpContract = utf8(DEMO_SNP_CONTRACT);
/** Registered under namespace `demo`, whose policy block lists only SGX. */
const sgxOnlyContract = utf8('snp-in-sgx-namespace');

function freshWorker(): WorkerKeys {
  const s = generateIdentityKey();
  return { hpke: generateTransportKeyPair(), signing: { secretKey: s.secretKey, publicKey: s.publicKey } };
}

async function refusal(p: Promise<unknown>): Promise<RpcError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(RpcError);
  return err as RpcError;
}

describe('SEV-SNP workers on a devnet with n = 4, k = 3', () => {
  let devnet: Devnet;
  let view: CommitteeView;

  /** SNP evidence from the development PKI the nodes trust, claiming the demo SNP measurement. */
  const snpMaker = (measurement = DEMO_SNP_MEASUREMENT) => async (reportData: Uint8Array) => {
    const pki = devnet.snpPki!;
    return { snp: { report: pki.buildReport({ reportData, measurement: hexToBytes(measurement) }), vcek: pki.vcek.der, askArkPem: pki.askArkPem, crl: await pki.crl() } };
  };

  /** ProvisionContractKey by hand with SNP evidence, so a test can bend REPORT_DATA. */
  async function provisionRaw(client: GatekeeperClient, keys: WorkerKeys, contractId: Uint8Array, reportData?: Uint8Array) {
    const ch = await client.call<Record<string, unknown>>('WorkerService', 'GetChallenge', {});
    const rd = reportData ?? workerReportData(keys.hpke.publicKey, keys.signing.publicKey, ch.nonce as Uint8Array);
    const { snp } = await snpMaker()(rd);
    return client.call<{ partials: unknown[] }>('WorkerService', 'ProvisionContractKey', {
      contractId, version: 1, snp, workerHpkeKey: keys.hpke.publicKey, workerSigningKey: keys.signing.publicKey, nonce: ch.nonce,
      challengeExpiresAtMs: ch.expiresAtMs, challengeIssuerNodeId: ch.issuerNodeId, challengeSignature: ch.signature,
    }, { timeoutMs: 30_000 });
  }

  /** Full verifications (by evidence kind) and fan-outs, summed over every running member. */
  async function counters(nodes = devnet.nodes): Promise<{ snpVerifications: number; verifications: number; fanOuts: number }> {
    let snpVerifications = 0;
    let verifications = 0;
    let fanOuts = 0;
    for (const n of nodes) {
      const text = await (await fetch(`http://${n.metricsEndpoint}/metrics`)).text();
      for (const m of text.matchAll(/^gatekeeper_quote_verifications_total\{([^}]*)\} (\d+)$/gm)) {
        verifications += Number(m[2]);
        if (/tee="snp"/.test(m[1]!)) snpVerifications += Number(m[2]);
      }
      for (const m of text.matchAll(/^gatekeeper_provision_fanouts_total (\d+)$/gm)) fanOuts += Number(m[1]);
    }
    return { snpVerifications, verifications, fanOuts };
  }

  beforeAll(async () => {
    devnet = new Devnet({ dir: tempDir('snp-prov'), nodes: 4, threshold: 3 });
    view = await devnet.genesis();
    await devnet.registerDemoContract();
    await devnet.registerContract(DEMO_SNP_CONTRACT, 'demo-snp');
    await devnet.registerContract('snp-in-sgx-namespace', 'demo');
  });
  afterAll(async () => {
    await devnet.stop();
  });

  test('the development SNP worker provisions, publishes, and opens what a client encrypted to the certified key', async () => {
    const before = await counters();
    const worker = await devnet.startSnpWorker(view.committeeKey);
    const after = await counters();
    // Every member verified the report itself: one fan-out, a verification on each of the 4 members.
    expect(after.snpVerifications - before.snpVerifications).toBe(4);
    expect(after.fanOuts - before.fanOuts).toBe(1);
    const res = await devnet.invokeDemo(view.committeeKey, utf8('sealed by an SNP guest'), 3, 1, { snp: true });
    expect(bytesToHex(res.digest)).toBe(bytesToHex(res.expected));
    expect(res.length).toBe(22);
    for (const n of devnet.nodes) {
      const k = await getContractKey(n.client, view.committeeKey, snpContract, 0);
      expect(bytesToHex(k.publicKey)).toBe(worker.publicKey);
    }
    const log = fs.readFileSync(`${devnet.opts.dir}/worker-snp/worker.log`, 'utf8');
    expect(log).toMatch(/attesting as an SEV-SNP Milan guest/);
  });

  test('an SNP worker under a namespace that lists only SGX is refused by every member, and nothing is released', async () => {
    const keys = freshWorker();
    const before = await counters();
    for (const n of devnet.nodes) {
      const err = await refusal(provisionContractKey({ client: n.client, pinnedCommitteeKey: view.committeeKey, contractId: sgxOnlyContract,
        version: 1, keys, makeQuote: snpMaker() }));
      expect(status[err.code]).toBe('PERMISSION_DENIED');
      expect(err.message).toMatch(/release policy refuses this worker \(tee\): SNP workers are not allowed/);
    }
    // Refused before any certificate work and never fanned out; no member recorded a release.
    expect(await counters()).toEqual(before);
    const pk = new Uint8Array(33).fill(2);
    for (const n of devnet.nodes) {
      const err = await refusal(publishContractKey(n.client, { pinnedCommitteeKey: view.committeeKey, contractId: sgxOnlyContract, version: 1,
        publicKey: pk, signing: keys.signing }));
      expect(err.message).toMatch(/never provisioned that worker/);
    }
    // The same worker and evidence pass under the snp namespace: the refusal was the namespace's.
    const ok = await provisionContractKey({ client: devnet.nodes[0]!.client, pinnedCommitteeKey: view.committeeKey, contractId: snpContract,
      version: 1, keys: freshWorker(), makeQuote: snpMaker() });
    expect(ok.usedMembers).toHaveLength(3);
  });

  test('a measurement outside the snp allow-list is refused after verification', async () => {
    const err = await refusal(provisionContractKey({ client: devnet.nodes[1]!.client, pinnedCommitteeKey: view.committeeKey, contractId: snpContract,
      version: 1, keys: freshWorker(), makeQuote: snpMaker('ab'.repeat(48)) }));
    expect(status[err.code]).toBe('PERMISSION_DENIED');
    expect(err.message).toMatch(/\(measurement\): MEASUREMENT abab/);
  });

  test('a report whose REPORT_DATA does not bind the caller is refused before verification and without fan-out', async () => {
    const before = await counters();
    const victim = freshWorker();
    // A genuine report made for another worker's keys, replayed with the attacker's keys.
    const stolen = workerReportData(victim.hpke.publicKey, victim.signing.publicKey, new Uint8Array(32).fill(1));
    const err = await refusal(provisionRaw(devnet.nodes[1]!.client, freshWorker(), snpContract, stolen));
    expect(status[err.code]).toBe('PERMISSION_DENIED');
    expect(err.message).toMatch(/REPORT_DATA does not bind the worker's keys and the challenge nonce/);
    expect(await counters()).toEqual(before);
  });

  test('a node that trusts only AMD\'s ARKs refuses a report signed under the development ARK', async () => {
    // node-4 restarts with no attestation.snpArkFiles: it trusts AMD's pinned ARKs only.
    const i = 3;
    const n = devnet.nodes[i]!;
    await devnet.stopNode(i);
    const config = JSON.parse(fs.readFileSync(n.configFile, 'utf8')) as { attestation: Record<string, unknown> };
    config.attestation.snpArkFiles = [];
    fs.writeFileSync(n.configFile, JSON.stringify(config, null, 2));
    await devnet.startNode(i);
    await devnet.unseal(i);
    const s = await n.client.call<{ snpArkSha256: string[]; developmentSnpArk: boolean }>('OperatorService', 'Status', {});
    expect(s.developmentSnpArk).toBe(false);
    expect(s.snpArkSha256).toHaveLength(3);
    const before = await counters([n]);
    const err = await refusal(provisionRaw(n.client, freshWorker(), snpContract));
    expect(status[err.code]).toBe('PERMISSION_DENIED');
    expect(err.message).toMatch(/the SNP report does not verify \(snp-ark\): the ARK in the chain \('ARK-Milan'\) is not a pinned ARK/);
    const after = await counters([n]);
    expect(after.snpVerifications - before.snpVerifications).toBe(1);
    expect(after.fanOuts).toBe(before.fanOuts);
    // The members that trust the development ARK still provision the same worker evidence.
    const ok = await provisionContractKey({ client: devnet.nodes[0]!.client, pinnedCommitteeKey: view.committeeKey, contractId: snpContract,
      version: 1, keys: freshWorker(), makeQuote: snpMaker() });
    expect(ok.usedMembers).toHaveLength(3);
    expect(ok.refusals.join('\n')).toMatch(/snp-ark/);
  });

  test('a revoked SNP MEASUREMENT is refused, as a revoked MRENCLAVE is', async () => {
    for (let i = 0; i < devnet.nodes.length; i++) {
      await devnet.operatorCall(i, 'RevokeWorker', { measurement: hexToBytes(DEMO_SNP_MEASUREMENT), reason: 'test: guest image withdrawn' });
    }
    const err = await refusal(provisionContractKey({ client: devnet.nodes[0]!.client, pinnedCommitteeKey: view.committeeKey, contractId: snpContract,
      version: 1, keys: freshWorker(), makeQuote: snpMaker() }));
    expect(status[err.code]).toBe('PERMISSION_DENIED');
    expect(err.message).toMatch(/this worker's measurement is revoked: test: guest image withdrawn/);
  });
});
