// TLS and mTLS on a real node: who can connect, and an operator authenticated by its client certificate
// (config operatorCertFingerprints) instead of a BIP340-signed call (docs/auth.md).
import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { generateIdentityKey } from '../../src/crypto/identity.js';
import { GatekeeperClient } from '../../src/rpc/client.js';
import { RpcError } from '../../src/rpc/errors.js';
import { startTestNode, tempDir, type TestNode } from '../helpers/node.js';
import { parseConfig } from '../../src/node/config.js';
import { PeerClients, peerCredentials } from '../../src/node/context.js';
import { makeTestPki, type CertFiles, type TestPki } from '../helpers/tls-certs.js';
import { runCommand } from '../helpers/cli.js';

let pki: TestPki;
const clients: GatekeeperClient[] = [];

beforeAll(() => { pki = makeTestPki(tempDir('tls')); });
afterAll(() => {
  for (const c of clients) c.close();
  fs.rmSync(pki.dir, { recursive: true, force: true });
});

/** A TLS client trusting `ca`, presenting `cert` if given. */
function tlsClient(endpoint: string, ca: CertFiles, cert?: CertFiles): GatekeeperClient {
  const creds = grpc.credentials.createSsl(fs.readFileSync(ca.certFile),
    cert ? fs.readFileSync(cert.keyFile) : null, cert ? fs.readFileSync(cert.certFile) : null);
  const c = new GatekeeperClient(endpoint, creds);
  clients.push(c);
  return c;
}

async function errorOf(p: Promise<unknown>): Promise<RpcError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(RpcError);
  return err as RpcError;
}

async function expectStatus(p: Promise<unknown>, code: status, pattern?: RegExp): Promise<void> {
  const err = await errorOf(p);
  expect(status[err.code]).toBe(status[code]);
  if (pattern) expect(err.message).toMatch(pattern);
}

const FAST = { timeoutMs: 3000 };

describe('TLS without client certificates', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode({ tls: { certFile: pki.server.certFile, keyFile: pki.server.keyFile, clientCaFile: '', peerCaFile: '' } });
  });
  afterAll(async () => { await t.stop(); });

  test('a client that trusts the CA gets Status over TLS', async () => {
    const s = await tlsClient(t.endpoint, pki.ca).call<{ initialized: boolean; sealed: boolean }>('OperatorService', 'Status', {}, FAST);
    expect(s).toMatchObject({ initialized: true, sealed: true });
  });

  test('a plaintext client cannot connect', async () => {
    await expectStatus(t.client.call('OperatorService', 'Status', {}, FAST), status.UNAVAILABLE);
  });

  test('a TLS client that does not trust the CA cannot connect', async () => {
    await expectStatus(tlsClient(t.endpoint, pki.otherCa).call('OperatorService', 'Status', {}, FAST), status.UNAVAILABLE, /certificate/);
  });

  test('operator certificate fingerprints without client certificates are a configuration error', async () => {
    // Without clientCaFile the server never asks for a client certificate, so the list could never match.
    await expect(startTestNode({
      tls: { certFile: pki.server.certFile, keyFile: pki.server.keyFile, clientCaFile: '', peerCaFile: '' },
      operatorCertFingerprints: [pki.operator.fingerprint],
    })).rejects.toThrow(/operatorCertFingerprints' needs tls.clientCaFile/);
  });
});

describe('mTLS with an operator certificate', () => {
  let t: TestNode;
  const candidacy = { epoch: 1, selfStake: '5', endpoint: '' };

  beforeAll(async () => {
    t = await startTestNode({
      tls: { certFile: pki.server.certFile, keyFile: pki.server.keyFile, clientCaFile: pki.ca.certFile, peerCaFile: '' },
      operatorCertFingerprints: [pki.operator.fingerprint],
    });
    const c = tlsClient(t.endpoint, pki.ca, pki.stranger);
    for (const share of t.shares.slice(0, 2)) await c.call('OperatorService', 'Unseal', { share }, FAST);
  });
  afterAll(async () => { await t.stop(); });

  test('the node is unsealed through an mTLS client', async () => {
    const s = await tlsClient(t.endpoint, pki.ca, pki.stranger).call<{ sealed: boolean }>('OperatorService', 'Status', {}, FAST);
    expect(s.sealed).toBe(false);
  });

  test('a client without a certificate cannot connect', async () => {
    await expectStatus(tlsClient(t.endpoint, pki.ca).call('OperatorService', 'Status', {}, FAST), status.UNAVAILABLE);
  });

  test('a client certificate from another CA cannot connect', async () => {
    await expectStatus(tlsClient(t.endpoint, pki.ca, pki.otherClient).call('OperatorService', 'Status', {}, FAST), status.UNAVAILABLE);
  });

  test('a plaintext client cannot connect', async () => {
    await expectStatus(t.client.call('OperatorService', 'Status', {}, FAST), status.UNAVAILABLE);
  });

  test('the operator certificate makes an unsigned operator call, audited as operator-cert', async () => {
    const c = tlsClient(t.endpoint, pki.ca, pki.operator);
    const r = await c.call<{ epoch: number; selfStake: string; signature: Uint8Array }>('OperatorService', 'GetCandidacy', candidacy, FAST);
    expect(r.epoch).toBe(1);
    expect(r.selfStake).toBe('5');
    expect(r.signature.length).toBe(64);
    const { entries } = await c.call<{ entries: { actor: string; action: string; detailJson: string }[] }>('OperatorService', 'ReadAudit', {}, FAST);
    const signed = entries.filter((e) => e.action === 'candidacy.signed');
    expect(signed.length).toBeGreaterThanOrEqual(1);
    const last = signed[signed.length - 1]!;
    expect(last.actor).toBe(`operator-cert:${pki.operator.fingerprint.slice(0, 16)}`);
    expect(JSON.parse(last.detailJson)).toMatchObject({ epoch: 1, selfStake: '5' });
  });

  test('a stranger certificate (valid chain, not listed) must sign: UNAUTHENTICATED unsigned', async () => {
    const c = tlsClient(t.endpoint, pki.ca, pki.stranger);
    await expectStatus(c.call('OperatorService', 'GetCandidacy', candidacy, FAST), status.UNAUTHENTICATED, /signed/);
    await expectStatus(c.call('OperatorService', 'ReadAudit', {}, FAST), status.UNAUTHENTICATED);
  });

  test('a stranger certificate signing with a non-operator key gets PERMISSION_DENIED', async () => {
    const c = tlsClient(t.endpoint, pki.ca, pki.stranger);
    const intruder = generateIdentityKey();
    await expectStatus(c.call('OperatorService', 'GetCandidacy', candidacy, { ...FAST, sign: { role: 'operator', secretKey: intruder.secretKey } }),
      status.PERMISSION_DENIED, /not an operator key/);
  });

  test('a stranger certificate signing with the operator key is accepted and audited as that key', async () => {
    const c = tlsClient(t.endpoint, pki.ca, pki.stranger);
    await c.call('OperatorService', 'GetCandidacy', candidacy, { ...FAST, sign: { role: 'operator', secretKey: t.operator.secretKey } });
    const { entries } = await tlsClient(t.endpoint, pki.ca, pki.operator)
      .call<{ entries: { actor: string; action: string }[] }>('OperatorService', 'ReadAudit', {}, FAST);
    const actors = entries.filter((e) => e.action === 'candidacy.signed').map((e) => e.actor);
    expect(actors[actors.length - 1]).toBe(`operator:${bytesToHex(t.operator.publicKey).slice(0, 16)}`);
    // Only the listed certificate ever shows up as a certificate actor.
    expect(actors.filter((a) => a.startsWith('operator-cert:'))).toEqual(actors.filter((a) => a === `operator-cert:${pki.operator.fingerprint.slice(0, 16)}`));
  });

  test('peer calls reach a TLS member: this node\'s certificate is presented, the member is checked against peerCaFile', async () => {
    const peerConfig = (caFile: string) => parseConfig({
      name: 'caller', listen: '127.0.0.1:1', dataDir: tempDir('peer'),
      tls: { certFile: pki.stranger.certFile, keyFile: pki.stranger.keyFile, clientCaFile: '', peerCaFile: caFile },
    }, '/');
    const caller = generateIdentityKey();
    const peers = new PeerClients(caller.secretKey, caller.publicKey, peerCredentials(peerConfig(pki.ca.certFile)));
    try {
      // The TLS handshake and the signed call go through: the member answers at the application level
      // (the caller's key is in no ceremony this member knows).
      await expectStatus(peers.call(t.endpoint, 'GetRosterCertificate', { epoch: 1 }, 3000), status.PERMISSION_DENIED, /not a peer of this node/);
    } finally {
      peers.close();
    }
    const wrongCa = new PeerClients(caller.secretKey, caller.publicKey, peerCredentials(peerConfig(pki.otherCa.certFile)));
    try {
      await expectStatus(wrongCa.call(t.endpoint, 'GetRosterCertificate', { epoch: 1 }, 3000), status.DEADLINE_EXCEEDED);
    } finally {
      wrongCa.close();
    }
  });
});

describe('the CLI over TLS', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode({ tls: { certFile: pki.server.certFile, keyFile: pki.server.keyFile, clientCaFile: '', peerCaFile: '' } });
  });
  afterAll(async () => { await t.stop(); });

  async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const { default: status } = await import('../../src/cli/commands/status.js');
    return runCommand(status, argv);
  }


  test('gatekeeper status --tls-ca reaches a TLS node; plaintext does not', async () => {
    const ok = await run(['--endpoint', t.endpoint, '--json', '--tls-ca', pki.ca.certFile]);
    expect(ok.code).toBe(2); // reached and answered: sealed (exit 2, as `vault status`)
    expect(JSON.parse(ok.out)).toMatchObject({ initialized: true, sealed: true });
    const plain = await run(['--endpoint', t.endpoint, '--json']);
    expect(plain.code).toBe(1);
    expect(plain.err).toMatch(/gatekeeper status: /);
  });
});
