// The CLI side of issue 10: `unseal` sends no share in plaintext off loopback and `--reset` is an operator
// call; `node` refuses a development attestation root without the flag; `devnet --dir` never clears a
// folder it did not make.
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { bytesToHex } from '@noble/hashes/utils.js';
import { generateIdentityKey } from '../../src/crypto/identity.js';
import { loadConfig } from '../../src/node/config.js';
import { GatekeeperNode } from '../../src/node/node.js';
import { DEVNET_MARKER, DevnetDirError, prepareDevnetDir } from '../../src/devnet/devnet.js';
import { tempDir } from '../helpers/node.js';
import { runCli } from '../helpers/cli.js';

const run = runCli;

describe('unseal command', () => {
  const dir = tempDir('cli-unseal');
  const operator = generateIdentityKey();
  const keyFile = path.join(dir, 'operator.key');
  const configFile = path.join(dir, 'node.json');
  const sharesDir = path.join(dir, 'shares');
  let node: GatekeeperNode;
  let endpoint: string;

  beforeAll(async () => {
    fs.writeFileSync(keyFile, bytesToHex(operator.secretKey) + '\n', { mode: 0o600 });
    fs.writeFileSync(configFile, JSON.stringify({
      name: 'cli-node', listen: '127.0.0.1:0', dataDir: 'data', operatorKeys: [bytesToHex(operator.publicKey)],
      unseal: { shares: 3, threshold: 2 }, logLevel: 'silent',
    }));
    expect((await run('init', ['--config', configFile, '--shares-dir', sharesDir])).code).toBe(0);
    node = new GatekeeperNode(loadConfig(configFile), pino({ level: 'silent' }));
    endpoint = `127.0.0.1:${await node.start()}`;
  });
  afterAll(async () => { await node?.stop(); });

  test('refuses to send a share in plaintext to an endpoint that is not loopback', async () => {
    // `.invalid` never resolves, so even a broken check would send nothing anywhere.
    await expect(run('unseal', ['--endpoint', 'gatekeeper.invalid:7001', '--share-file', path.join(sharesDir, 'unseal-share-1.txt')]))
      .rejects.toThrow(/not a loopback address: an unseal share must not cross the network in plaintext; give --tls-ca/);
  });

  test('--reset needs the operator key and then clears the progress', async () => {
    const one = await run('unseal', ['--endpoint', endpoint, '--share-file', path.join(sharesDir, 'unseal-share-2.txt')]);
    expect(one.out).toBe('sealed: 1 of 2 shares given\n');
    await expect(run('unseal', ['--endpoint', endpoint, '--reset'])).rejects.toThrow(/operator key is required/);
    expect(node.unsealProgress).toBe(1);
    const reset = await run('unseal', ['--endpoint', endpoint, '--reset', '--operator-key', keyFile]);
    expect(reset).toMatchObject({ code: 0, out: 'sealed: 0 of 2 shares given\n' });
  });
});

describe('node command', () => {
  test('refuses a development attestation root without allowDevelopmentAttestationRoot', async () => {
    const dir = tempDir('cli-root');
    fs.writeFileSync(path.join(dir, 'root.der'), Buffer.from('not intel'));
    const configFile = path.join(dir, 'node.json');
    fs.writeFileSync(configFile, JSON.stringify({ name: 'n', listen: '127.0.0.1:0', dataDir: 'data', attestation: { trustedRootFile: 'root.der' } }));
    await expect(run('node', ['--config', configFile])).rejects.toThrow(/'attestation.trustedRootFile' names a root that is not Intel's/);
    expect(fs.existsSync(path.join(dir, 'data'))).toBe(false);
  });
});

describe('devnet --dir', () => {
  test('a folder holding a file the devnet did not make is refused and left intact', async () => {
    const dir = tempDir('devnet-foreign');
    fs.writeFileSync(path.join(dir, 'thesis.tex'), 'precious');
    fs.mkdirSync(path.join(dir, 'node-1'));
    await expect(run('devnet', ['--dir', dir, '--once', '--nodes', '2', '--threshold', '2'])).rejects.toThrow(/did not make.*thesis.tex.*choose another --dir/);
    expect(fs.readFileSync(path.join(dir, 'thesis.tex'), 'utf8')).toBe('precious');
    expect(fs.existsSync(path.join(dir, 'node-1'))).toBe(true);
  });

  test('a folder a devnet made is cleared, unless something foreign was put in it since', () => {
    const dir = tempDir('devnet-ours');
    prepareDevnetDir(dir);
    expect(fs.existsSync(path.join(dir, DEVNET_MARKER))).toBe(true);
    fs.mkdirSync(path.join(dir, 'node-1'));
    fs.writeFileSync(path.join(dir, 'node-1', 'gatekeeper.sqlite'), 'old');
    fs.writeFileSync(path.join(dir, 'devnet.json'), '{}');
    prepareDevnetDir(dir);
    expect(fs.readdirSync(dir)).toEqual([DEVNET_MARKER]);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    expect(() => prepareDevnetDir(dir)).toThrow(DevnetDirError);
    expect(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toBe('mine');
  });

  test('a missing folder is made; an empty one is used; a non-empty folder without the marker is refused', () => {
    const parent = tempDir('devnet-new');
    const fresh = path.join(parent, 'fresh');
    prepareDevnetDir(fresh);
    expect(fs.statSync(fresh).mode & 0o777).toBe(0o700);
    const other = path.join(parent, 'other');
    fs.mkdirSync(other);
    fs.mkdirSync(path.join(other, 'worker'));
    expect(() => prepareDevnetDir(other)).toThrow(/was not made by a devnet/);
    expect(fs.existsSync(path.join(other, 'worker'))).toBe(true);
  });
});
