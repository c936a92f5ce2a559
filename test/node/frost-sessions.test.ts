// FROST signing sessions are pruned by age (issue 10, item 14): in bounded batches through the index
// on created_ms (no scan of the whole table), from the ceremony tick, never on the signing path; an
// expired session's nonces are refused even before they are pruned.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { openDatabase, type Db } from '../../src/store/database.js';
import { CeremonyStore } from '../../src/store/ceremony-store.js';
import { FROST_SESSION_TTL_MS } from '../../src/node/genesis.js';
import { startTestNode, tempDir } from '../helpers/node.js';

const session = () => new Uint8Array(randomBytes(16));

function fill(store: CeremonyStore, createdMs: number, n: number): Uint8Array[] {
  const ids = Array.from({ length: n }, session);
  store.db.transaction(() => { for (const id of ids) store.startFrostSession(id, 1, new Uint8Array(32), new Uint8Array(40), createdMs); })();
  return ids;
}

const count = (db: Db) => (db.prepare('SELECT count(*) AS n FROM frost_sessions').get() as { n: number }).n;

describe('the frost_sessions store', () => {
  let dir: string;
  let db: Db;
  let store: CeremonyStore;
  beforeEach(() => {
    dir = tempDir('frost-sessions');
    db = openDatabase(path.join(dir, 'gatekeeper.sqlite'));
    store = new CeremonyStore(db);
  });
  afterEach(() => { db.close(); fs.rmSync(dir, { recursive: true, force: true }); });

  test('prunes old sessions oldest first in bounded batches and keeps new ones', () => {
    const now = 10_000_000;
    const old = fill(store, now - FROST_SESSION_TTL_MS - 5000, 30);
    const fresh = fill(store, now - 1000, 20);
    expect(store.pruneFrostSessions(now - FROST_SESSION_TTL_MS, 25)).toBe(25);
    expect(count(db)).toBe(25);
    expect(store.pruneFrostSessions(now - FROST_SESSION_TTL_MS, 25)).toBe(5);
    expect(store.pruneFrostSessions(now - FROST_SESSION_TTL_MS, 25)).toBe(0);
    for (const id of old) expect(store.takeFrostNonces(id)).toBeUndefined();
    for (const id of fresh) expect(store.takeFrostNonces(id, now - FROST_SESSION_TTL_MS)).toBeDefined();
  });

  test('the prune query goes through the created_ms index, not a scan of the table', () => {
    const plan = db.prepare(`EXPLAIN QUERY PLAN DELETE FROM frost_sessions WHERE rowid IN
        (SELECT rowid FROM frost_sessions WHERE created_ms < ? ORDER BY created_ms LIMIT ?)`).all(0, 10) as { detail: string }[];
    const text = plan.map((p) => p.detail).join('\n');
    expect(text).toMatch(/frost_sessions USING (COVERING )?INDEX frost_sessions_created/);
    expect(text).not.toMatch(/SCAN frost_sessions(?! USING)/);
  });

  test('an expired session gives no nonces, and its nonces are erased', () => {
    const now = 50_000_000;
    const [expired] = fill(store, now - FROST_SESSION_TTL_MS - 1, 1);
    expect(store.takeFrostNonces(expired!, now - FROST_SESSION_TTL_MS)).toBeUndefined();
    const row = db.prepare('SELECT sealed_nonces FROM frost_sessions WHERE session_id = ?').get(expired) as { sealed_nonces: Buffer | null };
    expect(row.sealed_nonces).toBeNull();
  });
});

describe('a node', () => {
  async function until(what: () => boolean, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!what()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  test('prunes expired signing sessions from its ceremony tick, at most once a minute, and keeps the fresh ones', async () => {
    const t = await startTestNode();
    try {
      for (const share of t.shares.slice(0, 2)) await t.client.call('OperatorService', 'Unseal', { share });
      const ctx = t.node.context!;
      // The node's clock is injected: an hour on, past the gate of any prune run so far.
      let clock = Date.now() + 3_600_000;
      const old = fill(ctx.ceremonies, clock - FROST_SESSION_TTL_MS - 1, 1200);
      const fresh = fill(ctx.ceremonies, clock - 1000, 10);
      ctx.now = () => clock;
      await until(() => count(ctx.db) === 10);
      const later = fill(ctx.ceremonies, clock - FROST_SESSION_TTL_MS - 1, 3);
      clock += 30_000;
      await new Promise((r) => setTimeout(r, 600));
      expect(count(ctx.db)).toBe(13);  // gated: the last run was 30 s ago on the node's clock
      clock += 31_000;
      await until(() => count(ctx.db) === 10);
      for (const id of [...old, ...later]) expect(ctx.ceremonies.takeFrostNonces(id)).toBeUndefined();
      for (const id of fresh) expect(ctx.ceremonies.takeFrostNonces(id, clock - FROST_SESSION_TTL_MS)).toBeDefined();
    } finally {
      await t.stop();
    }
  });
});
