// The outbox of certified contract keys (issue 12, item 2) on a real SQLite database: rows per member,
// due times with backoff, acknowledgement, and the high-water triggers every acknowledged table has.
import path from 'node:path';
import { openDatabase } from '../../src/store/database.js';
import { readDatabaseMark } from '../../src/store/high-water.js';
import { ContractStore } from '../../src/store/contract-store.js';
import { tempDir } from '../helpers/node.js';

test('deliveries are queued per member, come due, back off, and disappear once acknowledged; each change moves the high-water mark', () => {
  const db = openDatabase(path.join(tempDir('outbox'), 'node.db'));
  try {
    const store = new ContractStore(db);
    const cid = new Uint8Array([1, 2, 3]);
    const mark = () => readDatabaseMark(db).counter;
    const before = mark();
    db.transaction(() => {
      store.putContractKey({ contractId: cid, version: 2, generation: 1, publicKey: new Uint8Array(33).fill(2), certificate: new Uint8Array(64) }, 1000);
      store.queueDelivery(['aa', 'bb', 'cc'], cid, 2, 1000);
    })();
    expect(mark()).toBe(before + 4);
    // Queued twice (a retried publication): still one row per member.
    store.queueDelivery(['aa'], cid, 2, 1000);
    expect(store.pendingDeliveries()).toHaveLength(3);
    expect(store.dueDeliveries(999, 10)).toEqual([]);
    expect(store.dueDeliveries(1000, 10).map((r) => r.peerNodeId).sort()).toEqual(['aa', 'bb', 'cc']);
    store.deliveryFailed('bb', cid, 2, 5000, 'UNAVAILABLE: member down');
    expect(store.dueDeliveries(4999, 10).map((r) => r.peerNodeId).sort()).toEqual(['aa', 'cc']);
    const bb = store.pendingDeliveries().find((r) => r.peerNodeId === 'bb')!;
    expect(bb).toMatchObject({ attempts: 1, nextMs: 5000, lastError: 'UNAVAILABLE: member down' });
    const m = mark();
    store.delivered('aa', cid, 2);
    store.delivered('cc', cid, 2);
    expect(mark()).toBe(m + 2);
    expect(store.deliveriesOf(cid, 2).map((r) => r.peerNodeId)).toEqual(['bb']);
    expect(store.dueDeliveries(5000, 10).map((r) => r.peerNodeId)).toEqual(['bb']);
  } finally {
    db.close();
  }
});
