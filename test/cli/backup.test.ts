// `gatekeeper backup` (issue 12 item 4): an online backup of a live node (SQLite backup API) to a 0600
// file with its high-water file; `backup restore` brings it back and the node starts with the same
// data; a backup older than what the node acknowledged is refused at start until an explicit, audited
// `backup accept-rollback --confirm`.
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { bytesToHex } from '@noble/hashes/utils.js';
import backupCommand from '../../src/cli/commands/backup.js';
import { UsageError } from '../../src/cli/args.js';
import { databaseFile, loadConfig } from '../../src/node/config.js';
import { GatekeeperNode } from '../../src/node/node.js';
import { CeremonyStore } from '../../src/store/ceremony-store.js';
import { highWaterFile, HighWaterError, readMarkFile } from '../../src/store/high-water.js';
import { runCommand } from '../helpers/cli.js';
import { startTestNode, tempDir, type TestNode } from '../helpers/node.js';

function writeConfig(t: TestNode, dataDir: string): string {
  const file = path.join(dataDir, 'node.json');
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, JSON.stringify({
    name: 'restored', listen: '127.0.0.1:0', advertise: '127.0.0.1:1', dataDir,
    operatorKeys: [bytesToHex(t.operator.publicKey)],
    governance: { keys: t.governance.map((g) => bytesToHex(g.publicKey)), threshold: 2 },
    unseal: { shares: 3, threshold: 2 }, maxMessageBytes: 64 * 1024,
  }));
  return file;
}

const quietLogger = (dir: string) => pino({ level: 'debug' }, pino.destination({ dest: path.join(dir, 'restart.log'), sync: true }));

async function unsealed(): Promise<TestNode> {
  const t = await startTestNode();
  await t.client.call('OperatorService', 'Unseal', { share: t.shares[0] });
  await t.client.call('OperatorService', 'Unseal', { share: t.shares[1] });
  t.node.context!.ceremonies.saveCertificate(1, new Uint8Array([1, 2, 3]), new Uint8Array(64).fill(5));
  await t.client.call('OperatorService', 'Status'); // acknowledged: the high-water file caught up
  return t;
}

describe('gatekeeper backup', () => {
  test('copies a live node to 0600 files; the copy restored elsewhere starts with the same data and unseals with the same shares', async () => {
    const t = await unsealed();
    const config = writeConfig(t, t.dir);
    const out = path.join(tempDir('backup'), 'node.backup');
    let restored: GatekeeperNode | undefined;
    try {
      const r = await runCommand(backupCommand, ['--config', config, '--out', out]);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/backup written: .*node\.backup \(high-water counter \d+\)/);
      expect(fs.statSync(out).mode & 0o777).toBe(0o600);
      expect(fs.statSync(highWaterFile(out)).mode & 0o777).toBe(0o600);
      expect(readMarkFile(highWaterFile(out))!.counter).toBe(readMarkFile(highWaterFile(databaseFile(t.node.config)))!.counter);
      await expect(runCommand(backupCommand, ['--config', config, '--out', out])).rejects.toThrow(UsageError); // never overwrites
      const auditRows = (t.node.db.prepare('SELECT COUNT(*) AS n FROM audit').get() as { n: number }).n;

      const config2 = writeConfig(t, path.join(tempDir('restore'), 'data'));
      const rr = await runCommand(backupCommand, ['restore', '--config', config2, '--from', out]);
      expect(rr.code).toBe(0);
      expect(rr.out).toMatch(/will start with this database/);
      const cfg2 = loadConfig(config2);
      expect(fs.statSync(databaseFile(cfg2)).mode & 0o777).toBe(0o600);
      restored = new GatekeeperNode(cfg2, quietLogger(cfg2.dataDir));
      expect(Buffer.from(restored.public!.nodeId)).toEqual(Buffer.from(t.node.public!.nodeId));
      expect(Buffer.from(new CeremonyStore(restored.db).certificate(1)!.rosterBytes)).toEqual(Buffer.from([1, 2, 3]));
      expect((restored.db.prepare('SELECT COUNT(*) AS n FROM audit').get() as { n: number }).n).toBe(auditRows);
      await restored.unseal(t.shares[2]!);
      await restored.unseal(t.shares[0]!);
      expect(restored.context).toBeDefined();
    } finally {
      await restored?.stop();
      await t.stop();
    }
  });

  test('a backup older than what the node acknowledged is refused at start; accept-rollback needs --confirm and is audited', async () => {
    const t = await unsealed();
    const config = writeConfig(t, t.dir);
    const out = path.join(tempDir('backup'), 'old.backup');
    expect((await runCommand(backupCommand, ['--config', config, '--out', out])).code).toBe(0);
    t.node.context!.ceremonies.saveCertificate(2, new Uint8Array([4]), new Uint8Array(64)); // a later certificate
    await t.client.call('OperatorService', 'Status');
    await t.stop();

    const rr = await runCommand(backupCommand, ['restore', '--config', config, '--from', out]);
    expect(rr.code).toBe(1);
    expect(rr.out).toMatch(/kept the node's own/);
    expect(rr.err).toMatch(/will refuse to start: .* is behind what this node acknowledged/);
    const cfg = loadConfig(config);
    expect(() => new GatekeeperNode(cfg, quietLogger(cfg.dataDir))).toThrow(HighWaterError);

    await expect(runCommand(backupCommand, ['accept-rollback', '--config', config])).rejects.toThrow(/--confirm/);
    const ar = await runCommand(backupCommand, ['accept-rollback', '--config', config, '--confirm']);
    expect(ar.code).toBe(0);
    const node = new GatekeeperNode(cfg, quietLogger(cfg.dataDir));
    try {
      const row = node.db.prepare("SELECT detail_json FROM audit WHERE action = 'highwater.rollback-accepted'").get() as { detail_json: string };
      expect(JSON.parse(row.detail_json)).toMatchObject({ database: expect.stringMatching(/^\d+ \(instance/), highWaterFile: expect.stringMatching(/^\d+ \(instance/) });
      expect(new CeremonyStore(node.db).certificate(2)).toBeUndefined(); // the rollback really lost it
    } finally {
      await node.stop();
    }
  });
});
