// The development worker reaches a committee that runs TLS (issue 10 item 15): with the committee's CA
// (and a client certificate when the node requires mTLS) its calls get the node's own answer; without
// them the connection fails. The node here is real, unsealed, with no committee yet, so the answer a
// connected worker gets is FAILED_PRECONDITION "no committee is active yet".
import fs from 'node:fs';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { createTestPki } from '../../src/attestation/test-pki/index.js';
import { RpcError } from '../../src/rpc/errors.js';
import { parseWorkerConfig, WorkerConfigError } from '../../src/worker/config.js';
import { startDevWorker } from '../../src/worker/dev-worker.js';
import { saveTestPki } from '../../src/worker/test-pki-file.js';
import { startTestNode, tempDir, type TestNode } from '../helpers/node.js';
import { makeTestPki, type TestPki } from '../helpers/tls-certs.js';

let certs: TestPki;
let dir: string;

beforeAll(async () => {
  dir = tempDir('worker-tls');
  certs = makeTestPki(dir);
  await saveTestPki(await createTestPki(), path.join(dir, 'test-pki.json'));
});
afterAll(() => { fs.rmSync(dir, { recursive: true, force: true }); });

function config(gatekeeper: string, extra: Record<string, unknown> = {}) {
  const text = JSON.stringify({
    listen: '127.0.0.1:0', gatekeeper, committeeKey: 'ab'.repeat(32), contracts: [{ id: 'demo', version: 1 }],
    testPki: 'test-pki.json', tee: 'SGX', measurements: { mrEnclave: 'ab'.repeat(32), mrSigner: '11'.repeat(32), isvProdId: 1, isvSvn: 0 }, ...extra,
  });
  return parseWorkerConfig(text, path.join(dir, 'worker.json'));
}

async function workerError(gatekeeper: string, extra: Record<string, unknown> = {}): Promise<{ code: string; message: string; lines: string[] }> {
  const lines: string[] = [];
  const err = await startDevWorker(config(gatekeeper, extra), (l) => lines.push(l), { retries: 1 }).then(async (w) => { await w.close(); return undefined; }, (e: unknown) => e);
  expect(err).toBeInstanceOf(RpcError);
  return { code: status[(err as RpcError).code], message: (err as RpcError).message, lines };
}

async function unsealed(t: TestNode): Promise<TestNode> {
  for (const share of t.shares.slice(0, 2)) await t.node.unseal(share);
  return t;
}

describe('worker against a TLS node', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await unsealed(await startTestNode({ tls: { certFile: certs.server.certFile, keyFile: certs.server.keyFile, clientCaFile: '', peerCaFile: '' } }));
  });
  afterAll(async () => { await t.stop(); });

  test('with tls.caFile the worker is connected and gets the node\'s answer', async () => {
    const r = await workerError(t.endpoint, { tls: { caFile: path.relative(dir, certs.ca.certFile) } });
    expect(r).toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringMatching(/no committee is active yet/) });
    expect(r.lines.join('\n')).toMatch(/committee connection: TLS \(CA .*ca\.pem\)/);
  });

  test('in plaintext, or trusting another CA, it cannot connect', async () => {
    expect((await workerError(t.endpoint)).code).toBe('UNAVAILABLE');
    expect((await workerError(t.endpoint, { tls: { caFile: certs.otherCa.certFile } })).code).toBe('UNAVAILABLE');
  });
});

describe('worker against an mTLS node', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await unsealed(await startTestNode({ tls: { certFile: certs.server.certFile, keyFile: certs.server.keyFile, clientCaFile: certs.ca.certFile, peerCaFile: '' } }));
  });
  afterAll(async () => { await t.stop(); });

  test('presents its client certificate; without one it is refused', async () => {
    const withCert = await workerError(t.endpoint, { tls: { caFile: certs.ca.certFile, certFile: certs.stranger.certFile, keyFile: certs.stranger.keyFile } });
    expect(withCert.code).toBe('FAILED_PRECONDITION');
    expect((await workerError(t.endpoint, { tls: { caFile: certs.ca.certFile } })).code).toBe('UNAVAILABLE');
  });
});

describe('worker config', () => {
  test.each([
    [{ gatekeeper: 'committee.invalid:7001' }, /"gatekeeper" \(committee.invalid:7001\) is not a loopback address and "tls" is not set/],
    [{ tls: { caFile: '' } }, /"tls.caFile" must be a path/],
    [{ tls: { caFile: 'ca.pem', certFile: 'c.pem' } }, /"tls.certFile" and "tls.keyFile" go together/],
    [{ tls: { caFile: 'ca.pem', ca: 'x' } }, /unknown config field "tls.ca"/],
    [{ insecure: 'yes' }, /"insecure" must be true or false/],
  ])('refuses %j', (extra, pattern) => {
    const { gatekeeper, ...rest } = { gatekeeper: '127.0.0.1:7001', ...extra } as Record<string, unknown>;
    expect(() => config(gatekeeper as string, rest)).toThrow(WorkerConfigError);
    expect(() => config(gatekeeper as string, rest)).toThrow(pattern);
  });

  test('plaintext off loopback only with insecure: true; TLS paths resolve against the config folder', () => {
    expect(config('committee.invalid:7001', { insecure: true }).insecure).toBe(true);
    expect(config('committee.invalid:7001', { tls: { caFile: 'ca.pem' } }).tls).toEqual({ caFile: path.join(dir, 'ca.pem') });
  });
});
