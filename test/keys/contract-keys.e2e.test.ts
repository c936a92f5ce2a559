// Contract keys end to end across node processes (issue 6): attested provisioning from k members,
// committee-certified public keys, client encryption, and every refusal a member must make.
import { jest } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { randomBytes } from 'node:crypto';
import { Devnet, DEMO_CONTRACT, DEMO_MEASUREMENTS, DEMO_POLICY_ID, type CommitteeView } from '../../src/devnet/devnet.js';
import { generateIdentityKey, signTagged } from '../../src/crypto/identity.js';
import { generateTransportKeyPair, hpkeSeal } from '../../src/crypto/hpke.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { challengeMessage, contractGovernanceMessage, contractKeyCertificateMessage, partialInfo, publicationMessage, workerReportData, type ContractAction } from '../../src/keys/wire.js';
import { decodeMessage, encodeMessage } from '../../src/rpc/messages.js';
import { RpcError } from '../../src/rpc/errors.js';
import { provisionContractKey, publishContractKey, type WorkerKeys } from '../../src/sdk/worker.js';
import { getContractKey } from '../../src/sdk/client.js';
import { ContractKeyVersionError, ProvisioningError } from '../../src/sdk/errors.js';
import { PeerProxy, type Rewrite } from '../helpers/peer-proxy.js';
import { readNodeSecrets } from '../helpers/devnet-secrets.js';
import { tempDir } from '../helpers/node.js';
import type { SgxQuoteParams } from '../../src/attestation/test-pki/index.js';

jest.setTimeout(240_000);

const demo = utf8(DEMO_CONTRACT);

function freshWorker(): WorkerKeys {
  const s = generateIdentityKey();
  return { hpke: generateTransportKeyPair(), signing: { secretKey: s.secretKey, publicKey: s.publicKey } };
}

async function expectRefused(p: Promise<unknown>, code: status, pattern: RegExp): Promise<void> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(RpcError);
  expect(status[(err as RpcError).code]).toBe(status[code]);
  expect((err as RpcError).message).toMatch(pattern);
}

describe('contract keys with n = 4, k = 3', () => {
  let devnet: Devnet;
  let view: CommitteeView;
  const proxies = [new PeerProxy(), new PeerProxy()];

  /** Quotes from the development PKI the nodes trust, claiming the demo enclave unless told otherwise. */
  const quoteMaker = (over: Partial<SgxQuoteParams> = {}, collateral: Parameters<NonNullable<Devnet['pki']>['collateral']>[0] = { tee: 'SGX' }) =>
    async (reportData: Uint8Array) => ({
      quote: devnet.pki!.buildSgxQuoteV3({
        mrEnclave: hexToBytes(DEMO_MEASUREMENTS.mrEnclave), mrSigner: hexToBytes(DEMO_MEASUREMENTS.mrSigner),
        isvProdId: DEMO_MEASUREMENTS.isvProdId, isvSvn: DEMO_MEASUREMENTS.isvSvn, reportData, ...over,
      }),
      collateralJson: JSON.stringify(await devnet.pki!.collateral(collateral)),
    });

  /** Registers a contract of the demo namespace on every member (current version 1). */
  async function registerContract(name: string): Promise<Uint8Array> {
    const cid = utf8(name);
    for (let i = 0; i < devnet.nodes.length; i++) await devnet.operatorCall(i, 'RegisterContract', { contractId: cid, namespace: 'demo', policyId: DEMO_POLICY_ID });
    return cid;
  }

  const governanceSignatures = (action: ContractAction, cid: Uint8Array, version: number) =>
    devnet.governance.slice(0, 2).map((g) => ({ key: g.publicKey, signature: signTagged(g.secretKey, 'contract-governance', contractGovernanceMessage(action, cid, version)) }));

  /** Full quote verifications and fan-outs, summed over every member (Prometheus counters). */
  async function provisioningCounters(): Promise<{ verifications: number; fanOuts: number }> {
    let verifications = 0;
    let fanOuts = 0;
    for (const n of devnet.nodes) {
      const text = await (await fetch(`http://${n.metricsEndpoint}/metrics`)).text();
      for (const m of text.matchAll(/^gatekeeper_quote_verifications_total\{[^}]*\} (\d+)$/gm)) verifications += Number(m[1]);
      for (const m of text.matchAll(/^gatekeeper_provision_fanouts_total (\d+)$/gm)) fanOuts += Number(m[1]);
    }
    return { verifications, fanOuts };
  }

  /** ProvisionContractKey by hand, so a test can bend one field. */
  async function provisionRaw(keys: WorkerKeys, o: { version?: number; contractId?: Uint8Array; reportData?: Uint8Array; quote?: Partial<SgxQuoteParams>;
    reuse?: Record<string, unknown> } = {}) {
    const client = devnet.nodes[1]!.client;
    const ch = o.reuse ?? await client.call<Record<string, unknown>>('WorkerService', 'GetChallenge', {});
    const nonce = ch.nonce as Uint8Array;
    const reportData = o.reportData ?? workerReportData(keys.hpke.publicKey, keys.signing.publicKey, nonce);
    const { quote, collateralJson } = await quoteMaker(o.quote)(reportData);
    const res = await client.call<{ partials: unknown[] }>('WorkerService', 'ProvisionContractKey', {
      contractId: o.contractId ?? demo, version: o.version ?? 1, dcap: { quote, collateralJson }, workerHpkeKey: keys.hpke.publicKey,
      workerSigningKey: keys.signing.publicKey, nonce, challengeExpiresAtMs: ch.expiresAtMs, challengeIssuerNodeId: ch.issuerNodeId,
      challengeSignature: ch.signature,
    }, { timeoutMs: 30_000 });
    return { res, challenge: ch };
  }

  beforeAll(async () => {
    const endpoints = await Promise.all(proxies.map((p) => p.listen()));
    devnet = new Devnet({
      dir: tempDir('ckeys'), nodes: 4, threshold: 3,
      advertise: (i, listen) => (i >= 2 ? endpoints[i - 2]! : listen),
    });
    await devnet.create();
    proxies.forEach((p, j) => p.setTarget(devnet.nodes[j + 2]!.listen));
    view = await devnet.genesis();
    await devnet.registerDemoContract();
    // Versions 2..4 are issued by governance first: nothing above the current version is provisioned.
    for (const v of [2, 3, 4]) await devnet.governContract('rotate', demo, v);
  });
  afterAll(async () => {
    await devnet.stop();
    await Promise.all(proxies.map((p) => p.close()));
  });

  test('the development worker provisions, publishes, and opens what a client encrypted to the certified key', async () => {
    const worker = await devnet.startWorker(view.committeeKey);
    const res = await devnet.invokeDemo(view.committeeKey, utf8('attack at dawn'), 3);
    expect(bytesToHex(res.digest)).toBe(bytesToHex(res.expected));
    expect(res.length).toBe(14);
    // Every member serves the same certified key, and a stock BIP340 verifier accepts the certificate.
    const keys = await Promise.all(devnet.nodes.map((n) => n.client.call<{ publicKey: Uint8Array; certificate: Uint8Array; generation: number; version: number }>(
      'PublicService', 'GetContractKey', { contractId: demo, version: 0 })));
    for (const k of keys) {
      expect(bytesToHex(k.publicKey)).toBe(worker.publicKey);
      expect(bytesToHex(k.certificate)).toBe(bytesToHex(keys[0]!.certificate));
      expect(schnorr.verify(k.certificate, contractKeyCertificateMessage(demo, 1, k.generation, k.publicKey), view.committeeKey)).toBe(true);
    }
  });

  test('a worker SDK provisions version 2 from one endpoint and gets the same key from any k members', async () => {
    const keys = freshWorker();
    const a = await provisionContractKey({ client: devnet.nodes[0]!.client, pinnedCommitteeKey: view.committeeKey, contractId: demo, version: 2, keys, makeQuote: quoteMaker() });
    expect(a.usedMembers).toHaveLength(3);
    expect(a.badMembers).toEqual([]);
    const b = await provisionContractKey({ client: devnet.nodes[3]!.client, pinnedCommitteeKey: view.committeeKey, contractId: demo, version: 2, keys: freshWorker(), makeQuote: quoteMaker() });
    expect(bytesToHex(b.publicKey)).toBe(bytesToHex(a.publicKey));
    expect(bytesToHex(b.secretKey)).toBe(bytesToHex(a.secretKey));
    const cert = await publishContractKey(devnet.nodes[0]!.client, { pinnedCommitteeKey: view.committeeKey, contractId: demo, version: 2, publicKey: a.publicKey, signing: keys.signing });
    expect(cert.version).toBe(2);
    const fetched = await getContractKey(devnet.nodes[2]!.client, view.committeeKey, demo, 2);
    expect(bytesToHex(fetched.publicKey)).toBe(bytesToHex(a.publicKey));
  });

  test('one member returning bad partials is named, and the worker still gets the key from the honest ones', async () => {
    const badNode = bytesToHex(view.members.find((m) => m.endpoint === devnet.nodes[2]!.endpoint)!.nodeId);
    proxies[0]!.rewrite = corruptPartials(badNode);
    try {
      const keys = freshWorker();
      const r = await provisionContractKey({ client: devnet.nodes[0]!.client, pinnedCommitteeKey: view.committeeKey, contractId: demo, version: 2, keys, makeQuote: quoteMaker() });
      expect(r.badMembers.map((b) => b.nodeId)).toEqual([badNode]);
      expect(r.usedMembers).not.toContain(badNode);
      const honest = await getContractKey(devnet.nodes[0]!.client, view.committeeKey, demo, 2);
      expect(bytesToHex(r.publicKey)).toBe(bytesToHex(honest.publicKey));
    } finally {
      proxies[0]!.rewrite = undefined;
    }
  });

  test('with only k − 1 honest members the worker gets no key and says why', async () => {
    const bad = [2, 3].map((i) => bytesToHex(view.members.find((m) => m.endpoint === devnet.nodes[i]!.endpoint)!.nodeId));
    proxies[0]!.rewrite = corruptPartials(bad[0]!);
    proxies[1]!.rewrite = corruptPartials(bad[1]!);
    try {
      const err = await provisionContractKey({ client: devnet.nodes[0]!.client, pinnedCommitteeKey: view.committeeKey, contractId: demo, version: 2, keys: freshWorker(), makeQuote: quoteMaker() })
        .then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ProvisioningError);
      const e = err as ProvisioningError;
      expect(e.details.good).toBe(2);
      expect(e.details.need).toBe(3);
      expect(e.details.badMembers.map((b) => b.nodeId).sort()).toEqual([...bad].sort());
      for (const id of bad) expect(e.message).toContain(id);
    } finally {
      proxies.forEach((p) => { p.rewrite = undefined; });
    }
  });

  test('a quote whose report_data does not bind the worker keys and nonce is refused', async () => {
    await expectRefused(provisionRaw(freshWorker(), { reportData: new Uint8Array(64).fill(7) }), status.PERMISSION_DENIED, /report_data does not bind/);
  });

  test('a replayed nonce and an expired nonce are refused', async () => {
    const keys = freshWorker();
    const { challenge } = await provisionRaw(keys, { version: 3 });
    await expectRefused(provisionRaw(keys, { version: 3, reuse: challenge }), status.PERMISSION_DENIED, /replayed challenge/);
    // Expiry without waiting out a lifetime: a challenge node 1 issued, with an expiry already past
    // signed by node 1's own identity key (read from its database), is what the same challenge is once
    // its lifetime ran out. Its signature verifies; only the expiry refuses it.
    const issued = await devnet.nodes[1]!.client.call<Record<string, unknown>>('WorkerService', 'GetChallenge', {});
    const { identitySecret } = await readNodeSecrets(devnet.nodes[1]!, 1);
    const past = BigInt(Date.now() - 1000);
    const stale = { ...issued, expiresAtMs: String(past),
      signature: signTagged(identitySecret, 'challenge', challengeMessage(issued.nonce as Uint8Array, past, issued.issuerNodeId as Uint8Array)) };
    await expectRefused(provisionRaw(freshWorker(), { version: 3, reuse: stale }), status.PERMISSION_DENIED, /expired/);
    // A worker cannot move the expiry itself: the issuer's signature no longer verifies.
    await expectRefused(provisionRaw(freshWorker(), { version: 3, reuse: { ...stale, signature: issued.signature } }), status.PERMISSION_DENIED, /challenge signature does not verify/);
  });

  test('a measurement or a TCB status outside the policy is refused', async () => {
    await expectRefused(provisionRaw(freshWorker(), { quote: { mrEnclave: new Uint8Array(32).fill(9) } }), status.PERMISSION_DENIED, /release policy refuses/);
    const keys = freshWorker();
    const ch = await devnet.nodes[1]!.client.call<Record<string, unknown>>('WorkerService', 'GetChallenge', {});
    const made = await quoteMaker({}, { tee: 'SGX', tcbLevels: [{ status: 'OutOfDate' }] })(workerReportData(keys.hpke.publicKey, keys.signing.publicKey, ch.nonce as Uint8Array));
    await expectRefused(devnet.nodes[1]!.client.call('WorkerService', 'ProvisionContractKey', {
      contractId: demo, version: 1, dcap: made, workerHpkeKey: keys.hpke.publicKey,
      workerSigningKey: keys.signing.publicKey, nonce: ch.nonce, challengeExpiresAtMs: ch.expiresAtMs, challengeIssuerNodeId: ch.issuerNodeId,
      challengeSignature: ch.signature,
    }, { timeoutMs: 30_000 }), status.PERMISSION_DENIED, /tcb-status|OutOfDate/);
  });

  test('a revoked worker key is refused by every member', async () => {
    const keys = freshWorker();
    for (let i = 0; i < devnet.nodes.length; i++) {
      await devnet.operatorCall(i, 'RevokeWorker', { workerSigningKey: keys.signing.publicKey, reason: 'test: key leaked' });
    }
    await expectRefused(provisionRaw(keys), status.PERMISSION_DENIED, /revoked: test: key leaked/);
  });

  test('an unregistered contract is NOT_FOUND, for provisioning and for GetContractKey', async () => {
    await expectRefused(provisionRaw(freshWorker(), { contractId: utf8('nobody') }), status.NOT_FOUND, /not registered/);
    await expectRefused(devnet.nodes[0]!.client.call('PublicService', 'GetContractKey', { contractId: utf8('nobody'), version: 0 }), status.NOT_FOUND, /unknown contract/);
    await expectRefused(devnet.nodes[0]!.client.call('PublicService', 'GetContractKey', { contractId: demo, version: 9 }), status.FAILED_PRECONDITION, /registered but version 9/);
  });

  test('a publication from a worker that was never provisioned is refused', async () => {
    const stranger = freshWorker();
    const pk = generateTransportKeyPair().publicKey;
    const compressed = hexToBytes((pk[64]! & 1 ? '03' : '02') + bytesToHex(pk.slice(1, 33)));
    const signature = signTagged(stranger.signing.secretKey, 'worker-publication', publicationMessage(demo, 3, compressed));
    await expectRefused(devnet.nodes[0]!.client.call('WorkerService', 'PublishContractKey', {
      contractId: demo, version: 3, publicKey: compressed, workerSigningKey: stranger.signing.publicKey, signature,
    }), status.PERMISSION_DENIED, /never provisioned/);
  });

  test('a second, different public key for the same version is refused and freezes the contract on every member until governance resolves it', async () => {
    const cid = await registerContract('alarmed');
    const keys = freshWorker();
    const got = await provisionContractKey({ client: devnet.nodes[0]!.client, pinnedCommitteeKey: view.committeeKey, contractId: cid, version: 1, keys, makeQuote: quoteMaker() });
    await publishContractKey(devnet.nodes[0]!.client, { pinnedCommitteeKey: view.committeeKey, contractId: cid, version: 1, publicKey: got.publicKey, signing: keys.signing });
    const fake = hexToBytes('02' + bytesToHex(generateIdentityKey().publicKey));
    const signature = signTagged(keys.signing.secretKey, 'worker-publication', publicationMessage(cid, 1, fake));
    await expectRefused(devnet.nodes[0]!.client.call('WorkerService', 'PublishContractKey', {
      contractId: cid, version: 1, publicKey: fake, workerSigningKey: keys.signing.publicKey, signature,
    }), status.ALREADY_EXISTS, /different public key/);
    // Every member is frozen: no key served, no provisioning, the refusal names the alarm.
    for (const n of devnet.nodes) {
      await expectRefused(n.client.call('PublicService', 'GetContractKey', { contractId: cid, version: 0 }), status.FAILED_PRECONDITION,
        /frozen by a conflicting-publication alarm on version 1/);
    }
    await expectRefused(provisionRaw(freshWorker(), { contractId: cid }), status.FAILED_PRECONDITION, /frozen/);
    const metrics = await (await fetch(`http://${devnet.nodes[0]!.metricsEndpoint}/metrics`)).text();
    expect(metrics).toMatch(/gatekeeper_alarms_total\{kind="conflicting-publication"\} [1-9]/);
    // A governance signature made for another action does not resolve it; a resolve-alarm signature does.
    await expectRefused(devnet.operatorCall(0, 'ResolveContractAlarm', { contractId: cid, version: 1, signatures: governanceSignatures('retire', cid, 1) }),
      status.PERMISSION_DENIED, /valid governance signature/);
    await devnet.governContract('resolve-alarm', cid, 1);
    for (const n of devnet.nodes) {
      const still = await getContractKey(n.client, view.committeeKey, cid, 0);
      expect(bytesToHex(still.publicKey)).toBe(bytesToHex(got.publicKey));
    }
  });

  test('key versions are governance-set: nothing above the current version or retired is provisioned, published or served', async () => {
    const cid = await registerContract('versions');
    // The probe of issue 10: a worker asks for version 2^32 - 1 in advance.
    await expectRefused(provisionRaw(freshWorker(), { contractId: cid, version: 0xffffffff }), status.FAILED_PRECONDITION, /above the contract's current version 1/);
    await expectRefused(provisionRaw(freshWorker(), { contractId: cid, version: 2 }), status.FAILED_PRECONDITION, /above the contract's current version 1/);
    const w1 = freshWorker();
    const v1 = await provisionContractKey({ client: devnet.nodes[0]!.client, pinnedCommitteeKey: view.committeeKey, contractId: cid, version: 1, keys: w1, makeQuote: quoteMaker() });
    await publishContractKey(devnet.nodes[0]!.client, { pinnedCommitteeKey: view.committeeKey, contractId: cid, version: 1, publicKey: v1.publicKey, signing: w1.signing });
    // A publication above the current version is refused even with a valid worker signature.
    const pk2 = hexToBytes('02' + bytesToHex(generateIdentityKey().publicKey));
    await expectRefused(devnet.nodes[0]!.client.call('WorkerService', 'PublishContractKey', {
      contractId: cid, version: 0xffffffff, publicKey: pk2, workerSigningKey: w1.signing.publicKey,
      signature: signTagged(w1.signing.secretKey, 'worker-publication', publicationMessage(cid, 0xffffffff, pk2)),
    }), status.FAILED_PRECONDITION, /above the contract's current version/);

    // Rotation: bound to action, contract and version; one step at a time; idempotent.
    await expectRefused(devnet.operatorCall(0, 'RotateContractKey', { contractId: cid, version: 2, signatures: governanceSignatures('retire', cid, 2) }),
      status.PERMISSION_DENIED, /valid governance signature/);
    await expectRefused(devnet.operatorCall(0, 'RotateContractKey', { contractId: cid, version: 2, signatures: governanceSignatures('rotate', demo, 2) }),
      status.PERMISSION_DENIED, /valid governance signature/);
    await expectRefused(devnet.operatorCall(0, 'RotateContractKey', { contractId: cid, version: 3, signatures: governanceSignatures('rotate', cid, 3) }),
      status.FAILED_PRECONDITION, /moves it to 2, not 3/);
    expect((await devnet.governContract('rotate', cid, 2)).map((a) => a.currentVersion)).toEqual([2, 2, 2, 2]);
    expect((await devnet.governContract('rotate', cid, 2)).map((a) => a.currentVersion)).toEqual([2, 2, 2, 2]);

    // Until v2 is published, version 0 still answers the last certified key (v1), and says the current version.
    const raw = await devnet.nodes[1]!.client.call<{ version: number; currentVersion: number }>('PublicService', 'GetContractKey', { contractId: cid, version: 0 });
    expect([raw.version, raw.currentVersion]).toEqual([1, 2]);
    await expect(getContractKey(devnet.nodes[1]!.client, view.committeeKey, cid, { minVersion: 2 })).rejects.toBeInstanceOf(ContractKeyVersionError);
    const w2 = freshWorker();
    const v2 = await provisionContractKey({ client: devnet.nodes[2]!.client, pinnedCommitteeKey: view.committeeKey, contractId: cid, version: 2, keys: w2, makeQuote: quoteMaker() });
    await publishContractKey(devnet.nodes[2]!.client, { pinnedCommitteeKey: view.committeeKey, contractId: cid, version: 2, publicKey: v2.publicKey, signing: w2.signing });
    for (const n of devnet.nodes) {
      const k = await getContractKey(n.client, view.committeeKey, cid, { minVersion: 2 });
      expect([k.version, bytesToHex(k.publicKey)]).toEqual([2, bytesToHex(v2.publicKey)]);
    }

    // Retirement: v1 is no longer served, provisioned or published.
    await devnet.governContract('retire', cid, 1);
    await expectRefused(devnet.nodes[3]!.client.call('PublicService', 'GetContractKey', { contractId: cid, version: 1 }), status.FAILED_PRECONDITION, /version 1 of this contract is retired/);
    await expectRefused(provisionRaw(freshWorker(), { contractId: cid, version: 1 }), status.FAILED_PRECONDITION, /retired/);
    await expectRefused(publishContractKey(devnet.nodes[0]!.client, { pinnedCommitteeKey: view.committeeKey, contractId: cid, version: 1, publicKey: v1.publicKey, signing: w1.signing }),
      status.FAILED_PRECONDITION, /retired/);

    // Revocation is checked at publication too: a revoked worker key cannot publish what it was provisioned for.
    for (let i = 0; i < devnet.nodes.length; i++) await devnet.operatorCall(i, 'RevokeWorker', { workerSigningKey: w2.signing.publicKey, reason: 'test: worker compromised' });
    await expectRefused(publishContractKey(devnet.nodes[1]!.client, { pinnedCommitteeKey: view.committeeKey, contractId: cid, version: 2, publicKey: v2.publicKey, signing: w2.signing }),
      status.PERMISSION_DENIED, /revoked: test: worker compromised/);
  });

  test('a quote that does not bind the caller is refused before any verification or fan-out, and spends its challenge', async () => {
    const before = await provisioningCounters();
    let fanned = 0;
    const count: Rewrite = async (method, _req, res) => { if (method === 'ProvidePartial') fanned++; return res; };
    proxies.forEach((p) => { p.rewrite = count; });
    try {
      const keys = freshWorker();
      const challenge = await devnet.nodes[1]!.client.call<Record<string, unknown>>('WorkerService', 'GetChallenge', {});
      await expectRefused(provisionRaw(keys, { reportData: new Uint8Array(64).fill(7), reuse: challenge }), status.PERMISSION_DENIED, /report_data does not bind/);
      const after = await provisioningCounters();
      expect(after.verifications).toBe(before.verifications);
      expect(after.fanOuts).toBe(before.fanOuts);
      expect(fanned).toBe(0);
      // The same challenge again, now with a quote that does bind: the failure spent it.
      await expectRefused(provisionRaw(keys, { reuse: challenge }), status.PERMISSION_DENIED, /replayed challenge/);
      expect((await provisioningCounters()).verifications).toBe(before.verifications);
      // Oversized collateral is INVALID_ARGUMENT before anything is parsed or verified.
      const ch = await devnet.nodes[1]!.client.call<Record<string, unknown>>('WorkerService', 'GetChallenge', {});
      const made = await quoteMaker()(workerReportData(keys.hpke.publicKey, keys.signing.publicKey, ch.nonce as Uint8Array));
      const padded = made.collateralJson.replace(/}$/, `, "padding": "${'x'.repeat(64 * 1024)}"}`);
      await expectRefused(devnet.nodes[1]!.client.call('WorkerService', 'ProvisionContractKey', {
        contractId: demo, version: 1, dcap: { quote: made.quote, collateralJson: padded }, workerHpkeKey: keys.hpke.publicKey,
        workerSigningKey: keys.signing.publicKey, nonce: ch.nonce, challengeExpiresAtMs: ch.expiresAtMs, challengeIssuerNodeId: ch.issuerNodeId,
        challengeSignature: ch.signature,
      }, { timeoutMs: 30_000 }), status.INVALID_ARGUMENT, /dcap.collateral_json is larger than 65536 bytes/);
      const end = await provisioningCounters();
      expect([end.verifications, end.fanOuts, fanned]).toEqual([before.verifications, before.fanOuts, 0]);
      // The instruments do count: one good request is verified by each of the 4 members and fanned out once.
      await provisionRaw(freshWorker());
      const good = await provisioningCounters();
      expect([good.verifications - end.verifications, good.fanOuts - end.fanOuts, fanned]).toEqual([4, 1, 2]);
    } finally {
      proxies.forEach((p) => { p.rewrite = undefined; });
    }
  });

  test('every signer checks the publication quorum itself: a coordinator without enough receipts is refused', async () => {
    const cid = await registerContract('quorum');
    const keys = freshWorker();
    const got = await provisionContractKey({ client: devnet.nodes[0]!.client, pinnedCommitteeKey: view.committeeKey, contractId: cid, version: 1, keys, makeQuote: quoteMaker() });
    // Act as member node-1 coordinating a certificate (its identity key, read with its unseal shares).
    const coordinator = await readNodeSecrets(devnet.nodes[0]!, view.epoch);
    const asPeer = { sign: { role: 'peer' as const, secretKey: coordinator.identitySecret } };
    const signature = signTagged(keys.signing.secretKey, 'worker-publication', publicationMessage(cid, 1, got.publicKey));
    const publication = { contractId: cid, version: 1, publicKey: got.publicKey, workerSigningKey: keys.signing.publicKey, signature };
    const message = contractKeyCertificateMessage(cid, 1, view.epoch, got.publicKey);
    const receipts = await Promise.all(devnet.nodes.map((n) => n.client.call<{ nodeId: Uint8Array; signature: Uint8Array }>('PeerService', 'GetProvisionReceipt',
      { contractId: cid, version: 1, workerSigningKey: keys.signing.publicKey }, asPeer)));
    const commit = (i: number, provisionedBy: unknown[]) => devnet.nodes[i]!.client.call('PeerService', 'FrostCommit', {
      epoch: view.epoch, sessionId: randomBytes(16), message, purpose: 'contract-key', publication: { ...publication, provisionedBy } }, asPeer);
    // The policy's publicationQuorum is 3: one receipt (the coordinator's own), or three copies of it, are not enough.
    for (const i of [1, 2, 3]) {
      await expectRefused(commit(i, [receipts[0]]), status.PERMISSION_DENIED, /1 valid provisioning receipt\(s\); the release policy's publicationQuorum is 3/);
      await expectRefused(commit(i, [receipts[0], receipts[0], receipts[0]]), status.PERMISSION_DENIED, /1 valid provisioning receipt/);
    }
    // A receipt signed for another worker does not count.
    const forged = { nodeId: receipts[1]!.nodeId, signature: receipts[2]!.signature };
    await expectRefused(commit(1, [receipts[0], forged, receipts[3]]), status.PERMISSION_DENIED, /2 valid provisioning receipt/);
    // With three members' receipts the same request is accepted.
    await expect(commit(1, receipts.slice(0, 3))).resolves.toHaveProperty('commitments');
  });
  // Last: it revokes the demo enclave's measurement, which every later provisioning would need.
  test('a revoked measurement is refused by every member, whatever the worker key', async () => {
    for (let i = 0; i < devnet.nodes.length; i++) {
      await devnet.operatorCall(i, 'RevokeWorker', { measurement: hexToBytes(DEMO_MEASUREMENTS.mrEnclave), reason: 'test: enclave build withdrawn' });
    }
    await expectRefused(provisionRaw(freshWorker(), { version: 1 }), status.PERMISSION_DENIED, /measurement is revoked: test: enclave build withdrawn/);
    const audit = await devnet.operatorCall<{ entries: { action: string; detailJson: string }[] }>(1, 'ReadAudit', { afterSeq: '0', limit: 1000 });
    expect(audit.entries.some((e) => e.action === 'worker.revoked' && JSON.parse(e.detailJson).kind === 'measurement')).toBe(true);
  });
});

/** Replaces `nodeId`'s sealed partial with a well-formed one for a wrong point, sealed to the worker. */
function corruptPartials(nodeId: string) {
  return async (method: string, request: Buffer, response: Buffer): Promise<Buffer> => {
    if (method !== 'ProvidePartial') return response;
    const req = decodeMessage<{ contractId: Uint8Array; version: number; workerHpkeKey: Uint8Array }>('ProvisionContractKeyRequest', request);
    const sp = decodeMessage<{ nodeId: Uint8Array; shareIdentifier: Uint8Array; sealed: Uint8Array }>('SealedPartial', response);
    if (bytesToHex(sp.nodeId) !== nodeId) return response;
    const bogus = { identifier: bytesToHex(sp.shareIdentifier), point: '02' + bytesToHex(generateIdentityKey().publicKey), proof: 'ab'.repeat(64) };
    const { enc, ciphertext } = await hpkeSeal(req.workerHpkeKey, partialInfo(req.contractId, req.version, sp.nodeId), utf8(JSON.stringify(bogus)));
    return Buffer.from(encodeMessage('SealedPartial', { nodeId: sp.nodeId, shareIdentifier: sp.shareIdentifier, sealed: Buffer.concat([enc, ciphertext]) }));
  };
}
