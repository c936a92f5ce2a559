// docs/operator-guide.md as a script: a committee of 4 nodes set up by hand with the `gatekeeper`
// command alone (no devnet code), over TLS on loopback. Keys, init, node, unseal, candidacies,
// snapshot, governance signatures by separate holders, genesis, policy, contract, a development
// worker, encrypt and invoke, then a later election round with hand-off and a share refresh. Every step runs `node dist/src/cli/main.js` as an operator would.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BUILT_CLI, CLI_ENV, runBuiltCli } from '../helpers/cli.js';
import { makeTestPki } from '../helpers/tls-certs.js';

const CLI = BUILT_CLI;
const env = CLI_ENV;
const gk = runBuiltCli;

/** Runs a step that must succeed and returns its stdout. */
async function ok(...args: string[]): Promise<string> {
  const r = await gk(...args);
  if (r.code !== 0) throw new Error(`gatekeeper ${args.slice(0, 2).join(' ')} exited ${r.code}: ${r.err}${r.out}`);
  return r.out;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether HOST:PORT accepts a TCP connection now. */
function accepts(endpoint: string): Promise<boolean> {
  const [host, port] = endpoint.split(':');
  return new Promise((resolve) => {
    const sock = net.connect(Number(port), host!);
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => { sock.destroy(); resolve(false); });
  });
}

describe('docs/operator-guide.md, step by step with the CLI alone', () => {
  let dir: string;
  const procs: ChildProcess[] = [];

  beforeAll(() => {
    if (!fs.existsSync(CLI)) throw new Error('run `npm run build` first');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gk-guide-'));
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => new Promise<void>((resolve) => {
      if (p.exitCode !== null) { resolve(); return; }
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
      setTimeout(() => p.kill('SIGKILL'), 5000).unref();
    })));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('forms a committee, installs a policy and a contract, and a client reaches the worker', async () => {
    const f = (name: string) => path.join(dir, name);
    fs.mkdirSync(f('tls'));
    const tls = makeTestPki(f('tls'));
    const tlsArgs = ['--tls-ca', tls.ca.certFile];

    // 1. Keys: one operator key, three governance keys (threshold 2).
    const operatorPub = (await ok('keys', 'generate', '--kind', 'operator', '--out', f('operator.key'))).trim();
    const govPubs: string[] = await Promise.all([1, 2, 3].map(async (i) =>
      JSON.parse(await ok('keys', 'generate', '--kind', 'governance', '--out', f(`gov-${i}.key`), '--json')).publicKey as string));
    expect(fs.statSync(f('operator.key')).mode & 0o777).toBe(0o600);
    expect((await gk('keys', 'generate', '--out', f('operator.key'))).code).toBe(2); // never overwritten

    // Development attestation PKI for the worker; the nodes trust its root.
    await ok('test-pki', 'create', '--out', f('test-pki.json'), '--root-out', f('test-root.der'));

    // 2. Four nodes: config, init, node, unseal.
    const nodes: { endpoint: string; config: string; shares: string }[] = [];
    for (let i = 1; i <= 4; i++) {
      const nodeDir = f(`node-${i}`);
      fs.mkdirSync(nodeDir, { mode: 0o700 });
      const endpoint = `127.0.0.1:${await freePort()}`;
      const config = path.join(nodeDir, 'config.json');
      fs.writeFileSync(config, JSON.stringify({
        name: `node-${i}`, listen: endpoint, dataDir: '.', metricsListen: `127.0.0.1:${await freePort()}`,
        tls: { certFile: tls.server.certFile, keyFile: tls.server.keyFile, peerCaFile: tls.ca.certFile },
        operatorKeys: [operatorPub], governance: { keys: govPubs, threshold: 2 }, unseal: { shares: 3, threshold: 2 },
        attestation: { trustedRootFile: f('test-root.der'), allowDevelopmentAttestationRoot: true },
      }, null, 2));
      const shares = path.join(nodeDir, 'shares');
      await ok('init', '--config', config, '--shares-dir', shares);
      nodes.push({ endpoint, config, shares });
    }
    for (const n of nodes) {
      const out = fs.openSync(path.join(path.dirname(n.config), 'node.log'), 'a');
      procs.push(spawn(process.execPath, [CLI, 'node', '--config', n.config], { stdio: ['ignore', out, out], env }));
      fs.closeSync(out);
    }
    await Promise.all(nodes.map(async (n, i) => {
      // Until its port accepts connections (a cheap probe, not a CLI process every 200 ms while four
      // nodes start on two cores), then `gatekeeper status` once: exit 2, up and sealed (as `vault status`).
      const deadline = Date.now() + 120_000;
      while (!(await accepts(n.endpoint))) {
        if (procs[i]!.exitCode !== null) throw new Error(`${n.endpoint} exited with ${procs[i]!.exitCode}`);
        if (Date.now() > deadline) throw new Error(`${n.endpoint} did not start within 120 s`);
        await sleep(100);
      }
      for (let t = 0; ; t++) {
        const r = await gk('status', '--endpoint', n.endpoint, '--json', ...tlsArgs);
        if (r.code === 2) { expect(JSON.parse(r.out).sealed).toBe(true); return; }
        if (t > 20) throw new Error(`${n.endpoint} did not answer Status: ${r.err}`);
        await sleep(200);
      }
    }));
    await Promise.all(nodes.map(async (n) => {
      expect(await ok('unseal', '--endpoint', n.endpoint, '--share-file', path.join(n.shares, 'unseal-share-1.txt'), ...tlsArgs)).toMatch(/1 of 2/);
      expect(await ok('unseal', '--endpoint', n.endpoint, '--share-file', path.join(n.shares, 'unseal-share-2.txt'), ...tlsArgs)).toMatch(/unsealed/);
    }));

    // 3. Candidacies and a nominations file; the snapshot; two governance holders sign copies; combine.
    const ids: string[] = await Promise.all(nodes.map(async (n, i) => JSON.parse(await ok('candidacy', 'get', '--endpoint', n.endpoint, '--epoch', '1',
      '--self-stake', String(1000 + i), '--operator-key', f('operator.key'), '--out', f(`candidacy-${i + 1}.json`), '--json', ...tlsArgs)).nodeId as string));
    fs.writeFileSync(f('nominations.json'), JSON.stringify({
      format: 'gatekeeper-nominations/1',
      nominations: [{ voter: 'alice', stake: '500', targets: [ids[0], ids[1]] }, { voter: 'bob', stake: '700', targets: [ids[2], ids[3]] }],
    }));
    const built = JSON.parse(await ok('snapshot', 'build', '--epoch', '1', '--seats', '4', '--threshold', '3', '--phase-timeout-ms', '30000',
      ...nodes.flatMap((_, i) => ['--candidacy', f(`candidacy-${i + 1}.json`)]), '--nominations', f('nominations.json'), '--out', f('snapshot.json'), '--json'));
    expect(built.elected).toHaveLength(4);
    // Not yet signed: genesis submit refuses before sending anything.
    expect((await gk('genesis', 'submit', '--snapshot', f('snapshot.json'), '--endpoint', nodes[0]!.endpoint, ...tlsArgs)).code).toBe(2);
    fs.copyFileSync(f('snapshot.json'), f('snapshot-a.json'));
    fs.copyFileSync(f('snapshot.json'), f('snapshot-b.json'));
    await ok('governance', 'sign', '--in', f('snapshot-a.json'), '--governance-key', f('gov-1.key'));
    await ok('governance', 'sign', '--in', f('snapshot-b.json'), '--governance-key', f('gov-2.key'));
    const combined = JSON.parse(await ok('governance', 'combine', '--in', f('snapshot-a.json'), '--in', f('snapshot-b.json'), '--out', f('snapshot-signed.json'), '--json'));
    expect(combined.signers.sort()).toEqual([govPubs[0], govPubs[1]].sort());

    // 4. Genesis: one node forwards it to every candidate; wait until every member is COMPLETE.
    const submitted = JSON.parse(await ok('genesis', 'submit', '--snapshot', f('snapshot-signed.json'), '--endpoint', nodes[0]!.endpoint,
      '--operator-key', f('operator.key'), '--json', ...tlsArgs));
    expect(submitted.ok).toBe(true);
    // Followed live on every member (one process polling, as the guide shows) until each is COMPLETE.
    const watched = await gk('ceremony', 'status', '--watch', '--interval-ms', '500', '--timeout', '90',
      ...nodes.flatMap((n) => ['--endpoint', n.endpoint]), '--operator-key', f('operator.key'), ...tlsArgs);
    if (watched.code !== 0) throw new Error(`the ceremony did not complete (exit ${watched.code}): ${watched.out}${watched.err}`);
    for (const n of nodes) {
      const lines = watched.out.split('\n').filter((l) => l.startsWith(n.endpoint));
      expect(lines[lines.length - 1]).toMatch(/genesis epoch 1  COMPLETE  k=3 of 4$/);
    }
    const views = await Promise.all(nodes.map(async (n) => JSON.parse(await ok('status', '--endpoint', n.endpoint, '--json', ...tlsArgs))));
    expect(views.every((v) => v.ceremony === 'COMPLETE (epoch 1)' && v.member && v.epoch === 1 && v.committeeKey === views[0].committeeKey)).toBe(true);
    const committeeKey: string = views[0].committeeKey;

    // 5. The release policy (signed by two holders here at once) and the contract, on every member.
    const mr = (last: string) => 'de' + '00'.repeat(30) + last;
    fs.writeFileSync(f('policy.json'), JSON.stringify({
      id: 'demo-policy', serial: 1, publicationQuorum: 3,
      attestation: { tees: ['SGX'], allowedStatuses: ['UpToDate'], allowDebug: false },
      namespaces: { demo: { sgx: { mrEnclave: [mr('01')], mrSigner: [mr('02')], isvProdId: 1, minIsvSvn: 1 } } },
    }));
    const everyone = nodes.flatMap((n) => ['--endpoint', n.endpoint]);
    const policy = await gk('policy', 'set', '--policy', f('policy.json'), '--governance-key', f('gov-1.key'), '--governance-key', f('gov-3.key'),
      ...everyone, '--operator-key', f('operator.key'), ...tlsArgs);
    expect(policy.code).toBe(0);
    expect(policy.out.split('\n').filter((l) => / ok /.test(l))).toHaveLength(4);
    const reg = ['contract', 'register', '--contract', 'demo', '--namespace', 'demo', '--policy-id', 'demo-policy', ...everyone, '--operator-key', f('operator.key'), '--json', ...tlsArgs];
    expect(JSON.parse(await ok(...reg)).members.every((m: { ok: boolean }) => m.ok)).toBe(true);
    expect((await gk(...reg)).code).toBe(0); // safe to repeat

    // 6. The development worker provisions the contract key and publishes it.
    const workerDir = f('worker');
    fs.mkdirSync(workerDir);
    fs.writeFileSync(path.join(workerDir, 'config.json'), JSON.stringify({
      listen: '127.0.0.1:0', gatekeeper: nodes[1]!.endpoint, committeeKey, contracts: [{ id: 'demo', version: 1 }],
      testPki: f('test-pki.json'), tee: 'SGX', measurements: { mrEnclave: mr('01'), mrSigner: mr('02'), isvProdId: 1, isvSvn: 1 },
      readyFile: 'ready.json', tls: { caFile: tls.ca.certFile },
    }));
    const wlog = fs.openSync(path.join(workerDir, 'worker.log'), 'a');
    const werr = fs.openSync(path.join(workerDir, 'worker.err'), 'a');
    const worker = spawn(process.execPath, [CLI, 'worker', '--config', path.join(workerDir, 'config.json')], { stdio: ['ignore', wlog, werr], env });
    procs.push(worker);
    fs.closeSync(wlog);
    fs.closeSync(werr);
    for (let t = 0; !fs.existsSync(path.join(workerDir, 'ready.json')); t++) {
      if (worker.exitCode !== null || t > 300) throw new Error(`worker not ready: ${fs.readFileSync(path.join(workerDir, 'worker.log'), 'utf8').slice(-2000)}`);
      await sleep(200);
    }
    await sleep(100);
    const ready = JSON.parse(fs.readFileSync(path.join(workerDir, 'ready.json'), 'utf8')) as { endpoint: string };

    // 7. A client encrypts to the contract (verified against the committee key) and invokes the worker.
    fs.writeFileSync(f('message.txt'), 'hello from the operator guide\n');
    const enc = JSON.parse(await ok('encrypt', '--contract', 'demo', '--in', f('message.txt'), '--out', f('message.env'), '--committee-key', committeeKey,
      '--endpoint', nodes[2]!.endpoint, '--endpoint', nodes[3]!.endpoint, '--json', ...tlsArgs));
    expect(enc).toMatchObject({ file: f('message.env'), version: 1, contractId: Buffer.from('demo').toString('hex') });
    const answer = JSON.parse(await ok('invoke', '--endpoint', ready.endpoint, '--envelope', f('message.env'), '--expect', f('message.txt'), '--json'));
    expect(answer).toEqual({ plaintextSha256: expect.stringMatching(/^[0-9a-f]{64}$/), length: 30, matches: true });

    // The development worker logs JSON lines like the nodes; the nodes log the audited events.
    // (stdout only: Node itself may warn on stderr, e.g. DEP0123 for TLS to an IP address.)
    const wlines = fs.readFileSync(path.join(workerDir, 'worker.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { name: string; msg: string });
    expect(wlines.every((l) => l.name === 'dev-worker')).toBe(true);
    expect(wlines.some((l) => /published [0-9a-f]{66}/.test(l.msg))).toBe(true);
    const nlog = fs.readFileSync(path.join(path.dirname(nodes[1]!.config), 'node.log'), 'utf8');
    for (const action of ['genesis.accepted', 'genesis.complete', 'policy.set', 'contract.registered', 'contract-key.released']) expect(nlog).toContain(`"msg":"audit: ${action}"`);

    // 8. The audit log shows the operator's actions.
    const audit = JSON.parse(await ok('audit', 'read', '--endpoint', nodes[0]!.endpoint, '--operator-key', f('operator.key'), '--json', ...tlsArgs)) as { entries: { action: string; detail: Record<string, unknown> }[] };
    expect(audit.entries.find((e) => e.action === 'policy.set')?.detail).toMatchObject({ id: 'demo-policy', serial: 1 });
    expect(audit.entries.map((e) => e.action)).toContain('contract.registered');

    // 9. A later election round (the same four, now k = 4): built, signed and submitted in one step,
    // watched through the hand-off; then a share refresh. The committee key and the contract key stay.
    await ok('election', 'submit', '--epoch', '2', '--seats', '4', '--threshold', '4', '--phase-timeout-ms', '30000',
      ...nodes.flatMap((n) => ['--candidate', n.endpoint]), '--self-stake', '1000', '--nominations', f('nominations.json'),
      '--governance-key', f('gov-1.key'), '--governance-key', f('gov-2.key'), '--out', f('election-2.json'),
      '--endpoint', nodes[0]!.endpoint, '--operator-key', f('operator.key'), ...tlsArgs);
    const watchRound = async (epoch: number, kind: string) => {
      const w = await gk('ceremony', 'status', '--watch', '--epoch', String(epoch), '--interval-ms', '500', '--timeout', '90', ...everyone,
        '--operator-key', f('operator.key'), ...tlsArgs);
      if (w.code !== 0) throw new Error(`the epoch ${epoch} round did not complete (exit ${w.code}): ${w.out}${w.err}`);
      for (const n of nodes) expect(w.out.split('\n').filter((l) => l.startsWith(n.endpoint)).pop()).toMatch(new RegExp(`${kind} epoch ${epoch}  COMPLETE  k=4 of 4$`));
    };
    await watchRound(2, 'handoff');
    expect((await ok('refresh', ...everyone, '--operator-key', f('operator.key'), ...tlsArgs))).toMatch(/refreshing as epoch 3/);
    await watchRound(3, 'refresh');
    const after = await Promise.all(nodes.map(async (n) => JSON.parse(await ok('status', '--endpoint', n.endpoint, '--json', ...tlsArgs))));
    expect(after.every((v) => v.epoch === 3 && v.member && v.committeeKey === committeeKey)).toBe(true);
    // A client encrypts again (the certified key, verified from the pinned committee key through the
    // chain of roster certificates) and the worker provisioned at genesis still opens it.
    await ok('encrypt', '--contract', 'demo', '--in', f('message.txt'), '--out', f('message-3.env'), '--committee-key', committeeKey,
      '--endpoint', nodes[3]!.endpoint, ...tlsArgs);
    expect(JSON.parse(await ok('invoke', '--endpoint', ready.endpoint, '--envelope', f('message-3.env'), '--expect', f('message.txt'), '--json')).matches).toBe(true);
  }, 300_000); // 105-115 s measured on 2 cores while other suites ran (load 10-18), before the later rounds
});
