// Bad input to every RPC gets the right status and a readable message, and the node keeps serving.
import { status } from '@grpc/grpc-js';
import { generateIdentityKey, signTagged } from '../../src/crypto/identity.js';
import { signCall } from '../../src/rpc/auth.js';
import { encodeMessage } from '../../src/rpc/messages.js';
import { RpcError } from '../../src/rpc/errors.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

let t: TestNode;

beforeAll(async () => { t = await startTestNode(); });
afterAll(async () => { await t.stop(); });

async function expectStatus(p: Promise<unknown>, code: status, pattern: RegExp): Promise<void> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(RpcError);
  expect(status[(err as RpcError).code]).toBe(status[code]);
  expect((err as RpcError).message).toMatch(pattern);
}

const asOperator = () => ({ sign: { role: 'operator' as const, secretKey: t.operator.secretKey } });

describe('a sealed node', () => {
  test('answers Status and says what to do next', async () => {
    const s = await t.client.call<{ sealed: boolean; initialized: boolean; nextStep: string; unsealThreshold: number }>('OperatorService', 'Status');
    expect(s.initialized).toBe(true);
    expect(s.sealed).toBe(true);
    expect(s.unsealThreshold).toBe(2);
    expect(s.nextStep).toMatch(/unseal/);
  });

  test('refuses everything else with FAILED_PRECONDITION', async () => {
    await expectStatus(t.client.call('PublicService', 'GetCommittee'), status.FAILED_PRECONDITION, /sealed/);
    await expectStatus(t.client.call('OperatorService', 'GetCandidacy', { epoch: 1, selfStake: '1' }, asOperator()), status.FAILED_PRECONDITION, /sealed/);
    await expectStatus(t.client.call('PeerService', 'GetRosterCertificate', { epoch: 1 }), status.FAILED_PRECONDITION, /sealed/);
  });

  test('refuses a malformed unseal share as INVALID_ARGUMENT and an empty one too', async () => {
    await expectStatus(t.client.call('OperatorService', 'Unseal', { share: 'not-a-share' }), status.INVALID_ARGUMENT, /share/);
    await expectStatus(t.client.call('OperatorService', 'Unseal', { share: '' }), status.INVALID_ARGUMENT, /share is required/);
  });

  test('refuses shares of another node one by one without unsealing, then unseals with its own', async () => {
    const other = await startTestNode();
    try {
      for (const share of other.shares.slice(0, 2)) {
        await expectStatus(t.client.call('OperatorService', 'Unseal', { share }), status.PERMISSION_DENIED, /not one of this node's unseal shares/);
      }
    } finally {
      await other.stop();
    }
    const first = await t.client.call<{ sealed: boolean; progress: number }>('OperatorService', 'Unseal', { share: t.shares[2] });
    expect(first).toMatchObject({ sealed: true, progress: 1 });
    const second = await t.client.call<{ sealed: boolean }>('OperatorService', 'Unseal', { share: t.shares[0] });
    expect(second.sealed).toBe(false);
  });
});

describe('an unsealed node', () => {
  beforeAll(async () => {
    for (const share of t.shares.slice(0, 2)) await t.client.call('OperatorService', 'Unseal', { share });
  });

  test('has no committee yet: GetCommittee is FAILED_PRECONDITION', async () => {
    await expectStatus(t.client.call('PublicService', 'GetCommittee'), status.FAILED_PRECONDITION, /no committee/);
  });

  test('operator calls: unsigned, foreign key, bad signature, stale and replayed calls are refused', async () => {
    const req = { epoch: 1, selfStake: '10', endpoint: '' };
    await expectStatus(t.client.call('OperatorService', 'GetCandidacy', req), status.UNAUTHENTICATED, /must be signed/);
    const stranger = generateIdentityKey();
    await expectStatus(t.client.call('OperatorService', 'GetCandidacy', req, { sign: { role: 'operator', secretKey: stranger.secretKey } }),
      status.PERMISSION_DENIED, /not an operator key/);
    // A peer-role signature is not an operator signature.
    await expectStatus(t.client.call('OperatorService', 'GetCandidacy', req, { sign: { role: 'peer', secretKey: t.operator.secretKey } }),
      status.UNAUTHENTICATED, /does not verify/);

    const bytes = encodeMessage('GetCandidacyRequest', req);
    const method = '/gatekeeper.v1.OperatorService/GetCandidacy';
    const stale = signCall('operator', t.operator.secretKey, method, bytes, Date.now() - 10 * 60_000);
    await expectStatus(sendRaw(bytes, stale), status.UNAUTHENTICATED, /timestamp/);

    const md = signCall('operator', t.operator.secretKey, method, bytes);
    const ok = await sendRaw(bytes, md) as { signature: Uint8Array };
    expect(ok.signature.length).toBe(64);
    await expectStatus(sendRaw(bytes, md), status.UNAUTHENTICATED, /replayed/);
    // The same signature on other request bytes does not verify.
    const other = encodeMessage('GetCandidacyRequest', { ...req, selfStake: '11' });
    await expectStatus(sendRaw(other, signCall('operator', t.operator.secretKey, '/gatekeeper.v1.OperatorService/ReadAudit', other)),
      status.UNAUTHENTICATED, /does not verify/);
  });

  test('missing fields, wrong values and garbage bytes are INVALID_ARGUMENT', async () => {
    await expectStatus(t.client.call('OperatorService', 'GetCandidacy', { epoch: 0, selfStake: '1' }, asOperator()), status.INVALID_ARGUMENT, /epoch/);
    await expectStatus(t.client.call('OperatorService', 'GetCandidacy', { epoch: 1, selfStake: '-5' }, asOperator()), status.INVALID_ARGUMENT, /self_stake/);
    await expectStatus(t.client.call('OperatorService', 'GetCandidacy', { epoch: 1, selfStake: '18446744073709551616' }, asOperator()), status.INVALID_ARGUMENT, /2\^64/);
    await expectStatus(t.client.call('OperatorService', 'SubmitGenesis', {}, asOperator()), status.INVALID_ARGUMENT, /snapshot is required/);
    const garbage = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);
    const md = signCall('operator', t.operator.secretKey, '/gatekeeper.v1.OperatorService/GetCandidacy', garbage);
    await expectStatus(sendRaw(garbage, md), status.INVALID_ARGUMENT, /does not decode/);
  });

  test('snapshots: too few governance signatures is PERMISSION_DENIED, a signed malformed one INVALID_ARGUMENT', async () => {
    const snapshot = encodeMessage('Snapshot', { epoch: 1, seats: 2, candidacies: [] });
    const one = [{ key: t.governance[0]!.publicKey, signature: signTagged(t.governance[0]!.secretKey, 'snapshot', snapshot) }];
    await expectStatus(t.client.call('OperatorService', 'SubmitGenesis', { snapshot: { snapshot, signatures: one } }, asOperator()),
      status.PERMISSION_DENIED, /1 valid governance signature/);
    const forged = t.governance.map((g) => ({ key: g.publicKey, signature: signTagged(t.operator.secretKey, 'snapshot', snapshot) }));
    await expectStatus(t.client.call('OperatorService', 'SubmitGenesis', { snapshot: { snapshot, signatures: forged } }, asOperator()),
      status.PERMISSION_DENIED, /0 valid governance signature/);
    const both = t.governance.map((g) => ({ key: g.publicKey, signature: signTagged(g.secretKey, 'snapshot', snapshot) }));
    await expectStatus(t.client.call('OperatorService', 'SubmitGenesis', { snapshot: { snapshot, signatures: both } }, asOperator()),
      status.INVALID_ARGUMENT, /at least two candidacies/);
  });

  test('peer calls from a key that is not a member are refused', async () => {
    const stranger = generateIdentityKey();
    await expectStatus(t.client.call('PeerService', 'GetRosterCertificate', { epoch: 1 }), status.UNAUTHENTICATED, /must be signed/);
    await expectStatus(t.client.call('PeerService', 'GetRosterCertificate', { epoch: 1 }, { sign: { role: 'peer', secretKey: stranger.secretKey } }),
      status.PERMISSION_DENIED, /not a peer of this node/);
  });

  test('worker calls: malformed requests are INVALID_ARGUMENT, well-formed ones FAILED_PRECONDITION without a committee', async () => {
    await expectStatus(t.client.call('WorkerService', 'ProvisionContractKey', { contractId: new Uint8Array(), version: 1 }), status.INVALID_ARGUMENT, /contract_id/);
    await expectStatus(t.client.call('WorkerService', 'ProvisionContractKey', { contractId: new Uint8Array([1]), version: 0 }), status.INVALID_ARGUMENT, /version must be at least 1/);
    await expectStatus(t.client.call('WorkerService', 'ProvisionContractKey', {
      contractId: new Uint8Array([1]), version: 1, dcap: { quote: new Uint8Array([1]), collateralJson: '{}' }, workerHpkeKey: new Uint8Array(33),
    }), status.INVALID_ARGUMENT, /worker_hpke_key must be 65 bytes/);
    await expectStatus(t.client.call('WorkerService', 'ProvisionContractKey', {
      contractId: new Uint8Array([1]), version: 1, workerHpkeKey: new Uint8Array(65),
    }), status.INVALID_ARGUMENT, /evidence is required/);
    await expectStatus(t.client.call('WorkerService', 'ProvisionContractKey', {
      contractId: new Uint8Array([1]), version: 1, snp: { report: new Uint8Array(1184), vcek: new Uint8Array(8 * 1024 + 1), crl: new Uint8Array(1) },
    }), status.INVALID_ARGUMENT, /snp.vcek is larger than 8192 bytes/);
    await expectStatus(t.client.call('WorkerService', 'PublishContractKey', { contractId: new Uint8Array([1]), version: 1, publicKey: new Uint8Array(32) }),
      status.INVALID_ARGUMENT, /public_key must be 33 bytes/);
    await expectStatus(t.client.call('WorkerService', 'GetChallenge', {}), status.FAILED_PRECONDITION, /not a member of an active committee/);
    await expectStatus(t.client.call('PublicService', 'GetContractKey', { contractId: new Uint8Array(300), version: 0 }), status.INVALID_ARGUMENT, /contract_id/);
    await expectStatus(t.client.call('PublicService', 'GetContractKey', { contractId: new Uint8Array([1]), version: 0 }), status.NOT_FOUND, /unknown contract/);
  });

  test('operator policy and contract calls: unsigned, malformed and unknown references are refused', async () => {
    await expectStatus(t.client.call('OperatorService', 'SetReleasePolicy', { policyJson: new Uint8Array([1]) }), status.UNAUTHENTICATED, /must be signed/);
    await expectStatus(t.client.call('OperatorService', 'SetReleasePolicy', { policyJson: new Uint8Array([0x7b]) }, asOperator()), status.PERMISSION_DENIED, /governance signature/);
    const bad = new TextEncoder().encode('{"id":"p","serial":1,"namespaces":{"x":{}}}');
    const sigs = t.governance.map((g) => ({ key: g.publicKey, signature: signTagged(g.secretKey, 'policy', bad) }));
    await expectStatus(t.client.call('OperatorService', 'SetReleasePolicy', { policyJson: bad, signatures: sigs }, asOperator()), status.INVALID_ARGUMENT, /allow-list measurements/);
    await expectStatus(t.client.call('OperatorService', 'RegisterContract', { contractId: new Uint8Array([1]), namespace: 'x', policyId: 'nope' }, asOperator()),
      status.FAILED_PRECONDITION, /no release policy 'nope'/);
    await expectStatus(t.client.call('OperatorService', 'RevokeWorker', { workerSigningKey: new Uint8Array(5) }, asOperator()), status.INVALID_ARGUMENT, /32 bytes/);
    // A reason over the audit log's detail limit was rolled back with INTERNAL (issue 12): now it is
    // refused up front, nothing is stored, and a bounded reason is stored and audited as given.
    const key = new Uint8Array(32).fill(7);
    const auditRows = () => (t.node.context!.db.prepare('SELECT COUNT(*) AS n FROM audit').get() as { n: number }).n;
    const auditBefore = auditRows();
    await expectStatus(t.client.call('OperatorService', 'RevokeWorker', { workerSigningKey: key, reason: 'x'.repeat(10_000) }, asOperator()),
      status.INVALID_ARGUMENT, /reason must be at most 500 bytes/);
    expect(t.node.context!.contractKeys.store.isRevoked('worker-key', key)).toBeUndefined();
    expect(auditRows()).toBe(auditBefore);
    await t.client.call('OperatorService', 'RevokeWorker', { workerSigningKey: key, reason: 'é'.repeat(250) }, asOperator());
    expect(t.node.context!.contractKeys.store.isRevoked('worker-key', key)).toBe('é'.repeat(250));
  });

  test('an oversized message is RESOURCE_EXHAUSTED', async () => {
    const big = new Uint8Array(128 * 1024);
    await expectStatus(t.client.call('OperatorService', 'Unseal', { share: Buffer.from(big).toString('hex') }), status.RESOURCE_EXHAUSTED, /./);
  });

  test('the operator reads the audit log, which recorded the actions above', async () => {
    const res = await t.client.call<{ entries: { action: string }[] }>('OperatorService', 'ReadAudit', { afterSeq: '0', limit: 50 }, asOperator());
    const actions = res.entries.map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['unseal.failed', 'unsealed', 'candidacy.signed']));
  });

  test('after all that the node still serves', async () => {
    const s = await t.client.call<{ sealed: boolean }>('OperatorService', 'Status');
    expect(s.sealed).toBe(false);
  });
});

function sendRaw(bytes: Uint8Array, md: import('@grpc/grpc-js').Metadata): Promise<unknown> {
  // GatekeeperClient.callRaw signs itself; here the test supplies the metadata to replay it.
  return new Promise((resolve, reject) => {
    const c = (t.client as unknown as { client(s: string): Record<string, Function> }).client('OperatorService');
    c.GetCandidacy!.call(c, Buffer.from(bytes), md, { deadline: Date.now() + 5000 }, (err: { code: status; details: string } | null, res: unknown) => {
      if (err) reject(new RpcError(err.code, err.details));
      else resolve(res);
    });
  });
}
