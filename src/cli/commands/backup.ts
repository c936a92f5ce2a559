// `gatekeeper backup --config FILE --out FILE`: an online copy of a node's database (SQLite backup API,
// safe while the node runs), with its high-water file. `backup restore` puts one back (node stopped);
// `backup accept-rollback` accepts, audited, a database behind its high-water file (docs/backup.md).
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Command } from '../main.js';
import { parseCommandArgs, requireOption, UsageError } from '../args.js';
import { ConfigError, databaseFile, loadConfig } from '../../node/config.js';
import { AuditLog } from '../../audit/log.js';
import { openDatabase } from '../../store/database.js';
import {
  checkHighWater, highWaterFile, HighWaterError, readDatabaseMark, readMarkFile, resetHighWater, writeMarkFile,
} from '../../store/high-water.js';

const USAGE = [
  'usage: gatekeeper backup (--config FILE | --db FILE) --out FILE',
  '       gatekeeper backup restore (--config FILE | --db FILE) --from FILE',
  '       gatekeeper backup accept-rollback (--config FILE | --db FILE) --confirm',
  '',
  'backup           copies the database of a node, running or stopped, to FILE (0600) with the SQLite',
  '                 online backup API, and writes FILE.hwm, the copy\'s high-water mark',
  'restore          with the node stopped: puts the backup FILE back as the node\'s database (removing',
  '                 its stale -wal and -shm); the node\'s own .hwm is kept if it has one, so a backup',
  '                 older than what the node acknowledged is still refused at start',
  'accept-rollback  with the node stopped: accepts a database behind its high-water file (the node may',
  '                 then contradict what it acknowledged); recorded in the audit log',
  '',
  'See docs/backup.md.',
  '',
].join('\n');

function dbFileOf(values: Record<string, unknown>): string {
  if (typeof values.db === 'string' && values.db.length > 0) return values.db;
  try {
    return databaseFile(loadConfig(requireOption(values, 'config')));
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

function mustNotExist(file: string): void {
  if (fs.existsSync(file)) throw new UsageError(`${file} exists; choose a new file (a backup never overwrites)`);
}

function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r+');
  try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
}

async function backup(dbFile: string, out: string): Promise<number> {
  if (!fs.existsSync(dbFile)) throw new UsageError(`no database at ${dbFile}`);
  mustNotExist(out);
  mustNotExist(highWaterFile(out));
  // The copy holds sealed secrets: create it owner-only before SQLite writes a page into it.
  fs.closeSync(fs.openSync(out, 'wx', 0o600));
  const source = new Database(dbFile, { fileMustExist: true });
  try {
    source.pragma('busy_timeout = 5000');
    await source.backup(out);
  } catch (err) {
    fs.rmSync(out, { force: true });
    throw new UsageError(`backup of ${dbFile} failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    source.close();
  }
  const copy = new Database(out, { fileMustExist: true });
  let mark;
  try {
    const check = copy.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new UsageError(`the copy ${out} fails SQLite's quick_check (${String(check)})`);
    mark = readDatabaseMark(copy);
  } finally {
    copy.close();
  }
  fsyncFile(out);
  writeMarkFile(highWaterFile(out), mark);
  process.stdout.write(`backup written: ${out} (high-water counter ${mark.counter}) and ${highWaterFile(out)}\n`);
  return 0;
}

function restore(dbFile: string, from: string): number {
  if (!fs.existsSync(from)) throw new UsageError(`no backup at ${from}`);
  const probe = new Database(from, { readonly: true, fileMustExist: true });
  let mark;
  try {
    if (probe.pragma('quick_check', { simple: true }) !== 'ok') throw new UsageError(`${from} fails SQLite's quick_check`);
    mark = readDatabaseMark(probe);
  } catch (err) {
    if (err instanceof HighWaterError) throw new UsageError(`${from} is not a Gatekeeper backup: ${err.message}`);
    throw err;
  } finally {
    probe.close();
  }
  const backupMark = readMarkFile(highWaterFile(from));
  if (backupMark && (backupMark.counter !== mark.counter || backupMark.instance !== mark.instance)) {
    throw new UsageError(`${highWaterFile(from)} does not belong to ${from} (counter ${backupMark.counter}, the copy has ${mark.counter})`);
  }
  fs.mkdirSync(path.dirname(dbFile), { recursive: true, mode: 0o700 });
  const tmp = `${dbFile}.restore-${process.pid}`;
  fs.copyFileSync(from, tmp, fs.constants.COPYFILE_EXCL);
  fs.chmodSync(tmp, 0o600);
  fsyncFile(tmp);
  // A -wal left by the old database would be replayed onto the restored one: remove it first.
  for (const suffix of ['-wal', '-shm', '-journal']) fs.rmSync(dbFile + suffix, { force: true });
  fs.renameSync(tmp, dbFile);
  const hwm = highWaterFile(dbFile);
  const kept = fs.existsSync(hwm);
  if (!kept) writeMarkFile(hwm, mark);
  process.stdout.write(`restored ${from} (high-water counter ${mark.counter}) to ${dbFile}; `
    + `${kept ? `kept the node's own ${hwm}` : `wrote ${hwm}`}\n`);
  const db = openDatabase(dbFile);
  try {
    checkHighWater(db, dbFile);
  } catch (err) {
    if (!(err instanceof HighWaterError)) throw err;
    process.stderr.write(`gatekeeper backup restore: the node will refuse to start: ${err.message}\n`);
    return 1;
  } finally {
    db.close();
  }
  process.stdout.write('the node will start with this database\n');
  return 0;
}

function acceptRollback(dbFile: string): number {
  if (!fs.existsSync(dbFile)) throw new UsageError(`no database at ${dbFile}`);
  const db = openDatabase(dbFile);
  try {
    let recorded: string;
    try {
      const m = readMarkFile(highWaterFile(dbFile));
      recorded = m ? `${m.counter} (instance ${m.instance})` : 'none';
    } catch {
      recorded = 'damaged';
    }
    const before = readDatabaseMark(db);
    // The audit row first: it is part of what the new mark covers.
    new AuditLog(db).append('operator', 'highwater.rollback-accepted', {
      database: `${before.counter} (instance ${before.instance})`, highWaterFile: recorded,
    });
    const { to } = resetHighWater(db, dbFile);
    process.stdout.write(`accepted: the high-water file said ${recorded}, the database is at ${before.counter}; `
      + `the file now says ${to.counter}. Recorded in the audit log (highwater.rollback-accepted).\n`);
    return 0;
  } finally {
    db.close();
  }
}

const command: Command = {
  summary: 'back up, restore, or accept a rolled-back node database',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      config: { type: 'string' }, db: { type: 'string' }, out: { type: 'string' }, from: { type: 'string' },
      confirm: { type: 'boolean' }, help: { type: 'boolean' },
    });
    const sub = positionals[0];
    if (values.help || (sub !== undefined && sub !== 'restore' && sub !== 'accept-rollback') || positionals.length > 1) {
      process.stdout.write(USAGE);
      return values.help ? 0 : 2;
    }
    const dbFile = dbFileOf(values);
    if (sub === 'restore') return restore(dbFile, requireOption(values, 'from'));
    if (sub === 'accept-rollback') {
      if (!values.confirm) {
        throw new UsageError('accept-rollback lets the node contradict what it acknowledged (it may vote twice); '
          + 'run it with --confirm, with the node stopped, only after restoring from the newest backup failed');
      }
      return acceptRollback(dbFile);
    }
    return backup(dbFile, requireOption(values, 'out'));
  },
};
export default command;
