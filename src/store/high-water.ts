// The high-water mark: a node never forgets what it acknowledged (docs/backup.md). Triggers bump a
// counter in the database on every write that matters (migration 5); before the node answers a call or
// sends a peer message it copies that counter to `<db>.hwm`, a small file beside the database that the
// database cannot roll back (0600, written to a temporary file, fsynced, renamed, directory fsynced). At
// start a database whose counter is behind the file (a lost -wal, an old copy put back) is refused
// instead of rejoining the committee as a node that forgot its votes, shares and releases.
import fs from 'node:fs';
import path from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { concatBytes, utf8 } from '../crypto/bytes.js';
import type { Db } from './database.js';

export class HighWaterError extends Error {
  override name = 'HighWaterError';
}

export interface HighWaterMark {
  counter: number;
  /** 16 random bytes (hex) chosen when the database was created: which database the counter belongs to. */
  instance: string;
}

interface MarkFile extends HighWaterMark { version: 1; digest: string }

const DOMAIN = utf8('gatekeeper/v1/high-water');

export function highWaterFile(dbFile: string): string {
  return `${dbFile}.hwm`;
}

/** SHA-256("gatekeeper/v1/high-water" || instance || counter as 8 bytes big-endian), hex. */
function digestOf(mark: HighWaterMark): string {
  const n = new Uint8Array(8);
  new DataView(n.buffer).setBigUint64(0, BigInt(mark.counter));
  return bytesToHex(sha256(concatBytes(DOMAIN, Buffer.from(mark.instance, 'hex'), n)));
}

/** The database's own mark (the high_water row). */
export function readDatabaseMark(db: Db): HighWaterMark {
  const row = db.prepare('SELECT counter, instance FROM high_water WHERE id = 1').get() as { counter: number; instance: Buffer } | undefined;
  if (!row) throw new HighWaterError('the database has no high-water row (schema migration 5 did not run)');
  return { counter: row.counter, instance: row.instance.toString('hex') };
}

/** The mark in `file`; undefined when there is none. A file that does not parse or verify is refused. */
export function readMarkFile(file: string): HighWaterMark | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new HighWaterError(`cannot read the high-water file ${file}: ${(err as Error).message}`);
  }
  let m: Partial<MarkFile>;
  try { m = JSON.parse(text) as Partial<MarkFile>; } catch { m = {}; }
  const ok = m.version === 1 && Number.isSafeInteger(m.counter) && m.counter! >= 0
    && typeof m.instance === 'string' && /^[0-9a-f]{32}$/.test(m.instance)
    && typeof m.digest === 'string' && m.digest === digestOf({ counter: m.counter!, instance: m.instance });
  if (!ok) {
    throw new HighWaterError(`the high-water file ${file} is damaged (it does not parse or its digest does not match); `
      + 'restore the database and its .hwm file from a backup, or run `gatekeeper backup accept-rollback` (audited)');
  }
  return { counter: m.counter!, instance: m.instance! };
}

/** Writes `mark` to `file` atomically and durably: temporary file (0600), fsync, rename, fsync of the folder. */
export function writeMarkFile(file: string, mark: HighWaterMark): void {
  const body: MarkFile = { version: 1, counter: mark.counter, instance: mark.instance, digest: digestOf(mark) };
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, JSON.stringify(body) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  const dir = fs.openSync(path.dirname(file), 'r');
  try { fs.fsyncSync(dir); } finally { fs.closeSync(dir); }
}

export interface HighWaterOptions {
  /**
   * Run a passive WAL checkpoint whenever the counter moved, so what was acknowledged is also in the main
   * database file and a lost -wal loses nothing acknowledged (default true; tests turn it off to show the
   * start-up refusal).
   */
  checkpointWal?: boolean;
}

/** What the start-up check found. */
export interface HighWaterCheck {
  database: HighWaterMark;
  /** The file's counter before the check (undefined: there was no file, it was created). */
  file: number | undefined;
}

/**
 * Compares the database with its high-water file; refuses (HighWaterError) a database that is behind the
 * file or is not the database the file belongs to. Brings the file up to the database otherwise.
 */
export function checkHighWater(db: Db, dbFile: string): HighWaterCheck {
  const file = highWaterFile(dbFile);
  const database = readDatabaseMark(db);
  const recorded = readMarkFile(file);
  const restore = `Restore the database and its .hwm file from a backup at least this recent (docs/backup.md), or, knowing that `
    + 'the node may then contradict what it acknowledged (a double vote), accept the rollback with '
    + '`gatekeeper backup accept-rollback --config FILE` (recorded in the audit log).';
  if (recorded && recorded.instance !== database.instance) {
    throw new HighWaterError(`the database ${dbFile} is not the database this node was running (database instance ${database.instance}, `
      + `high-water file ${file} names instance ${recorded.instance} at counter ${recorded.counter}): it may have been recreated after `
      + `losing its data, and would rejoin as a node that forgot what it acknowledged. ${restore}`);
  }
  if (recorded && database.counter < recorded.counter) {
    throw new HighWaterError(`the database ${dbFile} is behind what this node acknowledged: its high-water counter is ${database.counter}, `
      + `the high-water file ${file} says ${recorded.counter} (a lost -wal file or an older copy of the database). `
      + `The node refuses to start rather than forget its votes, shares and releases. ${restore}`);
  }
  if (!recorded || database.counter > recorded.counter) writeMarkFile(file, database);
  return { database, file: recorded?.counter };
}

/** Keeps the high-water file up to date with the database; `sync` is cheap when nothing changed. */
export class HighWater {
  private last: number;
  private readonly file: string;
  private readonly instance: string;
  private readonly read: () => { counter: number };

  constructor(private readonly db: Db, dbFile: string, start: HighWaterMark, private readonly opts: HighWaterOptions = {}) {
    this.file = highWaterFile(dbFile);
    this.last = start.counter;
    this.instance = start.instance;
    const st = db.prepare('SELECT counter FROM high_water WHERE id = 1');
    this.read = () => st.get() as { counter: number };
  }

  /** The counter last written to the file. */
  get counter(): number { return this.last; }

  /**
   * Makes everything committed so far durable outside the database: a WAL checkpoint (passive) and the
   * counter in the high-water file. Call before acting on or acknowledging what was written. Throws if
   * the file cannot be written (then nothing must be answered).
   */
  sync(): void {
    const { counter } = this.read();
    if (counter === this.last) return;
    if (this.opts.checkpointWal !== false) this.db.pragma('wal_checkpoint(PASSIVE)');
    writeMarkFile(this.file, { counter, instance: this.instance });
    this.last = counter;
  }
}

/** Rewrites the high-water file to the database's current mark (after an accepted rollback); returns both. */
export function resetHighWater(db: Db, dbFile: string): { from: string; to: HighWaterMark } {
  const file = highWaterFile(dbFile);
  let from: string;
  try {
    const m = readMarkFile(file);
    from = m ? `${m.counter} (instance ${m.instance})` : 'none';
  } catch (err) {
    from = err instanceof HighWaterError ? 'damaged' : 'unreadable';
  }
  const to = readDatabaseMark(db);
  writeMarkFile(file, to);
  return { from, to };
}
