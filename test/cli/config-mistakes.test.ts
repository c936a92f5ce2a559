// Configuration checked up front (issue 13 item 2): each mistake gives its message, naming the field,
// and its exit code. Each mistake runs the command modules in-process (as main.ts runs them: a usage
// error is exit 2); the built `gatekeeper` command, as an operator runs it, shows one mistake's exit 2
// from init and node, and a metrics port in use stopping the node with exit 1.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { BUILT_CLI, runBuiltCli, runCliAsMain } from '../helpers/cli.js';
import { tempDir } from '../helpers/node.js';

const CLI = BUILT_CLI;
const gk = runBuiltCli;
/** `gatekeeper CMD ARGS...` in-process. */
const inProcess = (cmd: string, ...args: string[]) => runCliAsMain(cmd, args);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address() as net.AddressInfo; srv.close(() => resolve(port)); });
  });
}

describe('configuration mistakes: message and exit code', () => {
  let dir: string;
  beforeAll(() => {
    if (!fs.existsSync(CLI)) throw new Error('run `npm run build` first');
    dir = tempDir('cfgmistake');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  let n = 0;
  const config = (over: Record<string, unknown>): string => {
    const d = path.join(dir, `c${++n}`);
    fs.mkdirSync(d, { mode: 0o700 });
    const file = path.join(d, 'node.json');
    fs.writeFileSync(file, JSON.stringify({ name: 'n', listen: '127.0.0.1:0', advertise: '127.0.0.1:7001', dataDir: '.', ...over }));
    return file;
  };

  const mistakes: [string, Record<string, unknown>, RegExp][] = [
    ['a missing trustedRootFile', { attestation: { trustedRootFile: 'missing-root.der', allowDevelopmentAttestationRoot: true } },
      /config field 'attestation\.trustedRootFile': no such file .*missing-root\.der/],
    ['a missing TLS certificate', { tls: { certFile: 'nope.pem', keyFile: 'nope.key' } }, /config field 'tls\.certFile': no such file .*nope\.pem/],
    ['a listen port out of range', { listen: '127.0.0.1:70000' }, /config field 'listen': port 70000 is out of range/],
    ['an advertised port out of range', { advertise: 'gk1.example.org:65536' }, /config field 'advertise': port 65536 is out of range \(0 to 65535\)/],
    ['a metrics port out of range', { metricsListen: '127.0.0.1:99999' }, /config field 'metricsListen': port 99999 is out of range/],
    ['a misspelt nested field', { governance: { keys: [], treshold: 2 } }, /unknown config field 'governance\.treshold'/],
    ['a misspelt unseal field', { unseal: { shares: 3, treshhold: 2 } }, /unknown config field 'unseal\.treshhold'/],
  ];

  test.each(mistakes)('init and node refuse %s (exit 2)', async (_what, over, pattern) => {
    const file = config(over);
    for (const cmd of ['init', 'node']) {
      const r = await inProcess(cmd, '--config', file);
      expect([r.code, r.err]).toEqual([2, expect.stringMatching(pattern)]);
    }
    // Nothing was created: the mistake is caught before the database is opened.
    expect(fs.existsSync(path.join(path.dirname(file), 'gatekeeper.sqlite'))).toBe(false);
  });

  test('the built command exits 2 with the message on stderr, from init and from node', async () => {
    const [, over, pattern] = mistakes[0]!;
    const file = config(over);
    for (const cmd of ['init', 'node']) {
      const r = await gk(cmd, '--config', file);
      expect([r.code, r.err]).toEqual([2, expect.stringMatching(new RegExp(`^gatekeeper ${cmd}: .*${pattern.source}`))]);
    }
    expect(fs.existsSync(path.join(path.dirname(file), 'gatekeeper.sqlite'))).toBe(false);
  });

  test('partly given objects get the documented defaults of their other fields', async () => {
    const file = config({ governance: { keys: ['aa'.repeat(32)] }, unseal: { shares: 4 } });
    const r = await inProcess('init', '--config', file, '--json');
    expect(r.code).toBe(0);
    // unseal.threshold defaults to 3 (config/README.md); governance.threshold to 1.
    const out = JSON.parse(r.out) as { unsealThreshold: number; unsealShares: string[] };
    expect([out.unsealThreshold, out.unsealShares.length]).toEqual([3, 4]);
  });

  test('a metrics port in use stops the node with a clear message and exit 1', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const busy = (blocker.address() as net.AddressInfo).port;
    try {
      const file = config({ metricsListen: `127.0.0.1:${busy}` });
      expect((await inProcess('init', '--config', file)).code).toBe(0);
      const r = await gk('node', '--config', file);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(new RegExp(`gatekeeper node: config field 'metricsListen' \\(127\\.0\\.0\\.1:${busy}\\): cannot serve metrics there: the port is already in use`));
    } finally {
      blocker.close();
    }
  });

  test('--endpoint localhost and an unreachable node read as one sentence', async () => {
    const bad = await inProcess('status', '--endpoint', 'localhost');
    expect([bad.code, bad.err.trim()]).toEqual([2, expect.stringMatching(/^gatekeeper status: --endpoint "localhost" must be HOST:PORT/)]);
    const port = await freePort();
    const down = await inProcess('status', '--endpoint', `127.0.0.1:${port}`);
    expect(down.code).toBe(1);
    expect(down.err.trim().split('\n')).toEqual([`gatekeeper status: cannot reach 127.0.0.1:${port}: connection refused (is the node running, and is this its gRPC port?).`]);
  });
});
