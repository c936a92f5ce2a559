// Signing-purpose checks do not write (issue 11 item 1): the signer runs a check in a transaction and
// refuses, rolling back, one that moved the high-water counter (real SQLite, the real triggers).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../src/store/database.js';
import { AuditLog, allAuditEntries } from '../../src/audit/log.js';
import { CheckWroteError, checkWithoutWrites } from '../../src/ceremony/signer.js';
import { permissionDenied, RpcError } from '../../src/rpc/errors.js';

describe('checkWithoutWrites', () => {
  const db = openDatabase(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gk-signer-')), 'db.sqlite'));
  const audit = new AuditLog(db);
  afterAll(() => db.close());

  test('a read-only check passes and returns its value', () => {
    audit.append('test', 'before', {});
    expect(checkWithoutWrites(db, 'roster', () => [...allAuditEntries(db)].length)).toBe(1);
  });

  test('a check that writes is refused and its write rolled back', () => {
    const before = [...allAuditEntries(db)].length;
    expect(() => checkWithoutWrites(db, 'roster', () => { audit.append('test', 'written by a check', {}); })).toThrow(CheckWroteError);
    expect([...allAuditEntries(db)].length).toBe(before);
  });

  test('a refusal passes through unchanged', () => {
    expect(() => checkWithoutWrites(db, 'roster', () => { throw permissionDenied('this member does not sign that message'); })).toThrow(RpcError);
  });
});
