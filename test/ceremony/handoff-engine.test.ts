// The hand-off as a protocol of the ceremony engine (issue 11 stretch): a 4-member committee (k = 3)
// from the in-process genesis of lifecycle.ts hands off to 5 members (k = 4) through real engines, each
// with its own SQLite file, behind an in-memory transport with a fake clock. The new members' shares
// give back the same MPK and CPK and sign under the unchanged CPK.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { openDatabase } from '../../src/store/database.js';
import { AuditLog } from '../../src/audit/log.js';
import { SecretBox } from '../../src/node/keystore.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { CeremonyEngine, type Member } from '../../src/ceremony/engine.js';
import { PeerUnavailable } from '../../src/ceremony/transport.js';
import { handoffKeys, handoffProtocol, HANDOFF_KIND, type HandoffState } from '../../src/ceremony/handoff/protocol.js';
import { frostSign, genesis, makeNode, session, type Node } from './lifecycle.js';

/** One engine per node (its own SQLite file), behind an in-memory transport; members in `down` refuse connections. */
function engineFor(nodes: Node[], now: () => number, down: Set<string>): Map<string, CeremonyEngine> {
  const engines = new Map<string, CeremonyEngine>();
  for (const n of nodes) {
    const db = openDatabase(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gk-handoff-engine-')), 'db.sqlite'));
    const id = bytesToHex(n.identityKey);
    const engine = new CeremonyEngine({
      db, box: new SecretBox(new Uint8Array(randomBytes(32))), now, audit: new AuditLog(db, now),
      self: { id, identitySecret: n.identitySecret, transportSecret: n.transportSecret, transportKey: n.transportKey },
      transport: {
        fetch: async (peer, req) => {
          if (down.has(peer.id)) throw new PeerUnavailable('refused');
          return engines.get(peer.id)!.serve(req, id, 0);
        },
      },
    });
    engine.register(handoffProtocol({ nodeId: n.nodeId, identitySecret: n.identitySecret, transportSecret: n.transportSecret }));
    engines.set(id, engine);
  }
  return engines;
}

describe('hand-off on the ceremony engine', () => {
  test('4 (k=3) → 5 (k=4): every member completes with the same MPK and CPK; the new shares sign under CPK', async () => {
    let t = 1_000_000;
    const now = () => t;
    const old = genesis([0, 1, 2, 3].map((i) => makeNode(`old-${i}`)), 3);
    const joining = makeNode('new-4');
    const everyone: Node[] = [...old.nodes, joining];
    const engines = engineFor(everyone, now, new Set<string>());
    const members: Member[] = everyone.map((n) => ({ id: bytesToHex(n.identityKey), endpoint: n.name, transportKey: bytesToHex(n.transportKey) }));
    const params = { oldRoster: old.roster, epoch: 2, session: session(2), next: { threshold: 4, members: everyone } };
    for (const n of everyone) {
      const shares = old.keys.get(bytesToHex(n.nodeId));
      await engines.get(bytesToHex(n.identityKey))!.start(HANDOFF_KIND, { id: 'handoff-2', epoch: 2, members, phaseTimeoutMs: 60_000, params: { ...params, shares } as unknown as Record<string, unknown> });
    }
    for (let round = 0; round < 12; round++) {
      for (const e of engines.values()) await e.tick();
      t += 250;
    }
    const mpk = bytesToHex(old.roster.masterPublicKey);
    const cpk = bytesToHex(old.roster.committeeKey);
    const newKeys = [];
    for (const n of everyone) {
      const e = engines.get(bytesToHex(n.identityKey))!;
      const c = e.get('handoff-2')!;
      expect(c.error).toBe('');
      expect(c.status).toBe('COMPLETE');
      const keys = handoffKeys(e.state<HandoffState>('handoff-2'))!;
      expect(keys).toBeDefined();
      expect(bytesToHex(keys.derivation.groupPublicKey)).toBe(mpk);
      expect(bytesToHex(keys.signing.groupPublicKey)).toBe(cpk);
      expect(keys.signing.threshold).toBe(4);
      newKeys.push(keys.signing);
    }
    const message = utf8('signed by the new committee under the unchanged committee key');
    expect(schnorr.verify(frostSign(newKeys.slice(1), message), message, old.roster.committeeKey)).toBe(true);
  });

  test('an old member that is down and leaves the roster does not stop the hand-off: after a third of the deal phase the new members go on with k_old dealings', async () => {
    let t = 1_000_000;
    const now = () => t;
    const old = genesis([0, 1, 2, 3].map((i) => makeNode(`old-${i}`)), 3);
    const joining = makeNode('new-4');
    const gone = old.nodes[3]!;
    const next = [old.nodes[0]!, old.nodes[1]!, old.nodes[2]!, joining];
    const everyone: Node[] = [...old.nodes, joining];
    const engines = engineFor(everyone, now, new Set<string>([bytesToHex(gone.identityKey)]));
    const members: Member[] = everyone.map((n) => ({ id: bytesToHex(n.identityKey), endpoint: n.name, transportKey: bytesToHex(n.transportKey) }));
    const params = { oldRoster: old.roster, epoch: 2, session: session(2), next: { threshold: 3, members: next } };
    const live = next.map((n) => engines.get(bytesToHex(n.identityKey))!);
    for (const n of next) {
      const shares = old.keys.get(bytesToHex(n.nodeId));
      await engines.get(bytesToHex(n.identityKey))!.start(HANDOFF_KIND, {
        id: 'handoff-2', epoch: 2, members, phaseTimeoutMs: 30_000, params: { ...params, ...(shares ? { shares } : {}) } as unknown as Record<string, unknown>,
      });
    }
    const run = async (ticks: number, stepMs: number) => {
      for (let i = 0; i < ticks; i++) {
        for (const e of live) await e.tick();
        t += stepMs;
      }
    };
    // Before a third of the phase (10 s) the new members still wait for the missing dealer.
    await run(8, 1000);
    for (const e of live) expect(e.get('handoff-2')).toMatchObject({ status: 'RUNNING', phase: 'deal' });
    await run(12, 500);
    const cpk = bytesToHex(old.roster.committeeKey);
    const newKeys = [];
    for (const e of live) {
      const c = e.get('handoff-2')!;
      expect([c.status, c.error]).toEqual(['COMPLETE', '']);
      const keys = handoffKeys(e.state<HandoffState>('handoff-2'))!;
      expect(bytesToHex(keys.signing.groupPublicKey)).toBe(cpk);
      expect(bytesToHex(keys.derivation.groupPublicKey)).toBe(bytesToHex(old.roster.masterPublicKey));
      newKeys.push(keys.signing);
    }
    const message = utf8('the committee without the member that was down');
    expect(schnorr.verify(frostSign(newKeys.slice(0, 3), message), message, old.roster.committeeKey)).toBe(true);
  });
});
