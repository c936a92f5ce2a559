// The Python client (src/sdk/python/gatekeeper_client.py, issue 13 item 5) against a real gRPC
// committee double on loopback: it fails over past a down member, verifies the roster chain and the
// contract key certificate against the pinned key, and seals an envelope v1 that the TypeScript code
// opens; with a wrong pinned key, a forged certificate or a forged roster it refuses. Its HPKE is checked
// on the draft's vectors and everything else on docs/wire-formats.md's golden vectors.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { jest } from '@jest/globals';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { openInvocation } from '../../src/crypto/envelope.js';
import { encodeRoster, rosterCertificateMessage } from '../../src/committee/roster.js';
import { FIXTURES_DIR, REPO_ROOT } from '../helpers/shared.js';
import { tempDir } from '../helpers/node.js';
import * as grpc from '@grpc/grpc-js';
import { makeTestPki } from '../helpers/tls-certs.js';
import { SimCommittee } from '../sdk/sim-committee.js';
import { runPython } from './python.js';

jest.setTimeout(60_000);

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const cid = utf8('demo');
const contract = (() => { const sk = secp256k1.utils.randomSecretKey(); return { sk, pk: secp256k1.getPublicKey(sk, true) }; })();
let sim: SimCommittee;
let other: SimCommittee;
let endpoint: string;
let down: string;
let dir: string;

beforeAll(async () => {
  sim = new SimCommittee(4, 3);
  other = new SimCommittee(4, 3);
  sim.certifyKey(cid, 1, contract.pk);
  endpoint = await sim.listen();
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  down = `127.0.0.1:${(s.address() as net.AddressInfo).port}`;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  dir = tempDir('py-client');
  fs.writeFileSync(path.join(dir, 'in.txt'), 'sealed in Python');
});

afterAll(async () => { await sim?.close(); });
afterEach(() => {
  sim.tamperCommittee = (r) => r;
  sim.tamperContractKey = (r) => r;
});

function seal(pinned: Uint8Array, out: string, endpoints = [down, endpoint]) {
  return runPython(['seal', ...endpoints.flatMap((e) => ['--endpoint', e]), '--committee-key', hex(pinned), '--contract-id', hex(cid),
    '--in', path.join(dir, 'in.txt'), '--out', path.join(dir, out), '--timeout', '15']);
}

test('self-test: HPKE on the draft vectors (KEM id 0x0013 as a parameter) and every golden vector of docs/wire-formats.md', async () => {
  const r = await runPython(['self-test', '--hpke-vectors', path.join(FIXTURES_DIR, 'hpke', 'secp256k1-draft-vectors.json'),
    '--wire-doc', path.join(REPO_ROOT, 'docs', 'wire-formats.md')]);
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toEqual({
    ok: true, hpke_draft_vectors: { kem_id: '0x0013', count: 3, ok: true },
    'envelope-v1': true, 'contract-key-certificate': true, 'roster-certificate': true, 'report-data': true,
  });
  expect(r.code).toBe(0);
});

test('self-test fails on a doc whose golden envelope was changed by one byte', async () => {
  const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'wire-formats.md'), 'utf8');
  const bad = doc.replace(/^(envelope +=.*)(..)$/m, (_all, head: string, last: string) => head + (last === '00' ? '01' : '00'));
  expect(bad).not.toBe(doc);
  fs.writeFileSync(path.join(dir, 'bad.md'), bad);
  const r = await runPython(['self-test', '--hpke-vectors', path.join(FIXTURES_DIR, 'hpke', 'secp256k1-draft-vectors.json'), '--wire-doc', path.join(dir, 'bad.md')]);
  expect(r.code).toBe(1);
  expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, 'envelope-v1': false, 'report-data': true });
});

test('fails over past a down member, verifies under the pinned key, and seals an envelope the TypeScript code opens', async () => {
  const r = await seal(sim.committeeKey, 'ok.env');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout) as { committee: { epoch: number; threshold: number; members: number; endpoints: string[] }; contract_key: { public_key: string; certificate: string } };
  expect(out.committee).toMatchObject({ epoch: 1, threshold: 3, members: 4 });
  expect(out.committee.endpoints.slice(0, 2)).toEqual([down, endpoint]);
  expect(out.committee.endpoints).toEqual(expect.arrayContaining(sim.roster.members.map((m) => m.endpoint)));
  expect(out.contract_key.public_key).toBe(hex(contract.pk));
  const opened = await openInvocation(contract.sk, Uint8Array.from(fs.readFileSync(path.join(dir, 'ok.env'))));
  expect(Buffer.from(opened.plaintext).toString()).toBe('sealed in Python');
  expect(opened.version).toBe(1);
});

test('a wrong pinned key is refused: exit 1, nothing written', async () => {
  const r = await seal(other.committeeKey, 'wrong.env');
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/refused: the epoch 1 roster names committee key [0-9a-f]{64}, not the pinned/);
  expect(fs.existsSync(path.join(dir, 'wrong.env'))).toBe(false);
});

test('a contract key certified by another committee is refused (BIP340 check under the pinned key)', async () => {
  const forged = other.frostSign(new Uint8Array(0)); // a valid signature by the other committee, on anything else
  sim.tamperContractKey = (r) => ({ ...r, certificate: forged });
  const r = await seal(sim.committeeKey, 'forged.env');
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/refused: contract 64656d6f \(latest version\): the certificate \(generation 1\) is not signed by the pinned committee key/);
  expect(fs.existsSync(path.join(dir, 'forged.env'))).toBe(false);
});

test('our roster signed by another key, and a member list that differs from the certified roster, are refused', async () => {
  sim.tamperCommittee = (res) => {
    const rosterBytes = encodeRoster(sim.roster);
    return { ...res, certificates: [{ epoch: 1, rosterBytes, signature: other.frostSign(rosterCertificateMessage(1, rosterBytes)) }] };
  };
  let r = await seal(sim.committeeKey, 'x.env', [endpoint]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/refused: the epoch 1 roster certificate is not signed by the pinned committee key/);
  sim.tamperCommittee = (res) => ({ ...res, members: (res.members as Record<string, unknown>[]).map((m, i) => (i === 1 ? { ...m, endpoint: 'evil.example:1' } : m)) });
  r = await seal(sim.committeeKey, 'x.env', [endpoint]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/refused: the response's member 1 \([0-9a-f]{32}\) disagrees with the certified epoch 1 roster/);
});

test('a member that accepts connections but never answers gets only its share of the deadline', async () => {
  const sockets = new Set<net.Socket>();
  const hung = net.createServer((sock) => { sockets.add(sock); });
  await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
  const silent = `127.0.0.1:${(hung.address() as net.AddressInfo).port}`;
  try {
    const started = Date.now();
    const r = await runPython(['committee', '--endpoint', silent, '--endpoint', endpoint, '--committee-key', hex(sim.committeeKey), '--timeout', '8']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).committee.epoch).toBe(1);
    expect(sockets.size).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(8_000);
  } finally {
    for (const sock of sockets) sock.destroy();
    await new Promise<void>((resolve) => hung.close(() => resolve()));
  }
});

test('with every member down it stops within its deadline with the attempts (exit 5)', async () => {
  const r = await runPython(['committee', '--endpoint', down, '--committee-key', hex(sim.committeeKey), '--timeout', '3']);
  expect(r.code).toBe(5);
  expect(r.stderr).toMatch(new RegExp(`GetCommittee: no member answered within 3 s \\(${down}: UNAVAILABLE`));
});

test('members that run TLS: --tls-ca verifies the server; plaintext or another CA gets no answer', async () => {
  const pki = makeTestPki(tempDir('py-tls'));
  const creds = grpc.ServerCredentials.createSsl(fs.readFileSync(pki.ca.certFile),
    [{ private_key: fs.readFileSync(pki.server.keyFile), cert_chain: fs.readFileSync(pki.server.certFile) }], false);
  other.certifyKey(cid, 1, contract.pk);
  const tls = await other.listen(creds);
  try {
    const args = (extra: string[], out: string) => ['seal', '--endpoint', down, '--endpoint', tls, '--committee-key', hex(other.committeeKey),
      '--contract-id', hex(cid), '--in', path.join(dir, 'in.txt'), '--out', path.join(dir, out), '--timeout', '5', ...extra];
    const ok = await runPython(args(['--tls-ca', pki.ca.certFile], 'tls.env'));
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const opened = await openInvocation(contract.sk, Uint8Array.from(fs.readFileSync(path.join(dir, 'tls.env'))));
    expect(Buffer.from(opened.plaintext).toString()).toBe('sealed in Python');
    const plain = await runPython(args([], 'plain.env'));
    expect(plain.code).toBe(5);
    const wrongCa = await runPython(args(['--tls-ca', pki.otherCa.certFile], 'wrong-ca.env'));
    expect(wrongCa.code).toBe(5);
    expect(wrongCa.stderr).toMatch(/no member answered/);
    expect(fs.existsSync(path.join(dir, 'wrong-ca.env'))).toBe(false);
    const usage = await runPython(args(['--tls-cert', pki.operator.certFile], 'usage.env'));
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--tls-cert and --tls-key go together/);
  } finally {
    await other.close();
  }
});
