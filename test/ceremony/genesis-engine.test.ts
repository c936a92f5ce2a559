// Genesis's DKG as a protocol of the ceremony engine, in one process: four engines (real SQLite files,
// real signatures, HPKE and FROST) behind an in-memory transport that can refuse connections or rewrite
// what a member serves, on a fake clock. The rewrites are what a malicious member would send, signed
// with its own identity key: a bad round-2 share, a false complaint, a confirmation of another roster.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { openDatabase } from '../../src/store/database.js';
import { AuditLog, allAuditEntries } from '../../src/audit/log.js';
import { SecretBox } from '../../src/node/keystore.js';
import { signTagged } from '../../src/crypto/identity.js';
import { sealToPeer } from '../../src/crypto/hpke.js';
import { encodeDkgRound2, identifierForPosition, publicPackage } from '../../src/crypto/frost.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { CeremonyEngine, ceremonyMessageBytes, sealContext } from '../../src/ceremony/engine.js';
import { PeerUnavailable, type WireMessage } from '../../src/ceremony/transport.js';
import { discloseSharedSecret, splitSealed } from '../../src/ceremony/complaint.js';
import { genesisKeys, genesisMembers, genesisProtocol, type GenesisState } from '../../src/ceremony/genesis/protocol.js';
import { decodeOutcome, encodeOutcome } from '../../src/ceremony/genesis/outcome.js';
import { GENESIS_KIND } from '../../src/ceremony/genesis/messages.js';
import type { RosterEntryJson } from '../../src/store/ceremony-store.js';
import type { Db } from '../../src/store/database.js';
import { frostSign, makeNode, type Node } from './lifecycle.js';

const ID = 'genesis-1';

interface Peer { node: Node; id: string; db: Db; box: SecretBox; engine: CeremonyEngine }

class Net {
  t = 1_000_000;
  readonly peers = new Map<string, Peer>();
  readonly down = new Set<string>();
  /** Rewrites what `server` serves `caller` (a malicious member's own answer). */
  rewrite: ((m: WireMessage, caller: string) => Promise<WireMessage>) | undefined;
  readonly roster: RosterEntryJson[];

  constructor(readonly nodes: Node[]) {
    this.roster = nodes.map((n, i) => ({
      nodeId: bytesToHex(n.nodeId), identityKey: bytesToHex(n.identityKey), transportKey: bytesToHex(n.transportKey),
      endpoint: n.name, stake: '100', shareIdentifier: identifierForPosition(i),
    }));
    for (const n of nodes) {
      const db = openDatabase(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gk-genesis-engine-')), 'db.sqlite'));
      const p = { node: n, id: bytesToHex(n.identityKey), db, box: new SecretBox(new Uint8Array(randomBytes(32))) };
      this.peers.set(p.id, { ...p, engine: this.engine(p) });
    }
  }

  private engine(p: Omit<Peer, 'engine'>): CeremonyEngine {
    const now = () => this.t;
    const engine = new CeremonyEngine({
      db: p.db, box: p.box, now, audit: new AuditLog(p.db, now), log: { warn: () => undefined },
      self: { id: p.id, identitySecret: p.node.identitySecret, transportSecret: p.node.transportSecret, transportKey: p.node.transportKey },
      transport: {
        fetch: async (peer, req) => {
          if (this.down.has(peer.id)) throw new PeerUnavailable('connection refused');
          const m = await this.peers.get(peer.id)!.engine.serve(req, p.id, 0);
          return this.rewrite ? this.rewrite(m, p.id) : m;
        },
      },
    });
    engine.register(genesisProtocol({ transportSecret: p.node.transportSecret }));
    return engine;
  }

  async start(only?: Peer[]): Promise<void> {
    for (const p of only ?? this.peers.values()) {
      await p.engine.start(GENESIS_KIND, { id: ID, epoch: 1, members: genesisMembers(this.roster), phaseTimeoutMs: 10_000, params: { threshold: 3, roster: this.roster } });
    }
  }

  restart(p: Peer): Peer {
    p.engine.close();
    const again = { ...p, engine: this.engine(p) };
    this.peers.set(p.id, again);
    return again;
  }

  async tick(rounds: number): Promise<void> {
    for (let i = 0; i < rounds; i++) {
      for (const p of this.peers.values()) if (!this.down.has(p.id)) await p.engine.tick();
      this.t += 250;
    }
  }

  get list(): Peer[] { return [...this.peers.values()]; }
  nodeIdOf(p: Peer): string { return bytesToHex(p.node.nodeId); }
}

const fourNodes = () => [0, 1, 2, 3].map((i) => makeNode(`m${i}`));

/** The culprit's own signature on a rewritten message (the engine's 'ceremony-message' tag). */
const resign = (culprit: Peer, m: WireMessage, body: Uint8Array): WireMessage =>
  ({ ...m, body, signature: signTagged(culprit.node.identitySecret, 'ceremony-message', ceremonyMessageBytes({ ...m, body })) });

describe('genesis on the ceremony engine', () => {
  test('a 4-member genesis completes with the same MPK and CPK everywhere; the shares sign under CPK', async () => {
    const net = new Net(fourNodes());
    await net.start();
    await net.tick(8);
    const keys = net.list.map((p) => {
      const c = p.engine.get(ID)!;
      expect(c.error).toBe('');
      expect(c.status).toBe('COMPLETE');
      return genesisKeys(p.engine.state<GenesisState>(ID))!;
    });
    const mpk = bytesToHex(keys[0]!.derivation.groupPublicKey);
    const cpk = bytesToHex(keys[0]!.signing.groupPublicKey);
    for (const k of keys) {
      expect(bytesToHex(k.derivation.groupPublicKey)).toBe(mpk);
      expect(bytesToHex(k.signing.groupPublicKey)).toBe(cpk);
      // every member's share matches the verifying share the others computed for it
      const pub = publicPackage(keys[0]!.signing);
      expect(bytesToHex(secp256k1.Point.BASE.multiply(BigInt('0x' + bytesToHex(k.signing.signingShare))).toBytes(true))).toBe(bytesToHex(pub.verifyingShares[k.signing.identifier]!));
    }
    const message = utf8('signed by the genesis committee');
    expect(schnorr.verify(frostSign(keys.slice(1).map((k) => k.signing), message), message, keys[0]!.signing.groupPublicKey)).toBe(true);
    // Same roster hash confirmed by all; the engine audited every phase under genesis-dkg.*.
    const hashes = new Set(net.list.map((p) => p.engine.state<GenesisState>(ID).rosterHash));
    expect(hashes.size).toBe(1);
    const actions = [...allAuditEntries(net.list[0]!.db)].map((e) => e.action);
    expect(actions).toEqual(['genesis-dkg.started', 'genesis-dkg.phase', 'genesis-dkg.phase', 'genesis-dkg.complete']);
    // scrubState drops the key packages once the node stored them elsewhere.
    net.list[0]!.engine.scrubState(ID);
    expect(net.list[0]!.engine.state<GenesisState>(ID).keys).toBeUndefined();
  });

  test.each([
    ['a share off its committed polynomial', 'wrong-share', 'the share does not match the sender\'s commitments'],
    ['a ciphertext that does not open', 'garbage', 'the signed ciphertext does not open under the proven DH value'],
  ])('one bad round-2 message (%s): every member aborts with ErrDealerDisqualified naming the culprit', async (_what, kind, reason) => {
    const net = new Net(fourNodes());
    const [victim, , , culprit] = net.list as [Peer, Peer, Peer, Peer];
    let rewritten = 0;
    net.rewrite = async (m, caller) => {
      if (m.phase !== 'round2' || m.sender !== culprit.id || caller !== victim.id) return m;
      const wrong = () => encodeDkgRound2({ sender: identifierForPosition(3), recipient: identifierForPosition(0), signingShare: secp256k1.utils.randomSecretKey() });
      const body = kind === 'garbage'
        ? await sealToPeer(net.list[1]!.node.transportKey, sealContext(m), utf8('not for the victim'))
        : await sealToPeer(victim.node.transportKey, sealContext(m), utf8(JSON.stringify({ derivation: wrong(), signing: wrong() })));
      rewritten++;
      return resign(culprit, m, body);
    };
    await net.start();
    await net.tick(10);
    expect(rewritten).toBeGreaterThan(0);
    for (const p of net.list) {
      const c = p.engine.get(ID)!;
      expect(c.status).toBe('ABORTED');
      expect(c.error).toMatch(new RegExp(`^ErrDealerDisqualified: member ${net.nodeIdOf(culprit)} sent member ${net.nodeIdOf(victim)} a bad round-2 share`));
      expect(c.error).toContain(reason);
      expect(c.culprit).toBe(culprit.id);
      // an aborted genesis keeps no DKG secret in its state
      const s = p.engine.state<GenesisState>(ID);
      expect(s.keys).toBeUndefined();
      expect(s.local).toBeUndefined();
    }
    const victimAudit = [...allAuditEntries(victim.db)].find((e) => e.action === 'genesis.complaint')!;
    expect(JSON.parse(victimAudit.detailJson)).toMatchObject({ culprit: culprit.id, evidence: { accusedNodeId: net.nodeIdOf(culprit), dhPoint: expect.any(String) } });
    const blame = [...allAuditEntries(net.list[1]!.db)].find((e) => e.action === 'genesis.blame')!;
    expect(JSON.parse(blame.detailJson)).toMatchObject({ culprit: culprit.id, evidence: { reporter: net.nodeIdOf(victim), sealed: expect.any(String) } });
  });

  test('a false complaint names the accuser (ErrFalseComplaint); a confirmation of another roster names its sender (ErrRosterMismatch)', async () => {
    const net = new Net(fourNodes());
    const [accuser, honest, other, liar] = net.list as [Peer, Peer, Peer, Peer];
    net.rewrite = async (m, caller) => {
      if (m.phase !== 'outcome') return m;
      if (m.sender === accuser.id && caller === honest.id) {
        // The accuser blames `other` with other's real, honest round-1 and round-2 messages to it.
        const round1 = accuser.engine.store.message(ID, 'round1', other.id, accuser.id)!;
        const round2 = accuser.engine.store.message(ID, 'round2', other.id, accuser.id)!;
        const disclosure = discloseSharedSecret(accuser.node.transportSecret, accuser.node.transportKey, splitSealed(round2.body).enc);
        return resign(accuser, m, encodeOutcome({ complaint: { accused: other.id, round1, round2, disclosure } }));
      }
      if (m.sender === liar.id && caller === other.id) return resign(liar, m, encodeOutcome({ rosterHash: sha256(utf8('another roster')) }));
      return m;
    };
    await net.start();
    await net.tick(10);
    expect(honest.engine.get(ID)!.error).toMatch(new RegExp(`^ErrFalseComplaint: member ${net.nodeIdOf(accuser)} made a complaint against ${net.nodeIdOf(other)} that does not hold`));
    expect(honest.engine.get(ID)!.culprit).toBe(accuser.id);
    expect(other.engine.get(ID)!.error).toMatch(new RegExp(`^ErrRosterMismatch: member ${net.nodeIdOf(liar)} confirmed another roster`));
    // Members that were not lied to saw every confirmation: the protocol's own verdict is complete.
    expect(accuser.engine.get(ID)!.status).toBe('COMPLETE');
    expect('rosterHash' in decodeOutcome(accuser.engine.store.message(ID, 'outcome', accuser.id, '*')!.body)).toBe(true);
  });

  test('a member that never answers is named at the round-1 deadline', async () => {
    const net = new Net(fourNodes());
    const missing = net.list[2]!;
    net.down.add(missing.id);
    await net.start(net.list.filter((p) => p !== missing));
    await net.tick(6);
    for (const p of net.list) if (p !== missing) expect(p.engine.get(ID)!.phase).toBe('round1');
    net.t += 10_000;
    await net.tick(1);
    for (const p of net.list) {
      if (p === missing) continue;
      const c = p.engine.get(ID)!;
      expect(c.status).toBe('ABORTED');
      expect(c.error).toBe(`ErrTimeoutReached: the round1 phase missed its deadline (10000 ms); still waiting for ${net.nodeIdOf(missing)}`);
    }
  });

  test('a member restarted in round 2 resumes from SQLite and genesis completes with the same keys', async () => {
    const net = new Net(fourNodes());
    const restarted = net.list[1]!;
    await net.start();
    await net.tick(1);
    expect(restarted.engine.get(ID)!.phase).toBe('round2');
    net.down.add(restarted.id);
    await net.tick(2);
    const again = net.restart(restarted);
    net.down.delete(restarted.id);
    await net.tick(8);
    const cpks = net.list.map((p) => {
      expect(p.engine.get(ID)!.status).toBe('COMPLETE');
      return bytesToHex(genesisKeys(p.engine.state<GenesisState>(ID))!.signing.groupPublicKey);
    });
    expect(new Set(cpks).size).toBe(1);
    expect(again.engine.get(ID)!.status).toBe('COMPLETE');
  });
});
