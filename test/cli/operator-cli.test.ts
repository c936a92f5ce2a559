// The operator's commands against a real node on loopback: init, unseal, status, audit read/verify,
// ceremony abort, with their exit codes and what they print.
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { bytesToHex } from '@noble/hashes/utils.js';
import { generateIdentityKey } from '../../src/crypto/identity.js';
import { loadConfig } from '../../src/node/config.js';
import { GatekeeperNode } from '../../src/node/node.js';
import { tempDir } from '../helpers/node.js';
import { runCli } from '../helpers/cli.js';

const run = runCli;

describe('operator CLI', () => {
  const dir = tempDir('cli');
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
  });
  afterAll(async () => { await node?.stop(); });

  test('init creates the keys once and writes the shares to files, never to the database', async () => {
    const r = await run('init', ['--config', configFile, '--shares-dir', sharesDir, '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out) as { nodeId: string; unsealThreshold: number; unsealShares?: string[] };
    expect(out.nodeId).toMatch(/^[0-9a-f]{32}$/);
    expect(out.unsealShares).toBeUndefined();
    const files = fs.readdirSync(sharesDir).sort();
    expect(files).toEqual(['unseal-share-1.txt', 'unseal-share-2.txt', 'unseal-share-3.txt']);
    expect(fs.statSync(path.join(sharesDir, files[0]!)).mode & 0o777).toBe(0o600);
    const again = await run('init', ['--config', configFile, '--shares-dir', path.join(dir, 'again')]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already initialized/);
    const db = fs.readFileSync(path.join(dir, 'data', 'gatekeeper.sqlite'));
    for (const f of files) expect(db.includes(Buffer.from(fs.readFileSync(path.join(sharesDir, f), 'utf8').trim()))).toBe(false);
  });

  test('a started node is sealed; two shares unseal it; status says what to do at each step', async () => {
    node = new GatekeeperNode(loadConfig(configFile), pino({ level: 'silent' }));
    endpoint = `127.0.0.1:${await node.start()}`;
    const sealed = await run('status', ['--endpoint', endpoint, '--json']);
    expect(JSON.parse(sealed.out)).toMatchObject({ sealed: true, unsealProgress: '0/2', nextStep: expect.stringMatching(/unseal/) });
    expect(sealed.code).toBe(2); // as `vault status`: 2 sealed, 0 unsealed, 1 error
    const one = await run('unseal', ['--endpoint', endpoint, '--share-file', path.join(sharesDir, 'unseal-share-3.txt')]);
    expect(one).toMatchObject({ code: 0, out: 'sealed: 1 of 2 shares given\n' });
    const typo = await run('unseal', ['--endpoint', endpoint, '--share', 'gk-unseal-1:00000000:00']);
    expect(typo.code).toBe(1);
    expect(typo.err).toMatch(/gatekeeper unseal: /);
    const two = await run('unseal', ['--endpoint', endpoint, '--share-file', path.join(sharesDir, 'unseal-share-1.txt')]);
    expect(two).toMatchObject({ code: 0, out: 'unsealed\n' });
    const unsealed = await run('status', ['--endpoint', endpoint, '--json']);
    expect(unsealed.code).toBe(0);
    const status = JSON.parse(unsealed.out);
    expect(status).toMatchObject({ sealed: false, epoch: 0, ceremony: 'none', nextStep: expect.stringMatching(/snapshot/) });
  });

  test('audit read needs the operator key; ceremony abort of an unknown epoch fails with the node\'s reason', async () => {
    const read = await run('audit', ['read', '--endpoint', endpoint, '--operator-key', keyFile]);
    expect(read.code).toBe(0);
    expect(read.out).toMatch(/ initialized /);
    expect(read.out).toMatch(/ unsealed /);
    const stranger = path.join(dir, 'stranger.key');
    fs.writeFileSync(stranger, bytesToHex(generateIdentityKey().secretKey));
    const denied = await run('audit', ['read', '--endpoint', endpoint, '--operator-key', stranger]);
    expect(denied.code).toBe(1);
    expect(denied.err).toMatch(/not an operator key/);
    const abort = await run('ceremony', ['abort', '--endpoint', endpoint, '--epoch', '9', '--operator-key', keyFile]);
    expect(abort.code).toBe(1);
    expect(abort.err).toMatch(/no ceremony for epoch 9/);
    await expect(run('ceremony', ['abort', '--endpoint', endpoint, '--epoch', 'x', '--operator-key', keyFile])).rejects.toThrow(/--epoch/);
  });

  test('audit verify finds the chain intact on a stopped node, and reports where it was altered', async () => {
    await node.stop();
    const ok = await run('audit', ['verify', '--config', configFile]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/audit log intact: \d+ entries/);
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(path.join(dir, 'data', 'gatekeeper.sqlite'));
    db.exec('DROP TRIGGER audit_no_update');
    db.prepare("UPDATE audit SET actor = 'someone-else' WHERE seq = 2").run();
    db.close();
    const broken = await run('audit', ['verify', '--config', configFile]);
    expect(broken.code).toBe(1);
    expect(broken.out).toMatch(/BROKEN at entry 2: entry 2 was altered/);
  });
});
