// Client failover (issue 12 item 3, issue 13 item 3): several endpoints, one refusing connections and
// one that accepts TCP but never answers (as a SIGSTOPped process does), in front of a real gRPC
// PublicService; every answer still verified against the pinned committee key.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { jest } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { openInvocation } from '../../src/crypto/envelope.js';
import { RpcError } from '../../src/rpc/errors.js';
import {
  ContractKeyCertificateError, FailoverClient, GatekeeperClient, connectToCommittee, encryptForContract, fetchCommittee, getContractKey,
  parseEndpoints, provisionContractKey, withRetries, type EndpointCaller, type WorkerKeys,
} from '../../src/sdk/index.js';
import { generateIdentityKey } from '../../src/crypto/identity.js';
import { generateTransportKeyPair } from '../../src/crypto/hpke.js';
import { unavailable } from '../../src/rpc/errors.js';
import { runEncrypt } from '../../src/cli/commands/encrypt.js';
import { tempDir } from '../helpers/node.js';
import { makeTestPki } from '../helpers/tls-certs.js';
import { SimCommittee } from './sim-committee.js';

jest.setTimeout(60_000);

const cid = utf8('demo');
const contract = (() => { const sk = secp256k1.utils.randomSecretKey(); return { sk, pk: secp256k1.getPublicKey(sk, true) }; })();

let good: SimCommittee;
let goodEndpoint: string;
let evil: SimCommittee;
let evilEndpoint: string;
let refused: string;
let hung: { server: net.Server; sockets: Set<net.Socket>; endpoint: string; accepted: number };

/** A loopback port nothing listens on: bound, then closed. */
async function refusedEndpoint(): Promise<string> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

/** Accepts connections and never sends a byte: the HTTP/2 handshake never completes. */
async function hungEndpoint() {
  const sockets = new Set<net.Socket>();
  const h = { server: net.createServer((sock) => { h.accepted++; sockets.add(sock); sock.on('close', () => sockets.delete(sock)); }), sockets, endpoint: '', accepted: 0 };
  await new Promise<void>((resolve) => h.server.listen(0, '127.0.0.1', resolve));
  h.endpoint = `127.0.0.1:${(h.server.address() as net.AddressInfo).port}`;
  return h;
}

beforeAll(async () => {
  good = new SimCommittee(4, 3);
  good.certifyKey(cid, 1, contract.pk);
  goodEndpoint = await good.listen();
  // Same roster and keys as `good`, but its contract key answers carry a certificate by another committee.
  evil = new SimCommittee(4, 3);
  evil.certifyKey(cid, 1, contract.pk);
  evilEndpoint = await evil.listen();
  const forger = new SimCommittee(4, 3);
  forger.certifyKey(cid, 1, contract.pk);
  evil.tamperContractKey = () => ({ ...forger.keys.get(`${Buffer.from(cid).toString('hex')}/1`)! });
  evil.tamperCommittee = () => good.committeeResponse();
  refused = await refusedEndpoint();
  hung = await hungEndpoint();
});

afterAll(async () => {
  for (const s of hung.sockets) s.destroy();
  await new Promise<void>((resolve) => hung.server.close(() => resolve()));
  await Promise.all([good.close(), evil.close()]);
});

describe('failover over real gRPC on loopback', () => {
  test('the first endpoint refuses connections, the second never answers: the third answers, verified under the pinned key', async () => {
    // A 4 s deadline instead of the 10 s default: the silent member's share of it is what the test waits out.
    const client = new GatekeeperClient([refused, hung.endpoint, goodEndpoint], { minAttemptMs: 300, timeoutMs: 4_000 });
    try {
      const before = hung.accepted;
      const started = Date.now();
      const key = await getContractKey(client, good.committeeKey, cid, 1);
      expect(Buffer.from(key.publicKey)).toEqual(Buffer.from(contract.pk));
      // One deadline: the silent member got a share of it, not all of it (the third still answered within it).
      expect(Date.now() - started).toBeLessThan(4_000);
      expect(hung.accepted).toBeGreaterThan(before);
      const health = client.health();
      expect(health.map((h) => h.failures)).toEqual([1, 1, 0]);
      expect(health[0]!.lastError).toMatch(/^UNAVAILABLE/);
      expect(health[1]!.lastError).toMatch(/^DEADLINE_EXCEEDED/);
      // The member that answered is asked first next time: no second wait on the silent one.
      const again = Date.now();
      const committee = await fetchCommittee(client, good.committeeKey);
      expect(committee.epoch).toBe(1);
      expect(Date.now() - again).toBeLessThan(3_000);
      expect(client.health().map((h) => h.failures)).toEqual([1, 1, 0]);
    } finally {
      client.close();
    }
  });

  test('a failover member answering with a certificate by another committee is refused, not trusted', async () => {
    const client = new GatekeeperClient([refused, evilEndpoint, goodEndpoint]);
    try {
      await expect(getContractKey(client, good.committeeKey, cid, 1)).rejects.toThrow(ContractKeyCertificateError);
      await expect(getContractKey(client, good.committeeKey, cid, 1)).rejects.toThrow(/not signed by the pinned committee key/);
      // ... and the envelope is never written to the forged key.
      await expect(encryptForContract(client, good.committeeKey, cid, utf8('secret'))).rejects.toThrow(ContractKeyCertificateError);
    } finally {
      client.close();
    }
  });

  test('with every member down the call fails within the one deadline, naming each attempt', async () => {
    const client = new GatekeeperClient([refused, hung.endpoint], { minAttemptMs: 200, backoffBaseMs: 100, timeoutMs: 3_000 });
    try {
      const started = Date.now();
      const err = await getContractKey(client, good.committeeKey, cid, 1).catch((e: unknown) => e);
      // getContractKey takes the client's default deadline (3 s here); a call may give its own.
      expect(err).toBeInstanceOf(RpcError);
      expect((err as RpcError).message).toMatch(new RegExp(`no member answered within 3000 ms .*${refused}: UNAVAILABLE`));
      expect((err as RpcError).message).toContain(`${hung.endpoint}: DEADLINE_EXCEEDED`);
      expect(Date.now() - started).toBeLessThan(7_000);
      const short = Date.now();
      await expect(client.call('PublicService', 'GetCommittee', {}, { timeoutMs: 1_500 })).rejects.toBeInstanceOf(RpcError);
      expect(Date.now() - short).toBeLessThan(4_000);
    } finally {
      client.close();
    }
  });

  test('connectToCommittee verifies the committee and adds the certified roster endpoints', async () => {
    const { client, committee } = await connectToCommittee([refused, goodEndpoint], good.committeeKey);
    try {
      expect(client.endpoints).toEqual([refused, goodEndpoint, ...committee.members.map((m) => m.endpoint)]);
      expect(committee.members.map((m) => m.endpoint)).toEqual(good.roster.members.map((m) => m.endpoint));
    } finally {
      client.close();
    }
    // A committee from the wrong key is refused before any endpoint is added.
    await expect(connectToCommittee([goodEndpoint], evil.committeeKey.map((b, i) => (i === 0 ? b ^ 1 : b))))
      .rejects.toThrow(/not the pinned/);
  });

  test('the worker SDK provisions through the failover client, retrying the whole provisioning on a transient status', async () => {
    const client = new GatekeeperClient([refused, goodEndpoint]);
    let calls = 0;
    good.checkProvision = async () => { calls++; if (calls === 1) throw unavailable('member busy'); return undefined; };
    try {
      const keys: WorkerKeys = { hpke: generateTransportKeyPair(), signing: generateIdentityKey() };
      const quotes: string[] = [];
      const provisioned = await withRetries(() => provisionContractKey({
        client, pinnedCommitteeKey: good.committeeKey, contractId: cid, version: 3, keys,
        makeQuote: async (reportData) => { quotes.push(Buffer.from(reportData).toString('hex')); return { quote: reportData, collateralJson: '{}' }; },
      }), { timeoutMs: 20_000, backoffBaseMs: 50 });
      expect(calls).toBe(2);
      // A fresh challenge (so a fresh report_data) for the second attempt.
      expect(new Set(quotes).size).toBe(2);
      expect(provisioned.usedMembers).toHaveLength(3);
      expect(client.health()[0]!.failures).toBeGreaterThan(0);
      // A refusal is final: no second attempt.
      good.checkProvision = async () => { calls++; return 'release policy refused the quote'; };
      await expect(withRetries(() => provisionContractKey({
        client, pinnedCommitteeKey: good.committeeKey, contractId: cid, version: 3, keys,
        makeQuote: async (reportData) => ({ quote: reportData, collateralJson: '{}' }),
      }), { timeoutMs: 20_000, backoffBaseMs: 50 })).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
      expect(calls).toBe(3);
    } finally {
      good.checkProvision = async () => undefined;
      client.close();
    }
  });

  test('gatekeeper encrypt --endpoint repeated: the first is down, the envelope is written with the second', async () => {
    const dir = tempDir('failover-encrypt');
    const inFile = path.join(dir, 'in.txt');
    const outFile = path.join(dir, 'out.env');
    fs.writeFileSync(inFile, 'hello over failover');
    const stdout: string[] = [];
    const stderr: string[] = [];
    const code = await runEncrypt(['--contract', 'demo', '--in', inFile, '--out', outFile, '--committee-key', Buffer.from(good.committeeKey).toString('hex'),
      '--endpoint', refused, '--endpoint', goodEndpoint], { stdout: (s) => stdout.push(s), stderr: (s) => stderr.push(s) });
    expect(stderr.join('')).toBe('');
    expect(code).toBe(0);
    const opened = await openInvocation(contract.sk, Uint8Array.from(fs.readFileSync(outFile)));
    expect(Buffer.from(opened.plaintext).toString()).toBe('hello over failover');
    // The same with the forging member second: refused with exit 1, nothing written.
    fs.rmSync(outFile);
    const refusedCode = await runEncrypt(['--contract', 'demo', '--in', inFile, '--out', outFile, '--committee-key', Buffer.from(good.committeeKey).toString('hex'),
      '--endpoint', refused, '--endpoint', evilEndpoint], { stdout: () => {}, stderr: (s) => stderr.push(s) });
    expect(refusedCode).toBe(1);
    expect(stderr.join('')).toMatch(/refused: ContractKeyCertificateError/);
    expect(fs.existsSync(outFile)).toBe(false);
    // A client config may list several endpoints; a malformed one is bad usage (exit 2), not a call.
    const config = path.join(dir, 'client.json');
    fs.writeFileSync(config, JSON.stringify({ endpoint: [refused, goodEndpoint], committeeKey: Buffer.from(good.committeeKey).toString('hex') }));
    expect(await runEncrypt(['--contract', 'demo', '--in', inFile, '--out', outFile, '--client-config', config], { stdout: () => {}, stderr: () => {} })).toBe(0);
    expect(fs.existsSync(outFile)).toBe(true);
    await expect(runEncrypt(['--contract', 'demo', '--in', inFile, '--out', outFile, '--client-config', config, '--endpoint', goodEndpoint, '--endpoint', 'no-port'],
      { stdout: () => {}, stderr: () => {} })).rejects.toThrow(/--endpoint: endpoint 'no-port' is not host:port/);
  });

  test('TLS members: encrypt --tls-ca with repeated --endpoint fails over and verifies the server; another CA gets nothing', async () => {
    const pki = makeTestPki(tempDir('failover-tls'));
    const tlsSim = new SimCommittee(3, 2);
    tlsSim.certifyKey(cid, 1, contract.pk);
    const tls = await tlsSim.listen(grpc.ServerCredentials.createSsl(fs.readFileSync(pki.ca.certFile),
      [{ private_key: fs.readFileSync(pki.server.keyFile), cert_chain: fs.readFileSync(pki.server.certFile) }], false));
    try {
      const dir = tempDir('failover-tls-io');
      fs.writeFileSync(path.join(dir, 'in'), 'over TLS');
      const argv = (ca: string, out: string) => ['--contract', 'demo', '--in', path.join(dir, 'in'), '--out', path.join(dir, out),
        '--committee-key', Buffer.from(tlsSim.committeeKey).toString('hex'), '--endpoint', refused, '--endpoint', tls, '--tls-ca', ca];
      const err: string[] = [];
      expect(await runEncrypt(argv(pki.ca.certFile, 'ok.env'), { stdout: () => {}, stderr: (s) => err.push(s) })).toBe(0);
      const opened = await openInvocation(contract.sk, Uint8Array.from(fs.readFileSync(path.join(dir, 'ok.env'))));
      expect(Buffer.from(opened.plaintext).toString()).toBe('over TLS');
      // A server certificate from another CA is not trusted: no member answers (the default 10 s deadline).
      const code = await runEncrypt(argv(pki.otherCa.certFile, 'no.env'), { stdout: () => {}, stderr: (s) => err.push(s) });
      expect(code).toBe(1);
      expect(err.join('')).toMatch(/refused: RpcError: PublicService\/GetContractKey: no member answered/);
      expect(fs.existsSync(path.join(dir, 'no.env'))).toBe(false);
    } finally {
      await tlsSim.close();
    }
  });
});

/** A member double: answers or fails with a status, counting calls; time passes only through the fake clock. */
function fakeMember(behaviour: () => grpc.status | 'ok', log: string[], name: string): EndpointCaller {
  return {
    async call<Res>(service: string, method: string): Promise<Res> {
      log.push(`${name}:${service}/${method}`);
      const b = behaviour();
      if (b === 'ok') return { from: name } as Res;
      throw new RpcError(b, `${name} says ${grpc.status[b]}`);
    },
    close() {},
  };
}

describe('failover policy (fake members, fake clock)', () => {
  let t: number;
  let log: string[];
  const clock = { now: () => t, sleep: async (ms: number) => { t += ms; } };
  beforeEach(() => { t = 1_000_000; log = []; });

  function client(behaviours: Record<string, () => grpc.status | 'ok'>, opts = {}) {
    return new FailoverClient(Object.keys(behaviours), {
      ...clock, ...opts, connect: (e) => fakeMember(behaviours[e]!, log, e),
    });
  }

  test('transient statuses move on to the next member; the answering member is preferred next time', async () => {
    for (const status of [grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.RESOURCE_EXHAUSTED]) {
      log = [];
      const c = client({ 'a:1': () => status, 'b:2': () => 'ok' });
      await expect(c.call('PublicService', 'GetContractKey', {})).resolves.toEqual({ from: 'b:2' });
      await expect(c.call('WorkerService', 'GetChallenge', {})).resolves.toEqual({ from: 'b:2' });
      expect(log).toEqual(['a:1:PublicService/GetContractKey', 'b:2:PublicService/GetContractKey', 'b:2:WorkerService/GetChallenge']);
    }
  });

  test('a member\'s definite answer (NOT_FOUND, PERMISSION_DENIED) is final: no other member is asked', async () => {
    for (const status of [grpc.status.NOT_FOUND, grpc.status.PERMISSION_DENIED, grpc.status.INVALID_ARGUMENT]) {
      log = [];
      const c = client({ 'a:1': () => status, 'b:2': () => 'ok' });
      await expect(c.call('PublicService', 'GetContractKey', {})).rejects.toMatchObject({ code: status });
      expect(log).toEqual(['a:1:PublicService/GetContractKey']);
    }
  });

  test('FAILED_PRECONDITION (a restarted member still sealed) moves a read on to each other member once; final when all say it', async () => {
    // bench/chaos: fresh clients whose first endpoint was restarted and not yet unsealed failed every call.
    const c = client({ 'a:1': () => grpc.status.FAILED_PRECONDITION, 'b:2': () => 'ok' });
    await expect(c.call('PublicService', 'GetContractKey', {})).resolves.toEqual({ from: 'b:2' });
    expect(log).toEqual(['a:1:PublicService/GetContractKey', 'b:2:PublicService/GetContractKey']);
    log = [];
    const all = client({ 'a:1': () => grpc.status.FAILED_PRECONDITION, 'b:2': () => grpc.status.FAILED_PRECONDITION, 'c:3': () => grpc.status.FAILED_PRECONDITION });
    const start = t;
    await expect(all.call('PublicService', 'GetContractKey', {})).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
    expect(log).toEqual(['a:1:PublicService/GetContractKey', 'b:2:PublicService/GetContractKey', 'c:3:PublicService/GetContractKey']);
    expect(t).toBe(start);
    // Not for calls that change state: those go to one member, once.
    log = [];
    const once = client({ 'a:1': () => grpc.status.FAILED_PRECONDITION, 'b:2': () => 'ok' });
    await expect(once.call('WorkerService', 'ProvisionContractKey', {})).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
    expect(log).toEqual(['a:1:WorkerService/ProvisionContractKey']);
  });

  test('calls that are not idempotent (provisioning, publication) are sent once, never retried elsewhere', async () => {
    const c = client({ 'a:1': () => grpc.status.UNAVAILABLE, 'b:2': () => 'ok' });
    await expect(c.call('WorkerService', 'ProvisionContractKey', {})).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    await expect(c.call('WorkerService', 'PublishContractKey', {})).resolves.toEqual({ from: 'b:2' });
    expect(log).toEqual(['a:1:WorkerService/ProvisionContractKey', 'b:2:WorkerService/PublishContractKey']);
  });

  test('backoff doubles per failure up to the cap, and the retries stop at the caller\'s deadline', async () => {
    const c = client({ 'a:1': () => grpc.status.UNAVAILABLE, 'b:2': () => grpc.status.UNAVAILABLE }, { backoffBaseMs: 100, backoffMaxMs: 800 });
    const start = t;
    const err = await c.call('PublicService', 'GetCommittee', {}, { timeoutMs: 3_000 }).catch((e: unknown) => e) as RpcError;
    expect(err).toBeInstanceOf(RpcError);
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.message).toMatch(/no member answered within 3000 ms/);
    expect(t - start).toBeLessThanOrEqual(3_000);
    // a and b alternate; each one's wait doubles 100, 200, 400, 800, 800: a at 0, 100, 300, 700, 1500, 2300 ms.
    const aCalls = log.filter((l) => l.startsWith('a:1')).length;
    expect(aCalls).toBe(6);
    expect(c.health().map((h) => h.failures)).toEqual([6, 6]);
    expect(c.health()[0]!.retryAtMs - t).toBeLessThanOrEqual(800);
  });

  test('a member in backoff is asked only after the healthy ones; it recovers after answering', async () => {
    let aDown = true;
    let bDown = false;
    let cDown = false;
    const c = client({
      'a:1': () => (aDown ? grpc.status.UNAVAILABLE : 'ok'), 'b:2': () => (bDown ? grpc.status.UNAVAILABLE : 'ok'),
      'c:3': () => (cDown ? grpc.status.UNAVAILABLE : 'ok'),
    });
    await expect(c.call('PublicService', 'GetCommittee', {})).resolves.toEqual({ from: 'b:2' });
    bDown = true;
    // a comes first in the list but is in backoff: b (preferred) and then c are asked, a is not.
    await expect(c.call('PublicService', 'GetCommittee', {})).resolves.toEqual({ from: 'c:3' });
    expect(log).toEqual(['a:1', 'b:2', 'b:2', 'c:3'].map((e) => `${e}:PublicService/GetCommittee`));
    expect(c.health().map((h) => h.failures)).toEqual([1, 1, 0]);
    // When every healthy member fails, members in backoff are still asked once before giving up.
    aDown = false;
    cDown = true;
    await expect(c.call('PublicService', 'GetCommittee', {})).resolves.toEqual({ from: 'a:1' });
    expect(c.health().map((h) => h.failures)).toEqual([0, 1, 1]);
  });

  test('withRetries repeats a whole operation on transient statuses with doubling waits until the deadline', async () => {
    let n = 0;
    const waits: number[] = [];
    const sleep = async (ms: number) => { waits.push(ms); t += ms; };
    await expect(withRetries(async () => { n++; if (n < 4) throw new RpcError(grpc.status.RESOURCE_EXHAUSTED, 'busy'); return 'done'; },
      { now: clock.now, sleep, backoffBaseMs: 100 })).resolves.toBe('done');
    expect(waits).toEqual([100, 200, 400]);
    waits.length = 0;
    const left: number[] = [];
    await expect(withRetries(async (remaining) => { left.push(remaining); throw new RpcError(grpc.status.UNAVAILABLE, 'down'); },
      { now: clock.now, sleep, backoffBaseMs: 100, backoffMaxMs: 400, timeoutMs: 1_000 })).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    expect(waits).toEqual([100, 200, 400]);
    expect(left).toEqual([1_000, 900, 700, 300]);
    n = 0;
    await expect(withRetries(async () => { n++; throw new RpcError(grpc.status.FAILED_PRECONDITION, 'sealed'); }, { now: clock.now, sleep })).rejects.toThrow('sealed');
    expect(n).toBe(1);
  });

  test('endpoints are checked: host:port, duplicates dropped, comma lists accepted', () => {
    expect(parseEndpoints('a:1, b:2,a:1')).toEqual(['a:1', 'b:2']);
    expect(() => parseEndpoints([])).toThrow(/at least one endpoint/);
    expect(() => parseEndpoints(['no-port'])).toThrow(/is not host:port/);
    expect(() => parseEndpoints(['h:99999'])).toThrow(/is not host:port/);
    expect(() => parseEndpoints(['x'.repeat(10_000) + ':1'])).toThrow(/^endpoint 'x{160}…' is not host:port$/);
  });
});
