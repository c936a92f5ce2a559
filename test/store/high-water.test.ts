// Durability (issue 12 item 4): a member never forgets what it acknowledged. A node process that stored
// a vote, its key shares and a certificate and acknowledged them (high-water synced) is SIGKILLed, its
// -wal deleted: either nothing acknowledged is lost (WAL checkpointed on sync, the default) or, without
// that checkpoint, the database is refused at start with a message naming both counters and saying to
// restore from backup. Older copies and recreated databases are refused the same way.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../../src/store/database.js';
import { CeremonyStore } from '../../src/store/ceremony-store.js';
import { checkHighWater, highWaterFile, HighWater, HighWaterError, readDatabaseMark, readMarkFile } from '../../src/store/high-water.js';
import { AuditLog } from '../../src/audit/log.js';
import { tempDir } from '../helpers/node.js';

const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/src/store');

/** A member process: opens the database, records a vote (ceremony row), shares and a certificate, syncs, waits to be killed. */
async function runMemberAndKill(file: string, checkpointWal: boolean): Promise<number> {
  const script = path.join(path.dirname(file), 'member.mjs');
  fs.writeFileSync(script, `
    import { openDatabase } from ${JSON.stringify(path.join(DIST, 'database.js'))};
    import { CeremonyStore } from ${JSON.stringify(path.join(DIST, 'ceremony-store.js'))};
    import { checkHighWater, HighWater } from ${JSON.stringify(path.join(DIST, 'high-water.js'))};
    const file = process.argv[2];
    const db = openDatabase(file);
    const hw = new HighWater(db, file, checkHighWater(db, file).database, { checkpointWal: process.argv[3] === 'yes' });
    const store = new CeremonyStore(db);
    store.insert({ epoch: 1, kind: 'genesis', state: 'ROUND1', snapshot: new Uint8Array([1, 2, 3]), snapshotHash: new Uint8Array(32).fill(7),
      roster: [], threshold: 2, phaseDeadlineMs: 1, phaseTimeoutMs: 1, error: '', updatedMs: 1 });
    store.saveKeyShares(1, new Uint8Array(32).fill(1), new Uint8Array(64).fill(2), '{}');
    store.saveCertificate(1, new Uint8Array([9, 9, 9]), new Uint8Array(64).fill(3));
    hw.sync();
    process.stdout.write('acked ' + hw.counter + '\\n');
    setInterval(() => {}, 1000);
  `);
  const child = spawn(process.execPath, [script, file, checkpointWal ? 'yes' : 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const counter = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /acked (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`member exited early (${code})`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
  return counter;
}

/** A database created and closed cleanly (everything in the main file), with its high-water file. */
function freshDatabase(): string {
  const file = path.join(tempDir('hwm'), 'gatekeeper.sqlite');
  const db = openDatabase(file);
  checkHighWater(db, file);
  db.close();
  return file;
}

describe('a killed member whose -wal is deleted', () => {
  test('without a WAL checkpoint: start is refused with both counters and the restore instruction', async () => {
    const file = freshDatabase();
    const acked = await runMemberAndKill(file, false);
    expect(acked).toBeGreaterThanOrEqual(3);
    expect(fs.existsSync(`${file}-wal`)).toBe(true);
    fs.rmSync(`${file}-wal`);
    expect(readMarkFile(highWaterFile(file))!.counter).toBe(acked);
    const db = openDatabase(file);
    try {
      expect(new CeremonyStore(db).certificate(1)).toBeUndefined(); // the WAL held the acknowledged writes
      let err: unknown;
      try { checkHighWater(db, file); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(HighWaterError);
      const msg = (err as Error).message;
      expect(msg).toContain(`its high-water counter is 0, the high-water file ${highWaterFile(file)} says ${acked}`);
      expect(msg).toMatch(/Restore the database and its \.hwm file from a backup/);
      expect(msg).toMatch(/accept-rollback/);
    } finally {
      db.close();
    }
  });

  test('with the default WAL checkpoint on sync: nothing acknowledged is lost and the node may start', async () => {
    const file = freshDatabase();
    const acked = await runMemberAndKill(file, true);
    fs.rmSync(`${file}-wal`, { force: true });
    const db = openDatabase(file);
    try {
      expect(checkHighWater(db, file).database.counter).toBe(acked);
      const store = new CeremonyStore(db);
      expect(store.get(1)?.state).toBe('ROUND1');
      expect(store.keyShares(1)).toBeDefined();
      expect(Buffer.from(store.certificate(1)!.rosterBytes)).toEqual(Buffer.from([9, 9, 9]));
    } finally {
      db.close();
    }
  });
});

describe('the start-up check', () => {
  test('refuses an older copy of the database put back in place', () => {
    const file = freshDatabase();
    const old = `${file}.old`;
    fs.copyFileSync(file, old);
    const db = openDatabase(file);
    const hw = new HighWater(db, file, checkHighWater(db, file).database);
    new CeremonyStore(db).saveCertificate(1, new Uint8Array([1]), new Uint8Array(64));
    hw.sync();
    db.close();
    for (const s of ['-wal', '-shm']) fs.rmSync(file + s, { force: true });
    fs.copyFileSync(old, file);
    const again = openDatabase(file);
    try {
      expect(() => checkHighWater(again, file)).toThrow(/its high-water counter is 0, the high-water file .* says 1 /);
    } finally {
      again.close();
    }
  });

  test('refuses a database recreated from nothing beside a high-water file (a member rejoining as a fresh node)', () => {
    const file = freshDatabase();
    const db = openDatabase(file);
    const hw = new HighWater(db, file, checkHighWater(db, file).database);
    new CeremonyStore(db).saveCertificate(1, new Uint8Array([1]), new Uint8Array(64));
    hw.sync();
    db.close();
    for (const s of ['', '-wal', '-shm']) fs.rmSync(file + s, { force: true });
    const fresh = openDatabase(file);
    try {
      expect(() => checkHighWater(fresh, file)).toThrow(/is not the database this node was running .* instance/);
    } finally {
      fresh.close();
    }
  });

  test('refuses a high-water file edited by hand (digest mismatch), and writes the file 0600', () => {
    const file = freshDatabase();
    const hwm = highWaterFile(file);
    expect(fs.statSync(hwm).mode & 0o777).toBe(0o600);
    const body = JSON.parse(fs.readFileSync(hwm, 'utf8')) as { counter: number };
    body.counter = 0 + 5;
    fs.writeFileSync(hwm, JSON.stringify(body));
    const db = openDatabase(file);
    try {
      expect(() => checkHighWater(db, file)).toThrow(/is damaged/);
    } finally {
      db.close();
    }
  });
});

describe('the counter (migration 5 triggers)', () => {
  test('moves on votes, shares, certificates, FROST nonce use and audit rows, not on reads', () => {
    const file = freshDatabase();
    const db = openDatabase(file);
    try {
      const store = new CeremonyStore(db);
      const at = () => readDatabaseMark(db).counter;
      const c0 = at();
      store.certificates();
      store.get(1);
      expect(at()).toBe(c0);
      store.insert({ epoch: 1, kind: 'genesis', state: 'ROUND1', snapshot: new Uint8Array([1]), snapshotHash: new Uint8Array(32),
        roster: [], threshold: 2, phaseDeadlineMs: 1, phaseTimeoutMs: 1, error: '', updatedMs: 1 });
      expect(at()).toBe(c0 + 1);
      store.saveKeyShares(1, new Uint8Array(32), new Uint8Array(8), '{}');
      expect(at()).toBe(c0 + 2);
      store.startFrostSession(new Uint8Array(32).fill(4), 1, new Uint8Array([1]), new Uint8Array(8), 1);
      expect(at()).toBe(c0 + 3);
      expect(store.takeFrostNonces(new Uint8Array(32).fill(4))).toBeDefined();
      const c4 = at();
      expect(c4).toBeGreaterThan(c0 + 3); // a used nonce must never come back after a rollback
      new AuditLog(db).append('operator', 'test', {});
      expect(at()).toBe(c4 + 1);
      expect(() => db.prepare('UPDATE high_water SET counter = 0').run()).toThrow(/only grows/);
      expect(() => db.prepare('DELETE FROM high_water').run()).toThrow(/permanent/);
    } finally {
      db.close();
    }
  });
});
