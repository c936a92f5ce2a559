// End to end over TLS (issue 10 item 15): a devnet whose nodes serve only TLS and call each other over
// TLS; the development worker, given the CA, provisions and publishes its contract key, and a client
// that also trusts the CA encrypts to it.
import fs from 'node:fs';
import { jest } from '@jest/globals';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { utf8, equalBytes } from '../../src/crypto/bytes.js';
import { Devnet } from '../../src/devnet/devnet.js';
import { GatekeeperClient } from '../../src/rpc/client.js';
import { RpcError } from '../../src/rpc/errors.js';
import { tempDir } from '../helpers/node.js';
import { makeTestPki } from '../helpers/tls-certs.js';

jest.setTimeout(180_000);

let devnet: Devnet;

beforeAll(() => {
  const certs = makeTestPki(tempDir('devnet-tls-certs'));
  devnet = new Devnet({ dir: tempDir('devnet-tls'), nodes: 3, threshold: 2, tls: { caFile: certs.ca.certFile, certFile: certs.server.certFile, keyFile: certs.server.keyFile } });
});
afterAll(async () => { await devnet.stop(); });

test('TLS committee: genesis, the worker provisions over TLS, and a client round trip', async () => {
  const view = await devnet.genesis();
  const cfg = JSON.parse(fs.readFileSync(devnet.nodes[0]!.configFile, 'utf8')) as { tls: { peerCaFile: string } | null };
  expect(cfg.tls?.peerCaFile).toMatch(/ca\.pem$/);
  // A plaintext client gets nowhere: the nodes serve TLS only.
  const plain = new GatekeeperClient(devnet.nodes[0]!.listen);
  try {
    const err = await plain.call('OperatorService', 'Status', {}, { timeoutMs: 3000 }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect(status[(err as RpcError).code]).toBe('UNAVAILABLE');
  } finally {
    plain.close();
  }
  await devnet.registerDemoContract();
  await devnet.startWorker(view.committeeKey);
  const workerConfig = JSON.parse(fs.readFileSync(path.join(devnet.opts.dir, 'worker', 'config.json'), 'utf8')) as { tls?: { caFile: string } };
  expect(workerConfig.tls?.caFile).toMatch(/ca\.pem$/);
  expect(fs.readFileSync(path.join(devnet.opts.dir, 'worker', 'worker.log'), 'utf8')).toMatch(/committee connection: TLS/);
  const message = utf8('over TLS');
  const res = await devnet.invokeDemo(view.committeeKey, message);
  expect(equalBytes(res.digest, res.expected)).toBe(true);
});
