// Used challenges are pruned off the hot path (issue 10, item 14): by an index on used_ms, at most once
// per PRUNE_EVERY_MS and at most PRUNE_BATCH rows at a time, never a full-table scan.
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { openDatabase } from '../../src/store/database.js';
import { ContractStore } from '../../src/store/contract-store.js';
import { tempDir } from '../helpers/node.js';

describe('challenges_used pruning', () => {
  const db = openDatabase(path.join(tempDir('prune'), 'gatekeeper.sqlite'));
  const store = new ContractStore(db);
  const day = 24 * 3600_000;
  afterAll(() => db.close());

  test('the prune query uses the used_ms index, not a scan of the table', () => {
    const plan = db.prepare(`EXPLAIN QUERY PLAN SELECT rowid FROM challenges_used WHERE used_ms < ? ORDER BY used_ms LIMIT ${ContractStore.PRUNE_BATCH}`)
      .all(0) as { detail: string }[];
    const text = plan.map((r) => r.detail).join('; ');
    expect(text).toMatch(/USING (COVERING )?INDEX challenges_used_by_time/);
    expect(text).not.toMatch(/^SCAN challenges_used$/m);
  });

  test('a replay is refused; old rows go in bounded batches, at most once per interval', () => {
    const t0 = 10 * day;
    const insert = db.prepare('INSERT INTO challenges_used (nonce, used_ms) VALUES (?, ?)');
    db.transaction(() => { for (let i = 0; i < ContractStore.PRUNE_BATCH + 500; i++) insert.run(randomBytes(32), t0 - 2 * day); })();
    const count = () => (db.prepare('SELECT COUNT(*) AS n FROM challenges_used').get() as { n: number }).n;
    const nonce = randomBytes(32);
    expect(store.useChallenge(nonce, t0)).toBe(true);
    expect(store.useChallenge(nonce, t0)).toBe(false);
    // The first use pruned one batch; uses within the interval prune nothing more.
    expect(count()).toBe(500 + 1);
    store.useChallenge(randomBytes(32), t0 + 1000);
    expect(count()).toBe(500 + 2);
    store.useChallenge(randomBytes(32), t0 + ContractStore.PRUNE_EVERY_MS);
    expect(count()).toBe(3);
    // The fresh nonce is still remembered.
    expect(store.useChallenge(nonce, t0 + ContractStore.PRUNE_EVERY_MS + 1)).toBe(false);
  });
});
