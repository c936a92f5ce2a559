import path from 'node:path';
import Database from 'better-sqlite3';
import { openDatabase } from '../../src/store/database.js';
import { AuditLog, allAuditEntries, verifyAuditChain } from '../../src/audit/log.js';
import { tempDir } from '../helpers/node.js';

function logWithEntries(n: number) {
  const file = path.join(tempDir('audit'), 'a.sqlite');
  const db = openDatabase(file);
  const log = new AuditLog(db, () => 1_700_000_000_000);
  for (let i = 0; i < n; i++) log.append(`actor-${i}`, 'test.action', { i });
  return { db, file, log };
}

describe('hash-chained audit log', () => {
  test('an untouched log verifies and its head commits to every entry', () => {
    const { db } = logWithEntries(5);
    const r = verifyAuditChain(allAuditEntries(db));
    expect(r).toMatchObject({ ok: true, entries: 5 });
  });

  test('SQLite refuses UPDATE and DELETE on the audit table', () => {
    const { db } = logWithEntries(2);
    expect(() => db.prepare("UPDATE audit SET actor = 'x' WHERE seq = 1").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit WHERE seq = 2').run()).toThrow(/append-only/);
  });

  test('an edited, removed or reordered entry is found at the right place', () => {
    const { db, file } = logWithEntries(4);
    db.close();
    // An attacker with the file drops the triggers and edits the table directly.
    const raw = new Database(file);
    raw.exec('DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;');
    raw.prepare("UPDATE audit SET detail_json = '{\"i\":99}' WHERE seq = 3").run();
    expect(verifyAuditChain(allAuditEntries(raw))).toEqual({ ok: false, seq: 3, error: expect.stringMatching(/altered/) });
    raw.prepare("UPDATE audit SET detail_json = '{\"i\":2}' WHERE seq = 3").run();
    expect(verifyAuditChain(allAuditEntries(raw))).toMatchObject({ ok: true });
    raw.prepare('DELETE FROM audit WHERE seq = 2').run();
    expect(verifyAuditChain(allAuditEntries(raw))).toEqual({ ok: false, seq: 3, error: expect.stringMatching(/missing/) });
    raw.close();
  });
});
