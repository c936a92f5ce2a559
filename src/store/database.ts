// Opens a node's SQLite database (better-sqlite3, WAL, synchronous=FULL so that an acknowledged
// write survives a crash) and brings its schema up to date.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

export class DatabasePermissionError extends Error {
  override name = 'DatabasePermissionError';
}

const SQLITE_SUFFIXES = ['', '-wal', '-shm', '-journal'];

/**
 * The database folder must be 0700 and its SQLite files 0600 (owner only): a new folder and file are
 * created so, and an existing one that is looser is refused rather than silently used or changed.
 */
export function checkDatabasePermissions(file: string): void {
  const dir = path.dirname(file);
  if (!fs.existsSync(dir)) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const loose = (p: string, st: fs.Stats) => {
    if ((st.mode & 0o077) !== 0) {
      throw new DatabasePermissionError(`${p} is readable or writable by others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}); `
        + `the node keeps sealed keys there: run chmod ${st.isDirectory() ? '700' : '600'} ${p}`);
    }
  };
  loose(dir, fs.statSync(dir));
  if (!fs.existsSync(file)) fs.closeSync(fs.openSync(file, 'a', 0o600));
  for (const suffix of SQLITE_SUFFIXES) {
    const st = fs.statSync(file + suffix, { throwIfNoEntry: false });
    if (st) loose(file + suffix, st);
  }
}

/** Opens a node database; SQLite creates its -wal and -shm files with the database file's mode (0600). */
export function openDatabase(file: string): Db {
  checkDatabasePermissions(file);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

export function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this Gatekeeper (${MIGRATIONS.length})`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/** Prepares each SQL text once per database: preparing is a large part of a small query's cost. */
export function statementCache(db: Db): (sql: string) => Database.Statement {
  const cache = new Map<string, Database.Statement>();
  return (sql) => {
    let st = cache.get(sql);
    if (!st) {
      st = db.prepare(sql);
      cache.set(sql, st);
    }
    return st;
  };
}
