// Genesis across real node processes on loopback, each with its own SQLite file: election, FROST DKG
// for both secrets, and the roster certificate; restarts; crashes during the DKG; secrets at rest.
// (Genesis with n = 7, k = 5 is checked in test/keys/contract-keys-7.e2e.test.ts, on its devnet.)
import { jest } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import Database from 'better-sqlite3';
import { Devnet, sleep, type CommitteeView } from '../../src/devnet/devnet.js';
import { decodeRoster, rosterCertificateMessage } from '../../src/committee/roster.js';
import { allAuditEntries, verifyAuditChain } from '../../src/audit/log.js';
import { readNodeSecrets, secretNeedles } from '../helpers/devnet-secrets.js';
import { tempDir } from '../helpers/node.js';

jest.setTimeout(180_000);

function expectConsistentShares(view: CommitteeView, secrets: Awaited<ReturnType<typeof readNodeSecrets>>[]): void {
  for (const s of secrets) {
    const member = view.members.find((m) => bytesToHex(m.shareIdentifier) === s.derivation!.identifier)!;
    expect(member).toBeDefined();
    const S = secp256k1.Point.BASE.multiply(BigInt('0x' + bytesToHex(s.derivation!.signingShare)));
    expect(bytesToHex(S.toBytes(true))).toBe(bytesToHex(member.derivationVerifyingShare));
    const Z = secp256k1.Point.BASE.multiply(BigInt('0x' + bytesToHex(s.signing!.signingShare)));
    expect(bytesToHex(Z.toBytes(true))).toBe(bytesToHex(member.signingVerifyingShare));
  }
}

describe('genesis with n = 4, k = 3', () => {
  let devnet: Devnet;
  let view: CommitteeView;

  beforeAll(async () => {
    devnet = new Devnet({ dir: tempDir('genesis4'), nodes: 4, threshold: 3 });
    view = await devnet.genesis();
  });
  afterAll(async () => { await devnet.stop(); });

  test('every member reports the same epoch, MPK, CPK and roster certificate', async () => {
    expect(view.epoch).toBe(1);
    expect(view.threshold).toBe(3);
    expect(view.members).toHaveLength(4);
    expect(view.committeeKey).toHaveLength(32);
    expect(view.masterPublicKey).toHaveLength(33);
    const all = await Promise.all(devnet.nodes.map((_, i) => devnet.committee(i)));
    for (const v of all) {
      expect(bytesToHex(v.committeeKey)).toBe(bytesToHex(view.committeeKey));
      expect(bytesToHex(v.masterPublicKey)).toBe(bytesToHex(view.masterPublicKey));
      expect(bytesToHex(v.certificates[0]!.rosterBytes)).toBe(bytesToHex(view.certificates[0]!.rosterBytes));
    }
  });

  test('the roster certificate verifies with a stock BIP340 verifier and describes the committee', () => {
    const cert = view.certificates[0]!;
    const msg = rosterCertificateMessage(1, cert.rosterBytes);
    expect(schnorr.verify(cert.signature, msg, view.committeeKey)).toBe(true);
    const tampered = Uint8Array.from(cert.rosterBytes);
    tampered[tampered.length - 1]! ^= 1;
    expect(schnorr.verify(cert.signature, rosterCertificateMessage(1, tampered), view.committeeKey)).toBe(false);
    const roster = decodeRoster(cert.rosterBytes);
    expect(bytesToHex(roster.committeeKey)).toBe(bytesToHex(view.committeeKey));
    expect(roster.members.map((m) => m.endpoint).sort()).toEqual(devnet.nodes.map((n) => n.endpoint).sort());
  });

  test('a snapshot for the same epoch cannot be voted twice, and genesis does not run again', async () => {
    const again = await devnet.genesisSnapshot(1, 4, 3);
    await expect(devnet.operatorCall(1, 'SubmitGenesis', { snapshot: again, forward: false })).rejects.toThrow(/ErrAlreadyVoted/);
    const next = await devnet.genesisSnapshot(2, 4, 3);
    await expect(devnet.operatorCall(1, 'SubmitGenesis', { snapshot: next, forward: false })).rejects.toThrow(/ErrCommitteeActive/);
  });

  test('restarted with the same database and unseal shares, every node comes back with the same committee', async () => {
    await devnet.stop();
    await Promise.all(devnet.nodes.map((_, i) => devnet.startNode(i)));
    const sealed = await devnet.status(0);
    expect(sealed.sealed).toBe(true);
    await Promise.all(devnet.nodes.map((_, i) => devnet.unseal(i)));
    const again = await devnet.checkCommittee();
    expect(bytesToHex(again.certificates[0]!.signature)).toBe(bytesToHex(view.certificates[0]!.signature));
    expect(bytesToHex(again.masterPublicKey)).toBe(bytesToHex(view.masterPublicKey));
  });

  test('no secret reaches the database files or the logs; shares match the verifying shares', async () => {
    await devnet.stop();
    const secrets = await Promise.all(devnet.nodes.map((n) => readNodeSecrets(n, 1)));
    expectConsistentShares(view, secrets);
    const needles = secrets.flatMap(secretNeedles);
    expect(needles.length).toBe(4 * 5 * 3);
    for (const n of devnet.nodes) {
      const files = fs.readdirSync(n.dir).filter((f) => f !== 'unseal-shares.dev.json');
      expect(files).toEqual(expect.arrayContaining(['gatekeeper.sqlite', 'node.log']));
      for (const f of files) {
        const content = fs.readFileSync(path.join(n.dir, f));
        for (const needle of needles) {
          if (content.includes(needle.bytes)) throw new Error(`${n.name}/${f} contains the ${needle.name}`);
        }
      }
    }
  });

  test('every node\'s audit log is an intact hash chain that recorded the ceremony', () => {
    for (const n of devnet.nodes) {
      const db = new Database(path.join(n.dir, 'gatekeeper.sqlite'), { readonly: true });
      const entries = [...allAuditEntries(db)];
      db.close();
      expect(verifyAuditChain(entries)).toMatchObject({ ok: true });
      expect(entries.map((e) => e.action)).toEqual(expect.arrayContaining(['genesis.accepted', 'genesis.round2', 'genesis.keyed', 'genesis.complete']));
    }
  });
});

describe('a member killed during the DKG (n = 3, k = 2)', () => {
  /**
   * Three unsealed nodes; the snapshot goes to node 3 first, which is killed once it has accepted (its
   * vote and round-1 state are in its database) and before the others hear of the round, so nothing of
   * it reaches them: they wait for node 3 whatever the machine's load.
   */
  async function setUp(phaseTimeoutMs: number): Promise<Devnet> {
    const devnet = new Devnet({ dir: tempDir('kill'), nodes: 3, threshold: 2, phaseTimeoutMs });
    try {
      await devnet.create();
      await Promise.all(devnet.nodes.map((_, i) => devnet.startNode(i)));
      await Promise.all(devnet.nodes.map((_, i) => devnet.unseal(i)));
      const snapshot = await devnet.genesisSnapshot(1, 3, 2);
      await devnet.operatorCall(2, 'SubmitGenesis', { snapshot, forward: false });
      devnet.killNode(2);
      await Promise.all([0, 1].map((i) => devnet.operatorCall(i, 'SubmitGenesis', { snapshot, forward: false })));
      return devnet;
    } catch (err) {
      await devnet.stop();
      throw err;
    }
  }

  test('restarted before the deadline, it resumes from SQLite and the ceremony completes with consistent shares', async () => {
    // The deadline only bounds the wait for the restart: the ceremony completes as soon as node 3 is back.
    const devnet = await setUp(60_000);
    try {
      await sleep(1000);
      const waiting = await Promise.all([0, 1].map((i) => devnet.status(i)));
      for (const s of waiting) expect(s.ceremonyState).toBe('ROUND1');
      await devnet.startNode(2);
      await devnet.unseal(2);
      await devnet.waitForCommittee(60_000);
      const view = await devnet.checkCommittee();
      await devnet.stop();
      expectConsistentShares(view, await Promise.all(devnet.nodes.map((n) => readNodeSecrets(n, 1))));
    } finally {
      await devnet.stop();
    }
  });

  test('left down, the ceremony aborts at its deadline on every member, naming the missing one; restarted, it aborts too', async () => {
    // Short: the live members wait for node 3 whatever their speed, so the deadline need not cover a loaded machine.
    const devnet = await setUp(3000);
    try {
      const deadline = Date.now() + 60_000;
      let states = await Promise.all([0, 1].map((i) => devnet.status(i)));
      while (!states.every((s) => s.ceremonyState === 'ABORTED') && Date.now() < deadline) {
        await sleep(200);
        states = await Promise.all([0, 1].map((i) => devnet.status(i)));
      }
      for (const s of states) {
        expect(s.ceremonyState).toBe('ABORTED');
        expect(s.ceremonyError).toMatch(/missed its deadline/);
      }
      await expect(devnet.committee(0)).rejects.toThrow(/no committee/);
      await devnet.startNode(2);
      await devnet.unseal(2);
      let s3 = await devnet.status(2);
      const killedId = bytesToHex(s3.nodeId);
      for (const s of states) {
        expect(s.ceremonyError).toMatch(/still waiting for /);
        expect(s.ceremonyError.split('still waiting for ')[1]).toContain(killedId);
      }
      while (s3.ceremonyState !== 'ABORTED' && Date.now() < deadline) { await sleep(200); s3 = await devnet.status(2); }
      expect(s3.ceremonyState).toBe('ABORTED');
      // The committee can still be formed afterwards with a new snapshot for a later epoch.
      const snapshot = await devnet.genesisSnapshot(2, 3, 2, 60_000);
      const res = await devnet.operatorCall<{ forwardErrors: string[] }>(0, 'SubmitGenesis', { snapshot, forward: true });
      expect(res.forwardErrors).toEqual([]);
      await devnet.waitForCommittee(60_000);
      expect((await devnet.checkCommittee()).epoch).toBe(2);
    } finally {
      await devnet.stop();
    }
  });
});
