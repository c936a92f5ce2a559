// The committee life cycle on real node processes (issue 11): genesis 4 (k=3); an election round that
// aborts at its deadline (a new candidate is down) while the old committee keeps serving; 4 → 5 (k=4)
// with a fresh member and a candidate that is not elected; 5 → 4 (k=3) with a genesis member removed;
// a refresh of the same roster. After each: every member reports genesis's CPK and MPK, the contract key
// certified at genesis is still served and verifies, and a worker provisioned from the new committee
// gets the same pk_c (the development worker process at genesis, the worker SDK in this process after).
// The removed member's old shares are gone from its database, and a partial from its old share fails
// against the new verifying shares.
import { jest } from '@jest/globals';
import path from 'node:path';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { Devnet, DEMO_CONTRACT, DEMO_MEASUREMENTS, DEMO_POLICY_ID, sleep, type CommitteeView } from '../../src/devnet/devnet.js';
import { generateIdentityKey } from '../../src/crypto/identity.js';
import { generateTransportKeyPair } from '../../src/crypto/hpke.js';
import { provisionContractKey, type WorkerKeys } from '../../src/sdk/worker.js';
import { decodeRoster } from '../../src/committee/roster.js';
import { verifyRosterChain } from '../../src/sdk/client.js';
import { evaluatePartial, verifyPartial } from '../../src/crypto/contract-key.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { openDatabase } from '../../src/store/database.js';
import { SecretBox } from '../../src/node/keystore.js';
import { readNodeSecrets } from '../helpers/devnet-secrets.js';
import { tempDir } from '../helpers/node.js';

jest.setTimeout(240_000);

const CID = utf8(DEMO_CONTRACT);
const hex = bytesToHex;

describe('committee life cycle: 4 (k=3) → 5 (k=4) → 4 (k=3, a member removed) → refresh', () => {
  let devnet: Devnet;
  let genesis: CommitteeView;
  let pkc: string;

  beforeAll(async () => {
    devnet = new Devnet({ dir: tempDir('handoff-e2e'), nodes: 4, threshold: 3, phaseTimeoutMs: 20_000 });
    genesis = await devnet.genesis();
    await devnet.registerDemoContract();
    pkc = (await devnet.startWorker(genesis.committeeKey, 0)).publicKey;
    await devnet.stopWorker();
  });

  afterAll(async () => {
    await devnet?.stop();
  });

  /** The contract key certified at genesis, served by node i and verified under the pinned CPK (a new member may need a sync first). */
  const servedKey = (i: number): Promise<string> => devnet.servedContractKey(i, genesis.committeeKey);

  async function expectCommittee(members: number[], epoch: number, k: number): Promise<CommitteeView> {
    const views = await Promise.all(members.map((i) => devnet.committee(i)));
    for (const v of views) {
      expect(v.epoch).toBe(epoch);
      expect(v.threshold).toBe(k);
      expect(v.members).toHaveLength(members.length);
      expect(hex(v.committeeKey)).toBe(hex(genesis.committeeKey));
      expect(hex(v.masterPublicKey)).toBe(hex(genesis.masterPublicKey));
      expect(hex(v.certificates[v.certificates.length - 1]!.signature)).toBe(hex(views[0]!.certificates[views[0]!.certificates.length - 1]!.signature));
      // The client SDK's check: every link of the chain from genesis, under the pinned CPK.
      expect(verifyRosterChain(v.certificates, genesis.committeeKey).epoch).toBe(epoch);
    }
    for (const i of members) {
      expect((await devnet.status(i)).member).toBe(true);
      expect(await servedKey(i)).toBe(pkc);
    }
    return views[0]!;
  }

  /** A fresh worker (the worker SDK in this process, attested by the development PKI) provisions version 1 through node i. */
  async function workerFrom(i: number): Promise<void> {
    const s = generateIdentityKey();
    const keys: WorkerKeys = { hpke: generateTransportKeyPair(), signing: { secretKey: s.secretKey, publicKey: s.publicKey } };
    const got = await provisionContractKey({ client: devnet.nodes[i]!.client, pinnedCommitteeKey: genesis.committeeKey, contractId: CID, version: 1, keys, makeQuote });
    expect(hex(got.publicKey)).toBe(pkc);
  }
  const makeQuote = async (reportData: Uint8Array) => ({
    quote: devnet.pki!.buildSgxQuoteV3({ mrEnclave: hexToBytes(DEMO_MEASUREMENTS.mrEnclave), mrSigner: hexToBytes(DEMO_MEASUREMENTS.mrSigner),
      isvProdId: DEMO_MEASUREMENTS.isvProdId, isvSvn: DEMO_MEASUREMENTS.isvSvn, reportData }),
    collateralJson: JSON.stringify(await devnet.pki!.collateral({ tee: 'SGX' })),
  });

  async function registerOn(i: number): Promise<void> {
    await devnet.operatorCall(i, 'SetReleasePolicy', devnet.signPolicy(devnet.demoPolicy()));
    await devnet.operatorCall(i, 'RegisterContract', { contractId: CID, namespace: 'demo', policyId: DEMO_POLICY_ID });
  }

  test('an election round that cannot finish aborts at its deadline; the old committee serves during and after it', async () => {
    const fresh = await devnet.addNode();
    await registerOn(fresh);
    const snapshot = await devnet.electionSnapshot(2, [0, 1, 2, 3, fresh], 5, 4, { phaseTimeoutMs: 8000 });
    await devnet.stopNode(fresh);
    // To each old member, not forwarded: the new member is down and never hears of the round.
    await Promise.all([0, 1, 2, 3].map((i) => devnet.submitElection(i, snapshot, false)));
    // During the hand-off (it waits for the new member's acknowledgement): keys served, a worker provisioned.
    expect((await devnet.status(2)).ceremonyState).toBe('HANDOFF');
    expect(await servedKey(1)).toBe(pkc);
    await workerFrom(2);
    expect((await devnet.status(2)).ceremonyState).toBe('HANDOFF');
    // One vote per epoch: another roster for epoch 2 is refused by a node that took this one.
    const other = await devnet.electionSnapshot(2, [0, 1, 2, 3], 4, 3);
    await expect(devnet.submitElection(1, other, false)).rejects.toThrow(/ErrAlreadyVoted/);
    const states = await devnet.waitForRound(2, [0, 1, 2, 3], 20_000, 'ABORTED');
    expect(states[0]!.ceremonyError).toMatch(/ErrTimeoutReached/);
    expect(await servedKey(3)).toBe(pkc);
    await workerFrom(3);
    await expectCommittee([0, 1, 2, 3], 1, 3);
  });

  test('4 → 5 (k=4): a fresh member joins, a candidate that is not elected only observes', async () => {
    await devnet.startNode(4);
    await devnet.unseal(4);
    const observer = await devnet.addNode();
    const snapshot = await devnet.electionSnapshot(3, [0, 1, 2, 3, 4, observer], 5, 4, { stakes: { [observer]: 1 } });
    // Forwarded to every member and candidate (a member just restarted may be probed with a short
    // deadline and be reported although it took the snapshot: the round completing shows it did).
    await devnet.submitElection(0, snapshot);
    expect(await servedKey(2)).toBe(pkc); // during the hand-off
    await devnet.waitForRound(3, [0, 1, 2, 3, 4, observer], 30_000);
    const view = await expectCommittee([0, 1, 2, 3, 4], 3, 4);
    expect(view.members.map((m) => m.endpoint).sort()).toEqual([0, 1, 2, 3, 4].map((i) => devnet.nodes[i]!.endpoint).sort());
    const o = await devnet.status(observer);
    expect(o.member).toBe(false);
    expect(o.epoch).toBe(3);
    await workerFrom(4);
  });

  test('5 → 4 (k=3) without genesis member node-2: its old share is erased and useless', async () => {
    const removed = devnet.nodes[1]!;
    const before = await readNodeSecrets(removed, 3);
    expect(before.derivation).toBeDefined();
    const snapshot = await devnet.electionSnapshot(4, [0, 2, 3, 4], 4, 3);
    const res = await devnet.submitElection(0, snapshot);
    expect(res.forwardErrors).toEqual([]);
    // The observer of epoch 3 is neither a member nor a candidate now: it refuses the round.
    const notInRound = devnet.submitElection(5, snapshot, false).then(() => 'accepted', (err: Error) => err.message);
    await devnet.waitForRound(4, [0, 1, 2, 3, 4], 30_000);
    expect(await notInRound).toMatch(/ErrNotInRound/);
    const view = await expectCommittee([0, 2, 3, 4], 4, 3);
    expect(view.members.map((m) => m.endpoint)).not.toContain(removed.endpoint);
    expect((await devnet.status(1)).member).toBe(false);
    // A partial from the removed member's old share verifies against none of the new verifying shares.
    const partial = evaluatePartial(before.derivation!, CID, 1);
    const old = decodeRoster((await devnet.committee(0)).certificates.find((c) => c.epoch === 3)!.rosterBytes);
    expect(verifyPartial(partial, old.members.find((m) => hex(m.shareIdentifier) === before.derivation!.identifier)!.derivationVerifyingShare, CID, 1)).toBe(true);
    for (const m of view.members) expect(verifyPartial({ ...partial, identifier: hex(m.shareIdentifier) }, m.derivationVerifyingShare, CID, 1)).toBe(false);
    await workerFrom(2);
  });

  test('a refresh of the same roster changes every share, not the keys; the same request again changes nothing', async () => {
    const before = await devnet.committee(0);
    const first = await devnet.operatorCall<{ snapshotHash: Uint8Array }>(0, 'RefreshShares', { epoch: 5 });
    await devnet.refresh(5, [0, 2, 3, 4]);
    const again = await devnet.operatorCall<{ snapshotHash: Uint8Array }>(0, 'RefreshShares', { epoch: 5 });
    expect(hex(again.snapshotHash)).toBe(hex(first.snapshotHash));
    await devnet.waitForRound(5, [0, 2, 3, 4], 30_000);
    const view = await expectCommittee([0, 2, 3, 4], 5, 3);
    expect(view.members.map((m) => hex(m.nodeId))).toEqual(before.members.map((m) => hex(m.nodeId)));
    for (const [i, m] of view.members.entries()) expect(hex(m.derivationVerifyingShare)).not.toBe(hex(before.members[i]!.derivationVerifyingShare));
    await workerFrom(3);
  });

  test('no old share is left in any database: the removed member holds none, members only the newest', async () => {
    await devnet.stop();
    for (const [i, n] of devnet.nodes.entries()) {
      for (let epoch = 1; epoch <= 5; epoch++) {
        const s = await readNodeSecrets(n, epoch);
        const expected = epoch === 5 && [0, 2, 3, 4].includes(i);
        expect([i, epoch, s.derivation !== undefined]).toEqual([i, epoch, expected]);
      }
      // The hand-off states (sealed in engine_ceremonies) hold no share, sub-share or combined key.
      const { dataKey } = await readNodeSecrets(n, 1);
      const db = openDatabase(path.join(n.dir, 'gatekeeper.sqlite'));
      try {
        const box = new SecretBox(dataKey);
        const rows = db.prepare("SELECT id, sealed_state FROM engine_ceremonies WHERE kind = 'handoff'").all() as { id: string; sealed_state: Buffer }[];
        if (i !== 5) expect(rows.length).toBeGreaterThan(0);
        for (const r of rows) {
          const state = JSON.parse(new TextDecoder().decode(box.open('ceremony-state', r.id, new Uint8Array(r.sealed_state)))) as Record<string, unknown>;
          expect([r.id, state.shares, state.keys, state.held]).toEqual([r.id, undefined, undefined, undefined]);
        }
      } finally {
        db.close();
      }
    }
  });
});
