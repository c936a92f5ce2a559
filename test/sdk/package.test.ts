// The SDK as a package (issue 13 item 3): `npm pack` the project, install the tarball into a temporary
// project, and use it from TypeScript (tsc, strict) and from plain JavaScript, against a real gRPC
// committee double on loopback whose first endpoint is down.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { jest } from '@jest/globals';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { openInvocation } from '../../src/crypto/envelope.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { tempDir } from '../helpers/node.js';
import { SimCommittee } from './sim-committee.js';

jest.setTimeout(120_000);

interface Run { code: number; stdout: string; stderr: string }
function run(file: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, timeout: 90_000, maxBuffer: 8 << 20, env: { ...process.env, NODE_OPTIONS: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

const TS_CONSUMER = `
import { GatekeeperClient, ContractKeyCertificateError, CommitteeVerificationError, encryptForContract, fetchCommittee,
  type Committee, type ContractKey, type EndpointHealth } from 'gatekeeper/client';
import { provisionContractKey, type ProvisionOptions } from 'gatekeeper/worker';
import * as sdk from 'gatekeeper';

const [pinnedHex, ...endpoints] = process.argv.slice(2);
const pinned: Uint8Array = Uint8Array.from(Buffer.from(pinnedHex ?? '', 'hex'));
const client = new GatekeeperClient(endpoints, { timeoutMs: 15_000 });
try {
  const committee: Committee = await fetchCommittee(client, pinned);
  const { envelope, key }: { envelope: Uint8Array; key: ContractKey } =
    await encryptForContract(client, pinned, new TextEncoder().encode('demo'), new TextEncoder().encode('from TypeScript'));
  const health: EndpointHealth[] = client.health();
  const provision: ProvisionOptions['version'] = 1;
  console.log(JSON.stringify({ epoch: committee.epoch, version: key.version, envelope: Buffer.from(envelope).toString('hex'),
    failures: health.map((h) => h.failures), provision, worker: typeof provisionContractKey, same: sdk.GatekeeperClient === GatekeeperClient }));
} catch (err) {
  const known = err instanceof ContractKeyCertificateError || err instanceof CommitteeVerificationError;
  console.log(JSON.stringify({ refused: known ? (err as Error).name : 'other', message: (err as Error).message }));
} finally {
  client.close();
}
`;

// Misuses the API: a strict TypeScript consumer must be told, which shows the declarations are real.
const TS_MISUSE = `
import { GatekeeperClient, getContractKey } from 'gatekeeper/client';
const client = new GatekeeperClient(['h:1']);
await getContractKey(client, 'not bytes', new Uint8Array([1]));
`;

const JS_CONSUMER = `
import { GatekeeperClient, encryptForContract, ContractKeyCertificateError } from 'gatekeeper/client';
import { provisionContractKey } from 'gatekeeper/worker';
const [pinnedHex, ...endpoints] = process.argv.slice(2);
const client = new GatekeeperClient(endpoints);
try {
  const { envelope } = await encryptForContract(client, Uint8Array.from(Buffer.from(pinnedHex, 'hex')),
    new TextEncoder().encode('demo'), new TextEncoder().encode('from JavaScript'));
  console.log(JSON.stringify({ envelope: Buffer.from(envelope).toString('hex'), failures: client.health().map((h) => h.failures),
    worker: typeof provisionContractKey }));
} catch (err) {
  console.log(JSON.stringify({ refused: err instanceof ContractKeyCertificateError ? err.name : 'other', message: err.message }));
} finally {
  client.close();
}
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true, noImplicitOverride: true, skipLibCheck: false, types: ['node'], outDir: 'out', lib: ['ES2022'],
  },
  files: ['main.ts'],
};

let sim: SimCommittee;
let endpoint: string;
let down: string;
let project: string;
const contract = (() => { const sk = secp256k1.utils.randomSecretKey(); return { sk, pk: secp256k1.getPublicKey(sk, true) }; })();

beforeAll(async () => {
  const dts = path.join(REPO_ROOT, 'dist', 'src', 'sdk', 'client-api.d.ts');
  if (!fs.existsSync(dts)) throw new Error(`${dts} is missing: run \`npm run build\` first`);
  sim = new SimCommittee(4, 3);
  sim.certifyKey(utf8('demo'), 1, contract.pk);
  endpoint = await sim.listen();
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  down = `127.0.0.1:${(s.address() as net.AddressInfo).port}`;
  await new Promise<void>((resolve) => s.close(() => resolve()));

  // npm pack, then install: the tarball is unpacked as node_modules/gatekeeper (what npm install does
  // with it), and its dependencies, which this offline machine cannot fetch, are linked from the
  // repository's node_modules.
  project = tempDir('sdk-package');
  const packed = await run('npm', ['pack', '--json', '--pack-destination', project], REPO_ROOT);
  expect(packed.code).toBe(0);
  const tarball = path.join(project, (JSON.parse(packed.stdout) as { filename: string }[])[0]!.filename);
  const nm = path.join(project, 'node_modules');
  fs.mkdirSync(path.join(nm, 'gatekeeper'), { recursive: true });
  expect((await run('tar', ['xzf', tarball, '-C', path.join(nm, 'gatekeeper'), '--strip-components=1'], project)).code).toBe(0);
  for (const dep of fs.readdirSync(path.join(REPO_ROOT, 'node_modules'))) {
    if (dep === 'gatekeeper' || dep.startsWith('.')) continue;
    fs.symlinkSync(path.join(REPO_ROOT, 'node_modules', dep), path.join(nm, dep));
  }
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify(TSCONFIG));
  fs.writeFileSync(path.join(project, 'main.ts'), TS_CONSUMER);
  fs.writeFileSync(path.join(project, 'main.mjs'), JS_CONSUMER);
});

afterAll(async () => {
  await sim?.close();
});

const tsc = () => path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('the tarball holds the built SDK with declarations and the protos, not the tests or the sources', () => {
  const pkg = path.join(project, 'node_modules', 'gatekeeper');
  for (const f of ['package.json', 'dist/src/sdk/index.js', 'dist/src/sdk/index.d.ts', 'dist/src/sdk/client-api.d.ts', 'dist/src/sdk/worker-api.d.ts',
    'dist/src/sdk/failover.d.ts', 'proto/gatekeeper/v1/public.proto', 'dist/src/cli/main.js']) {
    expect(fs.existsSync(path.join(pkg, f))).toBe(true);
  }
  expect(fs.existsSync(path.join(pkg, 'dist', 'test'))).toBe(false);
  expect(fs.existsSync(path.join(pkg, 'src'))).toBe(false);
  expect(fs.existsSync(path.join(pkg, 'node_modules'))).toBe(false);
});

test('TypeScript (strict) compiles against the package, and the program fails over and encrypts', async () => {
  const built = await run(process.execPath, [tsc(), '-p', 'tsconfig.json'], project);
  expect(built.stdout + built.stderr).toBe('');
  expect(built.code).toBe(0);
  const r = await run(process.execPath, ['out/main.js', hex(sim.committeeKey), down, endpoint], project);
  expect(r.stderr).toBe('');
  const out = JSON.parse(r.stdout) as { epoch: number; version: number; envelope: string; failures: number[]; worker: string; same: boolean };
  expect(out).toMatchObject({ epoch: 1, version: 1, failures: [1, 0], worker: 'function', same: true });
  const opened = await openInvocation(contract.sk, Uint8Array.from(Buffer.from(out.envelope, 'hex')));
  expect(Buffer.from(opened.plaintext).toString()).toBe('from TypeScript');
});

test('the declarations are typed: misusing the API is a compile error in a strict consumer', async () => {
  fs.writeFileSync(path.join(project, 'misuse.ts'), TS_MISUSE);
  fs.writeFileSync(path.join(project, 'tsconfig.misuse.json'), JSON.stringify({
    compilerOptions: { ...TSCONFIG.compilerOptions, skipLibCheck: true }, files: ['misuse.ts'],
  }));
  const r = await run(process.execPath, [tsc(), '-p', 'tsconfig.misuse.json', '--noEmit'], project);
  expect(r.code).not.toBe(0);
  expect(r.stdout).toMatch(/misuse\.ts.*TS2345: Argument of type 'string' is not assignable to parameter of type 'Uint8Array/);
});

test('plain JavaScript imports the package, fails over past the down endpoint, and encrypts', async () => {
  const r = await run(process.execPath, ['main.mjs', hex(sim.committeeKey), down, endpoint], project);
  expect(r.stderr).toBe('');
  const out = JSON.parse(r.stdout) as { envelope: string; failures: number[]; worker: string };
  expect(out.failures).toEqual([1, 0]);
  expect(out.worker).toBe('function');
  const opened = await openInvocation(contract.sk, Uint8Array.from(Buffer.from(out.envelope, 'hex')));
  expect(Buffer.from(opened.plaintext).toString()).toBe('from JavaScript');
});

test('the packaged client refuses a key certified by another committee than the pinned one', async () => {
  const other = new SimCommittee(4, 3);
  const r = await run(process.execPath, ['main.mjs', hex(other.committeeKey), down, endpoint], project);
  const out = JSON.parse(r.stdout) as { refused?: string; message?: string };
  expect(out.refused).toBe('ContractKeyCertificateError');
  expect(out.message).toMatch(/not signed by the pinned committee key/);
});
