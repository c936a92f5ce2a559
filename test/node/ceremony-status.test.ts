// The node side of OperatorService.CeremonyStatus (src/node/ceremony-status.ts) on a real SQLite file:
// a committee record's round with its engine ceremony's phase and whose messages this node holds; an engine ceremony of any protocol
// (here kind 'handoff') read through the engine store alone — phase, deadline, senders of the phase's
// messages addressed to this node or broadcast, the protocol's own awaited set when it is loaded —
// which record answers for epoch 0 and for a given epoch, and NOT_FOUND for an unknown epoch.
import fs from 'node:fs';
import path from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import { CeremonyStore, type CeremonyRecord } from '../../src/store/ceremony-store.js';
import { EngineStore, type EngineRecord } from '../../src/ceremony/store.js';
import { ceremonyStatus, type CeremonyStatusDeps } from '../../src/node/ceremony-status.js';
import { generateIdentityKey } from '../../src/crypto/identity.js';
import { nodeIdOf } from '../../src/node/identity.js';
import { RpcError } from '../../src/rpc/errors.js';
import { tempDir } from '../helpers/node.js';

const NOW = 5_000_000;
const keys = Array.from({ length: 4 }, () => bytesToHex(generateIdentityKey().publicKey));
const ids = keys.map((k) => bytesToHex(nodeIdOf(Buffer.from(k, 'hex'))));
const [self, b, c, d] = [0, 1, 2, 3];

function genesisRecord(epoch: number, state: CeremonyRecord['state'], members = [self, b, c]): CeremonyRecord {
  return {
    epoch, kind: 'genesis', state, snapshot: new Uint8Array([1]), snapshotHash: new Uint8Array(32), threshold: 2,
    roster: members.map((i) => ({ nodeId: ids[i]!, identityKey: keys[i]!, transportKey: '', endpoint: `n${i}:1`, stake: '1', shareIdentifier: '' })),
    phaseDeadlineMs: NOW + 12_000, phaseTimeoutMs: 30_000, error: '', updatedMs: NOW,
  };
}

function engineRecord(id: string, epoch: number, over: Partial<EngineRecord> = {}): EngineRecord {
  return {
    id, kind: 'handoff', epoch, status: 'RUNNING', phase: 'acknowledge', members: keys.map((k) => ({ id: k, endpoint: '', transportKey: '' })),
    sealedState: new Uint8Array([0]), phaseDeadlineMs: NOW + 7_500, phaseTimeoutMs: 30_000, error: '', culprit: '', updatedMs: NOW, ...over,
  };
}

describe('CeremonyStatus on the node', () => {
  let dir: string;
  let db: Db;
  let deps: CeremonyStatusDeps;
  let genesis: CeremonyStore;
  let engine: EngineStore;
  const msg = (ceremony: string, phase: string, sender: number, recipient: number | '*') => engine.putMessage({
    ceremony, phase, sender: keys[sender]!, recipient: recipient === '*' ? '*' : keys[recipient]!, body: new Uint8Array([1]), signature: new Uint8Array(64),
  });

  beforeEach(() => {
    dir = tempDir('ceremony-status');
    db = openDatabase(path.join(dir, 'gatekeeper.sqlite'));
    genesis = new CeremonyStore(db);
    engine = new EngineStore(db);
    deps = { ceremonies: genesis, engine, selfNodeId: ids[self]!, selfIdentityKey: keys[self]!, now: () => NOW };
  });
  afterEach(() => { db.close(); fs.rmSync(dir, { recursive: true, force: true }); });

  const notFound = (epoch: number) => {
    try { ceremonyStatus(deps, epoch); } catch (err) {
      expect(err).toBeInstanceOf(RpcError);
      expect((err as RpcError).code).toBe(grpcStatus.NOT_FOUND);
      return (err as RpcError).message;
    }
    throw new Error('expected NOT_FOUND');
  };

  test('NOT_FOUND when the node knows no ceremony, or none of that epoch', () => {
    expect(notFound(0)).toMatch(/knows no ceremony/);
    genesis.insert(genesisRecord(1, 'ROUND1'));
    expect(notFound(2)).toMatch(/no ceremony for epoch 2/);
  });

  test('genesis: the committee record names the round, the engine tells the phase, who answered and who is awaited', () => {
    genesis.insert(genesisRecord(1, 'ROUND1'));
    const members = [self, b, c].map((i) => ({ id: keys[i]!, endpoint: '', transportKey: '' }));
    engine.insert(engineRecord('genesis-1', 1, { kind: 'genesis', phase: 'round1', members, phaseDeadlineMs: NOW + 12_000 }));
    msg('genesis-1', 'round1', self, '*');
    msg('genesis-1', 'round1', c, '*');
    expect(ceremonyStatus(deps, 0)).toEqual({
      epoch: 1, kind: 'genesis', state: 'ROUND1', phase: 'round1', deadlineMs: String(NOW + 12_000), nowMs: String(NOW),
      answered: [ids[c]], awaited: [ids[b]], error: '', threshold: 2, members: [ids[self], ids[b], ids[c]],
    });
    // Round 2 counts only the shares addressed to this node.
    db.prepare("UPDATE ceremonies SET state = 'ROUND2' WHERE epoch = 1").run();
    db.prepare("UPDATE engine_ceremonies SET phase = 'round2' WHERE id = 'genesis-1'").run();
    msg('genesis-1', 'round2', b, c);
    expect(ceremonyStatus(deps, 1)).toMatchObject({ state: 'ROUND2', phase: 'round2', answered: [], awaited: [ids[b], ids[c]].sort() });
    msg('genesis-1', 'round2', b, self);
    expect(ceremonyStatus(deps, 1)).toMatchObject({ answered: [ids[b]], awaited: [ids[c]] });
    // The engine completes; certification is the record's: no per-member messages, then COMPLETE.
    db.prepare("UPDATE engine_ceremonies SET status = 'COMPLETE' WHERE id = 'genesis-1'").run();
    db.prepare("UPDATE ceremonies SET state = 'CONFIRMED' WHERE epoch = 1").run();
    expect(ceremonyStatus(deps, 1)).toMatchObject({ state: 'CONFIRMED', phase: 'CONFIRMED', answered: [], awaited: [] });
    db.prepare("UPDATE ceremonies SET state = 'COMPLETE' WHERE epoch = 1").run();
    expect(ceremonyStatus(deps, 1)).toMatchObject({ state: 'COMPLETE', phase: '', deadlineMs: '0', answered: [], awaited: [] });
  });

  test('an engine ceremony of any protocol: senders of the phase addressed to this node or broadcast, in node ids', () => {
    genesis.insert(genesisRecord(1, 'COMPLETE'));
    engine.insert(engineRecord('handoff-2', 2));
    msg('handoff-2', 'acknowledge', b, '*');          // a broadcast: counts
    msg('handoff-2', 'acknowledge', c, self);         // addressed to this node: counts
    msg('handoff-2', 'acknowledge', d, c);            // addressed to another member: not this node's
    msg('handoff-2', 'acknowledge', self, '*');       // this node's own
    msg('handoff-2', 'deal', d, '*');                 // another phase
    const view = ceremonyStatus(deps, 0);
    expect(view).toEqual({
      epoch: 2, kind: 'handoff', state: 'RUNNING', phase: 'acknowledge', deadlineMs: String(NOW + 7_500), nowMs: String(NOW),
      answered: [ids[b], ids[c]].sort(), awaited: [ids[d]], error: '', threshold: 0, members: ids,
    });
    // With the protocol loaded, its own awaited set (a phase may wait for only some members); a
    // failing reader falls back to the store's view.
    expect(ceremonyStatus({ ...deps, engineMissing: () => [] }, 2).awaited).toEqual([]);
    expect(ceremonyStatus({ ...deps, engineMissing: () => { throw new Error('protocol not registered'); } }, 2).awaited).toEqual([ids[d]]);
    // The older genesis epoch is still readable by number.
    expect(ceremonyStatus(deps, 1)).toMatchObject({ kind: 'genesis', state: 'COMPLETE' });
  });

  test('an aborted engine ceremony names its culprit by node id; a completed one defers to the certified record of its epoch', () => {
    engine.insert(engineRecord('handoff-3', 3, { status: 'ABORTED', error: 'ErrBlamed: a dealing does not verify', culprit: keys[d]! }));
    expect(ceremonyStatus(deps, 3)).toMatchObject({
      state: 'ABORTED', phase: '', deadlineMs: '0', answered: [], awaited: [], error: `ErrBlamed: a dealing does not verify (culprit ${ids[d]})`,
    });
    // Same epoch in both stores: a running engine ceremony tells the phases; once the engine is
    // COMPLETE, the record that carries certification answers.
    genesis.insert(genesisRecord(4, 'CONFIRMED'));
    engine.insert(engineRecord('e-4', 4));
    expect(ceremonyStatus(deps, 4)).toMatchObject({ kind: 'genesis', state: 'CONFIRMED', phase: 'acknowledge', threshold: 2 });
    db.prepare("UPDATE engine_ceremonies SET status = 'COMPLETE' WHERE id = 'e-4'").run();
    expect(ceremonyStatus(deps, 4)).toMatchObject({ kind: 'genesis', state: 'CONFIRMED', phase: 'CONFIRMED', answered: [], awaited: [] });
    expect(ceremonyStatus(deps, 0).epoch).toBe(4);
  });
});
