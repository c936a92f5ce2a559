// What an operator sees of a node (issue 13 item 6): Status of a sealed member, health per service,
// reflection limited to the services served, logs of audited events and refusals, and the
// provisioning and ceremony-phase metrics. One in-process node on loopback with a real SQLite file.
import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { bytesToHex } from '@noble/hashes/utils.js';
import { signTagged } from '../../src/crypto/identity.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { encodePublicKeyPackage, publicPackage } from '../../src/crypto/frost.js';
import { makeIdentifiers, runDkg, seededRng } from '../crypto/helpers.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { listServices } from '../interop/reflection-client.js';

interface StatusRes { sealed: boolean; epoch: number; member: boolean; nextStep: string; ceremonyState: string; committeeKey: Uint8Array }

function healthCheck(endpoint: string, service: string): Promise<string> {
  const def = protoLoader.loadSync(healthProtoPath, { keepCase: true, enums: String });
  const Health = (grpc.loadPackageDefinition(def) as unknown as { grpc: { health: { v1: { Health: typeof grpc.Client } } } }).grpc.health.v1.Health;
  const client = new Health(endpoint, grpc.credentials.createInsecure()) as unknown as {
    check(req: { service: string }, cb: (err: grpc.ServiceError | null, res: { status: string }) => void): void; close(): void;
  };
  return new Promise((resolve) => {
    client.check({ service }, (err, res) => { client.close(); resolve(err ? `error ${grpc.status[err.code]}` : res.status); });
  });
}

const SERVICES = ['PublicService', 'WorkerService', 'OperatorService', 'PeerService'].map((s) => `gatekeeper.v1.${s}`);

describe('what an operator sees', () => {
  let t: TestNode;
  beforeAll(async () => { t = await startTestNode({ reflection: true }); });
  afterAll(async () => { await t?.stop(); });

  const status = () => t.client.call<StatusRes>('OperatorService', 'Status', {});
  const sign = () => ({ sign: { role: 'operator' as const, secretKey: t.operator.secretKey } });

  test('health: every gatekeeper service answers NOT_SERVING while sealed (not NOT_FOUND)', async () => {
    expect(await healthCheck(t.endpoint, '')).toBe('NOT_SERVING');
    for (const s of SERVICES) expect(await healthCheck(t.endpoint, s)).toBe('NOT_SERVING');
    expect(await healthCheck(t.endpoint, 'gatekeeper.v1.DemoContract')).toBe('error NOT_FOUND');
  });

  test('reflection lists only the services the node serves, health included', async () => {
    const services = await listServices(t.endpoint, 'v1');
    expect(services).toEqual(expect.arrayContaining([...SERVICES, 'grpc.health.v1.Health']));
    expect(services).not.toContain('gatekeeper.v1.DemoContract');
  });

  test('a sealed member says so: its epoch and membership, from public columns only', async () => {
    const nodeId = bytesToHex((await t.client.call<{ nodeId: Uint8Array }>('OperatorService', 'Status', {})).nodeId);
    // A committee of epoch 3 this node belongs to, as a completed ceremony leaves it in the database.
    t.node.ceremonyView.insert({
      epoch: 3, kind: 'genesis', state: 'COMPLETE', snapshot: new Uint8Array([1]), snapshotHash: new Uint8Array(32), threshold: 2,
      roster: [nodeId, 'ab'.repeat(16)].map((id, i) => ({ nodeId: id, identityKey: '', transportKey: '', endpoint: `127.0.0.1:${i + 1}`, stake: '1', shareIdentifier: '' })),
      phaseDeadlineMs: 0, phaseTimeoutMs: 1000, error: '', updatedMs: 0,
    });
    t.node.ceremonyView.saveCertificate(3, new Uint8Array([1, 2]), new Uint8Array(64));
    // Without this node's (sealed) key shares of that epoch it is not an active member.
    expect(await status()).toMatchObject({ sealed: true, epoch: 3, member: false });
    const ids = makeIdentifiers(2);
    const [derivation] = runDkg('derivation', ids, 2, seededRng('operator-view'));
    const [signing] = runDkg('signing', ids, 2, seededRng('operator-view-z'));
    const pub = { derivation: encodePublicKeyPackage(publicPackage(derivation!)), signing: encodePublicKeyPackage(publicPackage(signing!)) };
    t.node.ceremonyView.saveKeyShares(3, new Uint8Array(32), new Uint8Array(48), JSON.stringify(pub));
    const s = await status();
    expect(s).toMatchObject({ sealed: true, epoch: 3, member: true, ceremonyState: 'COMPLETE' });
    expect(Buffer.from(s.committeeKey)).toEqual(Buffer.from(signing!.groupPublicKey));
    expect(s.nextStep).toMatch(/unseal this node: 0 of 2 .*member of the committee of epoch 3/);
  });

  test('after unseal: services SERVING; policy installs and registrations are logged; refusals logged with the reason and counted', async () => {
    for (const share of t.shares.slice(0, 2)) await t.client.call('OperatorService', 'Unseal', { share });
    for (const s of SERVICES) expect(await healthCheck(t.endpoint, s)).toBe('SERVING');
    const policyJson = utf8(JSON.stringify({
      id: 'p', serial: 1, publicationQuorum: 1, attestation: { tees: ['SGX'], allowedStatuses: ['UpToDate'], allowDebug: false },
      namespaces: { ns: { sgx: { mrEnclave: ['11'.repeat(32)], mrSigner: ['22'.repeat(32)], isvProdId: 1, minIsvSvn: 1 } } },
    }));
    await t.client.call('OperatorService', 'SetReleasePolicy', {
      policyJson, signatures: t.governance.map((g) => ({ key: g.publicKey, signature: signTagged(g.secretKey, 'policy', policyJson) })),
    }, sign());
    await t.client.call('OperatorService', 'RegisterContract', { contractId: utf8('c'), namespace: 'ns', policyId: 'p' }, sign());
    // A provisioning request with a made-up quote and challenge is refused.
    await expect(t.client.call('WorkerService', 'ProvisionContractKey', { contractId: utf8('c'), version: 1, quote: new Uint8Array(10) })).rejects.toThrow();
    const lines = fs.readFileSync(t.logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.msg === 'audit: policy.set')).toMatchObject({ action: 'policy.set', detail: { id: 'p', serial: 1 } });
    expect(lines.find((l) => l.msg === 'audit: contract.registered')).toMatchObject({ detail: { contractId: bytesToHex(utf8('c')), namespace: 'ns' } });
    const refusal = lines.find((l) => l.msg === 'ProvisionContractKey refused');
    expect(refusal).toMatchObject({ level: 40, contractId: bytesToHex(utf8('c')), version: 1 });
    expect(String(refusal!.reason).length).toBeGreaterThan(5);
    const metrics = await t.node.metrics.registry.metrics();
    expect(metrics).toMatch(new RegExp(`gatekeeper_provisionings_total\\{result="${String(refusal!.code).toLowerCase()}"\\} 1`));
    expect(metrics).toMatch(/gatekeeper_provisioning_seconds_count\{result="refused"\} 1/);
    expect(metrics).toMatch(/gatekeeper_audit_events_total\{action="policy.set"\} 1/);
  });

  test('ceremony phase durations are observed from the audited transitions', async () => {
    t.node.audit.append('ceremony', 'genesis.accepted', { epoch: 9, elected: true });
    t.node.audit.append('ceremony', 'genesis.round2', { epoch: 9 });
    t.node.audit.append('ceremony', 'genesis.keyed', { epoch: 9 });
    t.node.audit.append('ceremony', 'genesis.complete', { epoch: 9 });
    const metrics = await t.node.metrics.registry.metrics();
    for (const phase of ['round1', 'round2', 'keyed']) expect(metrics).toMatch(new RegExp(`gatekeeper_ceremony_phase_seconds_count\\{phase="${phase}"\\} 1`));
    expect(metrics).not.toMatch(/phase="complete"/);
  });
});
