// The active committee is the newest certified roster for which a node holds shares, never the newest
// ceremony (issue 11 item 1, DESIGN §3.6): with a later ceremony aborted and another still running in
// every member's database, the certified committee keeps provisioning workers and serving contract keys.
import { jest } from '@jest/globals';
import path from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { Devnet } from '../../src/devnet/devnet.js';
import { openDatabase } from '../../src/store/database.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { tempDir } from '../helpers/node.js';
import { readNodeSecrets } from '../helpers/devnet-secrets.js';
import { identityPublicKey } from '../../src/crypto/identity.js';
import { RpcError } from '../../src/rpc/errors.js';
import { status } from '@grpc/grpc-js';

jest.setTimeout(240_000);

describe('a newer ceremony, aborted or in progress, does not hide the active committee', () => {
  let devnet: Devnet;
  afterAll(async () => { await devnet.stop(); });

  test('after restart with epoch 2 ABORTED and epoch 3 in ROUND1, members still provision and serve the epoch-1 keys', async () => {
    devnet = new Devnet({ dir: tempDir('active'), nodes: 3, threshold: 2 }); // the committee's size is not what this shows
    const view = await devnet.genesis();
    await devnet.registerDemoContract();
    const first = await devnet.startWorker(view.committeeKey);
    await devnet.stopWorker();
    await devnet.stop();

    // Each member persisted its one vote for epoch 1 (the engine's vote rule).
    const member0 = await readNodeSecrets(devnet.nodes[0]!, 1);
    // What a failed and a running election round leave in each member's database.
    for (const n of devnet.nodes) {
      const db = openDatabase(path.join(n.dir, 'gatekeeper.sqlite'));
      expect((db.prepare('SELECT COUNT(*) AS n FROM engine_votes WHERE epoch = 1').get() as { n: number }).n).toBe(1);
      const copy = db.prepare(`INSERT INTO ceremonies (epoch, kind, state, snapshot, snapshot_hash, roster_json, threshold, phase_deadline_ms,
          phase_timeout_ms, error, updated_ms) SELECT ?, kind, ?, snapshot, snapshot_hash, roster_json, threshold, ?, phase_timeout_ms, ?, updated_ms
          FROM ceremonies WHERE epoch = 1`);
      copy.run(2, 'ABORTED', 0, 'ErrTimeoutReached: a later round that failed');
      copy.run(3, 'ROUND1', Date.now() + 600_000, '');
      db.close();
    }
    await Promise.all(devnet.nodes.map((_, i) => devnet.startNode(i)));
    await Promise.all(devnet.nodes.map((_, i) => devnet.unseal(i)));

    for (let i = 0; i < devnet.nodes.length; i++) {
      const s = await devnet.status(i);
      expect(s.ceremonyState).toBe('ROUND1');
      const c = await devnet.committee(i);
      expect(c.epoch).toBe(1);
      expect(bytesToHex(c.committeeKey)).toBe(bytesToHex(view.committeeKey));
    }
    // The engine's pull answers a member's signed call: an unknown ceremony is NOT_FOUND, not INTERNAL.
    const sign = { role: 'peer' as const, secretKey: member0.identitySecret, publicKey: identityPublicKey(member0.identitySecret) };
    const err = await devnet.nodes[1]!.client.call('PeerService', 'GetCeremonyMessage', { ceremony: 'handoff-9', phase: 'deal' }, { sign }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect(status[(err as RpcError).code]).toBe('NOT_FOUND');
    // A fresh worker provisions the demo contract's key from the epoch-1 committee: the same key.
    const again = await devnet.startWorker(view.committeeKey);
    expect(again.publicKey).toBe(first.publicKey);
    // A client fetches the certified key (GetContractKey) from a member and the worker opens its envelope.
    const r = await devnet.invokeDemo(view.committeeKey, utf8('still served during a later ceremony'));
    expect(bytesToHex(r.digest)).toBe(bytesToHex(r.expected));
  });
});
