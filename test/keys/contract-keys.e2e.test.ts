// Contract keys end to end across node processes (issue 6): attested provisioning from k members,
// committee-certified public keys, client encryption, and every refusal a member must make.
import { jest } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { Devnet, DEMO_CONTRACT, DEMO_MEASUREMENTS, type CommitteeView } from '../../src/devnet/devnet.js';
import { generateIdentityKey, signTagged } from '../../src/crypto/identity.js';
import { generateTransportKeyPair, hpkeSeal } from '../../src/crypto/hpke.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { contractKeyCertificateMessage, partialInfo, publicationMessage, workerReportData } from '../../src/keys/wire.js';
import { decodeMessage, encodeMessage } from '../../src/rpc/messages.js';
import { RpcError } from '../../src/rpc/errors.js';
import { provisionContractKey, publishContractKey, type WorkerKeys } from '../../src/sdk/worker.js';
import { getContractKey } from '../../src/sdk/client.js';
import { ProvisioningError } from '../../src/sdk/errors.js';
import { PeerProxy } from '../helpers/peer-proxy.js';
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

  /** ProvisionContractKey by hand, so a test can bend one field. */
  async function provisionRaw(keys: WorkerKeys, o: { version?: number; contractId?: Uint8Array; reportData?: Uint8Array; quote?: Partial<SgxQuoteParams>;
    reuse?: Record<string, unknown> } = {}) {
    const client = devnet.nodes[1]!.client;
    const ch = o.reuse ?? await client.call<Record<string, unknown>>('WorkerService', 'GetChallenge', {});
    const nonce = ch.nonce as Uint8Array;
    const reportData = o.reportData ?? workerReportData(keys.hpke.publicKey, keys.signing.publicKey, nonce);
    const { quote, collateralJson } = await quoteMaker(o.quote)(reportData);
    const res = await client.call<{ partials: unknown[] }>('WorkerService', 'ProvisionContractKey', {
      contractId: o.contractId ?? demo, version: o.version ?? 1, quote, collateralJson, workerHpkeKey: keys.hpke.publicKey,
      workerSigningKey: keys.signing.publicKey, nonce, challengeExpiresAtMs: ch.expiresAtMs, challengeIssuerNodeId: ch.issuerNodeId,
      challengeSignature: ch.signature,
    }, { timeoutMs: 30_000 });
    return { res, challenge: ch };
  }

  beforeAll(async () => {
    const endpoints = await Promise.all(proxies.map((p) => p.listen()));
    devnet = new Devnet({
      dir: tempDir('ckeys'), nodes: 4, threshold: 3, challengeTtlMs: 4000,
      advertise: (i, listen) => (i >= 2 ? endpoints[i - 2]! : listen),
    });
    await devnet.create();
    proxies.forEach((p, j) => p.setTarget(devnet.nodes[j + 2]!.listen));
    view = await devnet.genesis();
    await devnet.registerDemoContract();
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
    const stale = await devnet.nodes[1]!.client.call<Record<string, unknown>>('WorkerService', 'GetChallenge', {});
    await new Promise((r) => setTimeout(r, 4500));
    await expectRefused(provisionRaw(freshWorker(), { version: 3, reuse: stale }), status.PERMISSION_DENIED, /expired/);
  });

  test('a measurement or a TCB status outside the policy is refused', async () => {
    await expectRefused(provisionRaw(freshWorker(), { quote: { mrEnclave: new Uint8Array(32).fill(9) } }), status.PERMISSION_DENIED, /release policy refuses/);
    const keys = freshWorker();
    const ch = await devnet.nodes[1]!.client.call<Record<string, unknown>>('WorkerService', 'GetChallenge', {});
    const made = await quoteMaker({}, { tee: 'SGX', tcbLevels: [{ status: 'OutOfDate' }] })(workerReportData(keys.hpke.publicKey, keys.signing.publicKey, ch.nonce as Uint8Array));
    await expectRefused(devnet.nodes[1]!.client.call('WorkerService', 'ProvisionContractKey', {
      contractId: demo, version: 1, quote: made.quote, collateralJson: made.collateralJson, workerHpkeKey: keys.hpke.publicKey,
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
    const signature = signTagged(stranger.signing.secretKey, 'worker-publication', publicationMessage(demo, 5, compressed));
    await expectRefused(devnet.nodes[0]!.client.call('WorkerService', 'PublishContractKey', {
      contractId: demo, version: 5, publicKey: compressed, workerSigningKey: stranger.signing.publicKey, signature,
    }), status.PERMISSION_DENIED, /never provisioned/);
  });

  test('a second, different public key for the same version is refused and raises an alarm', async () => {
    const keys = freshWorker();
    const got = await provisionContractKey({ client: devnet.nodes[0]!.client, pinnedCommitteeKey: view.committeeKey, contractId: demo, version: 4, keys, makeQuote: quoteMaker() });
    await publishContractKey(devnet.nodes[0]!.client, { pinnedCommitteeKey: view.committeeKey, contractId: demo, version: 4, publicKey: got.publicKey, signing: keys.signing });
    const fake = hexToBytes('02' + bytesToHex(generateIdentityKey().publicKey));
    const signature = signTagged(keys.signing.secretKey, 'worker-publication', publicationMessage(demo, 4, fake));
    await expectRefused(devnet.nodes[0]!.client.call('WorkerService', 'PublishContractKey', {
      contractId: demo, version: 4, publicKey: fake, workerSigningKey: keys.signing.publicKey, signature,
    }), status.ALREADY_EXISTS, /different public key/);
    // The certified key did not change.
    const still = await getContractKey(devnet.nodes[1]!.client, view.committeeKey, demo, 4);
    expect(bytesToHex(still.publicKey)).toBe(bytesToHex(got.publicKey));
    const metrics = await (await fetch(`http://${devnet.nodes[0]!.metricsEndpoint}/metrics`)).text();
    expect(metrics).toMatch(/gatekeeper_alarms_total\{kind="conflicting-publication"\} [1-9]/);
  });

  // Last: it revokes the demo enclave's measurement, which every later provisioning would need.
  test('a revoked measurement is refused by every member, whatever the worker key', async () => {
    for (let i = 0; i < devnet.nodes.length; i++) {
      await devnet.operatorCall(i, 'RevokeWorker', { measurement: hexToBytes(DEMO_MEASUREMENTS.mrEnclave), reason: 'test: enclave build withdrawn' });
    }
    await expectRefused(provisionRaw(freshWorker(), { version: 6 }), status.PERMISSION_DENIED, /measurement is revoked: test: enclave build withdrawn/);
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
