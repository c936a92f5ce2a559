// Genesis across real node processes on loopback, each with its own SQLite file: election, FROST DKG
// for both secrets, and the roster certificate; restarts; crashes during the DKG; secrets at rest.
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

describe('genesis with n = 7, k = 5', () => {
  test('every member agrees and the certificate verifies', async () => {
    const devnet = new Devnet({ dir: tempDir('genesis7'), nodes: 7, threshold: 5 });
    try {
      const view = await devnet.genesis();
      expect(view.members).toHaveLength(7);
      expect(view.threshold).toBe(5);
      const cert = view.certificates[0]!;
      expect(schnorr.verify(cert.signature, rosterCertificateMessage(1, cert.rosterBytes), view.committeeKey)).toBe(true);
    } finally {
      await devnet.stop();
    }
  });
});

describe('a member killed during the DKG', () => {
  async function setUp(phaseTimeoutMs: number): Promise<Devnet> {
    const devnet = new Devnet({ dir: tempDir('kill'), nodes: 4, threshold: 3, phaseTimeoutMs });
    await devnet.create();
    await Promise.all(devnet.nodes.map((_, i) => devnet.startNode(i)));
    await Promise.all(devnet.nodes.map((_, i) => devnet.unseal(i)));
    const snapshot = await devnet.genesisSnapshot(1, 4, 3);
    // Node 4 takes the snapshot first (its vote and round-1 package persisted) and is killed before the
    // others have it: it cannot have gone past round 1, whatever the machine's load.
    await devnet.operatorCall(3, 'SubmitGenesis', { snapshot, forward: false });
    devnet.killNode(3);
    await Promise.all([0, 1, 2].map((i) => devnet.operatorCall(i, 'SubmitGenesis', { snapshot, forward: false })));
    return devnet;
  }

  test('restarted before the deadline, it resumes from SQLite and the ceremony completes with consistent shares', async () => {
    const devnet = await setUp(20_000);
    try {
      await sleep(1500);
      const waiting = await Promise.all([0, 1, 2].map((i) => devnet.status(i)));
      for (const s of waiting) expect(['ROUND1', 'ROUND2']).toContain(s.ceremonyState);
      await devnet.startNode(3);
      await devnet.unseal(3);
      await devnet.waitForCommittee(60_000);
      const view = await devnet.checkCommittee();
      await devnet.stop();
      expectConsistentShares(view, await Promise.all(devnet.nodes.map((n) => readNodeSecrets(n, 1))));
    } finally {
      await devnet.stop();
    }
  });

  test('left down, the ceremony aborts at its deadline on every member, naming the missing one; restarted, it aborts too', async () => {
    const devnet = await setUp(6000); // long enough for the live members on a loaded machine, short enough to wait for
    try {
      const deadline = Date.now() + 30_000;
      let states = await Promise.all([0, 1, 2].map((i) => devnet.status(i)));
      while (!states.every((s) => s.ceremonyState === 'ABORTED') && Date.now() < deadline) {
        await sleep(250);
        states = await Promise.all([0, 1, 2].map((i) => devnet.status(i)));
      }
      for (const s of states) {
        expect(s.ceremonyState).toBe('ABORTED');
        expect(s.ceremonyError).toMatch(/missed its deadline/);
      }
      await expect(devnet.committee(0)).rejects.toThrow(/no committee/);
      await devnet.startNode(3);
      await devnet.unseal(3);
      let s3 = await devnet.status(3);
      const killedId = bytesToHex(s3.nodeId);
      for (const s of states) {
        expect(s.ceremonyError).toMatch(/still waiting for /);
        expect(s.ceremonyError.split('still waiting for ')[1]).toContain(killedId);
      }
      while (s3.ceremonyState !== 'ABORTED' && Date.now() < deadline) { await sleep(200); s3 = await devnet.status(3); }
      expect(s3.ceremonyState).toBe('ABORTED');
      // The committee can still be formed afterwards with a new snapshot for a later epoch.
      const snapshot = await devnet.genesisSnapshot(2, 4, 3, 30_000);
      const res = await devnet.operatorCall<{ forwardErrors: string[] }>(0, 'SubmitGenesis', { snapshot, forward: true });
      expect(res.forwardErrors).toEqual([]);
      await devnet.waitForCommittee(60_000);
      expect((await devnet.checkCommittee()).epoch).toBe(2);
    } finally {
      await devnet.stop();
    }
  });
});
