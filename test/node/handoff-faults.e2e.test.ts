// Hand-off under faults on real node processes (issue 11 "Must show"): genesis 4 (k=3), then
//  epoch 2, 4 → 4: one dealer serves a dealing with one bad sub-share (well formed, sealed to the victim
//    and signed by the dealer: what a malicious dealer would do). The victim complains, every party names
//    the dealer as excluded, the hand-off completes over the 3 honest dealers with the same CPK and MPK.
//  epoch 3, 4 → 5: the new member is killed once its hand-off has started and left down: every other
//    member aborts at the acknowledge deadline naming it; the old committee serves during and after.
//  epoch 4, 4 → 4 without it: a dealer is killed once it has dealt, the others wait for it (the old
//    committee serving), it is restarted and the hand-off resumes and completes.
// The misbehaviour is injected from outside the dealer's process: a PeerService proxy in front of every
// node (node ids are only known once the nodes exist), of which the one in front of the first dealer in
// roster order rewrites its deal message (no switch in production code).
import { jest } from '@jest/globals';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { bytesToHex, hexToBytes, randomBytes } from '@noble/hashes/utils.js';
import Database from 'better-sqlite3';
import { Devnet, sleep, type CommitteeView } from '../../src/devnet/devnet.js';
import { serviceDefinition, type ServiceName } from '../../src/rpc/proto.js';
import { decodeMessage, encodeMessage } from '../../src/rpc/messages.js';
import { hpkeSeal } from '../../src/crypto/hpke.js';
import { signTagged } from '../../src/crypto/identity.js';
import { concatBytes } from '../../src/crypto/bytes.js';
import { ceremonyMessageBytes } from '../../src/ceremony/engine.js';
import type { WireMessage } from '../../src/ceremony/transport.js';
import { decodeComplaint, decodeDealing, dealingBody, encodeDealing, handoffSetup, subShareInfo, type HandoffSetup } from '../../src/ceremony/handoff/messages.js';
import { verifyHandoffComplaint } from '../../src/ceremony/handoff/acknowledge.js';
import { decodeRoster } from '../../src/committee/roster.js';
import { allAuditEntries, verifyAuditChain } from '../../src/audit/log.js';
import { readNodeSecrets } from '../helpers/devnet-secrets.js';
import { tempDir } from '../helpers/node.js';

jest.setTimeout(240_000);

const hex = bytesToHex;
type Rewrite = (method: string, response: Buffer) => Promise<Buffer>;

/** A byte-level proxy in front of one node; `rewrite` may replace a PeerService response. */
class Proxy {
  private readonly server = new grpc.Server();
  private client: grpc.Client | undefined;
  rewrite: Rewrite | undefined;

  async listen(): Promise<string> {
    // Every service a node serves passes through (workers and clients use the advertised endpoint too).
    for (const service of ['PeerService', 'PublicService', 'WorkerService', 'OperatorService'] as const) this.add(service);
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    return `127.0.0.1:${port}`;
  }

  private add(service: ServiceName): void {
    const raw: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
    const impl: grpc.UntypedServiceImplementation = {};
    for (const [name, m] of Object.entries(serviceDefinition(service))) {
      raw[name] = { ...m, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b } as grpc.MethodDefinition<Buffer, Buffer>;
      impl[name] = (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        if (!this.client) { cb({ code: grpc.status.UNAVAILABLE, details: 'proxy target not set' }); return; }
        this.client.makeUnaryRequest(m.path, (b: Buffer) => b, (b: Buffer) => b, call.request, call.metadata, { deadline: Date.now() + 10_000 }, (err, res) => {
          if (err || !res) { cb(err ?? { code: grpc.status.INTERNAL, details: 'empty response' }); return; }
          if (!this.rewrite || service !== 'PeerService') { cb(null, res); return; }
          this.rewrite(name, res).then((r) => cb(null, r), (e: unknown) => cb({ code: grpc.status.INTERNAL, details: String(e) }));
        });
      };
    }
    this.server.addService(raw as grpc.ServiceDefinition, impl);
  }

  setTarget(endpoint: string): void {
    this.client?.close();
    this.client = new grpc.Client(endpoint, grpc.credentials.createInsecure(), { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1000 });
  }

  async close(): Promise<void> {
    this.client?.close();
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
  }
}

interface NodeKeys { nodeId: Uint8Array; identityKey: Uint8Array; transportKey: Uint8Array }
interface CeremonyStatusView { epoch: number; state: string; phase: string; awaited: string[]; error: string }

describe('hand-off under faults (genesis 4, k = 3)', () => {
  const proxies = Array.from({ length: 5 }, () => new Proxy());
  let devnet: Devnet;
  let genesis: CommitteeView;
  let pkc = '';
  let keys: NodeKeys[] = [];
  /** Node indices of the genesis members in roster order (by node id). */
  let order: number[] = [];
  /** Identity secrets of the genesis nodes (read before they start, as an attacker holding them would). */
  let secrets: Uint8Array[] = [];

  beforeAll(async () => {
    const endpoints = await Promise.all(proxies.map((p) => p.listen()));
    devnet = new Devnet({ dir: tempDir('handoff-faults'), nodes: 4, threshold: 3, phaseTimeoutMs: 20_000, advertise: (i) => endpoints[i]! });
    await devnet.create();
    devnet.nodes.forEach((n, i) => proxies[i]!.setTarget(n.listen));
    secrets = await Promise.all(devnet.nodes.map(async (n) => (await readNodeSecrets(n, 1)).identitySecret));
    genesis = await devnet.genesis();
    keys = await Promise.all(devnet.nodes.map((n) => n.client.call<NodeKeys>('OperatorService', 'Status', {})));
    order = [0, 1, 2, 3].sort((a, b) => Buffer.compare(keys[a]!.nodeId, keys[b]!.nodeId));
    await devnet.registerDemoContract();
    // A worker provisioned once publishes the contract key (certified under CPK) that every later check reads.
    pkc = (await devnet.startWorker(genesis.committeeKey, 0)).publicKey;
    await devnet.stopWorker();
    expect(await servedKey(0)).toBe(pkc);
  });

  afterAll(async () => {
    await devnet?.stop();
    await Promise.all(proxies.map((p) => p.close()));
  });

  /** The contract key certified at genesis, served by node i and verified under the pinned CPK (a new member may need a sync first). */
  const servedKey = (i: number): Promise<string> => devnet.servedContractKey(i, genesis.committeeKey);

  async function expectCommittee(members: number[], epoch: number, k: number): Promise<CommitteeView> {
    const views = await Promise.all(members.map((i) => devnet.committee(i)));
    for (const v of views) {
      expect([v.epoch, v.threshold, v.members.length]).toEqual([epoch, k, members.length]);
      expect(hex(v.committeeKey)).toBe(hex(genesis.committeeKey));
      expect(hex(v.masterPublicKey)).toBe(hex(genesis.masterPublicKey));
    }
    for (const i of members) expect(await servedKey(i)).toBe(pkc);
    return views[0]!;
  }

  const ceremonyStatus = (i: number, epoch: number) => devnet.operatorCall<CeremonyStatusView>(i, 'CeremonyStatus', { epoch }, 3000);

  /** Polls until node i's ceremony of `epoch` is in the engine phase `phase`. */
  async function untilPhase(i: number, epoch: number, phase: string, until: (s: CeremonyStatusView) => boolean = () => true, timeoutMs = 20_000): Promise<CeremonyStatusView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await ceremonyStatus(i, epoch).catch(() => undefined);
      if (s && s.epoch === epoch && s.phase === phase && until(s)) return s;
      if (Date.now() > deadline) throw new Error(`node ${i} did not reach phase ${phase} of epoch ${epoch}: ${JSON.stringify(s)}`);
      await sleep(100);
    }
  }

  function auditOf(i: number) {
    const db = new Database(path.join(devnet.nodes[i]!.dir, 'gatekeeper.sqlite'), { readonly: true });
    try {
      const entries = [...allAuditEntries(db)];
      expect(verifyAuditChain(entries)).toMatchObject({ ok: true });
      return entries.map((e) => ({ action: e.action, detail: JSON.parse(e.detailJson) as Record<string, unknown> }));
    } finally {
      db.close();
    }
  }

  test('a dealer sending one bad sub-share is named and excluded; the hand-off completes over the honest dealers', async () => {
    const culprit = order[0]!;
    const victim = order[2]!;
    const secret = secrets[culprit]!;
    let served: Buffer | undefined;
    proxies[culprit]!.rewrite = async (method, response) => {
      if (method !== 'GetCeremonyMessage') return response;
      const w = decodeMessage<WireMessage>('CeremonyMessage', response);
      if (w.ceremony !== 'handoff-2' || w.phase !== 'deal') return response;
      // One dealing for everyone (as a broadcast is), whose sealed derivation sub-share for the victim
      // is a random scalar: it opens, but is not on the committed polynomial.
      if (!served) {
        const d = decodeDealing(w.body);
        const j = order.indexOf(victim);
        const info = subShareInfo({ epoch: d.epoch, session: d.session } as HandoffSetup, d.dealer, keys[victim]!.nodeId, 'derivation');
        const { enc, ciphertext } = await hpkeSeal(keys[victim]!.transportKey, info, randomBytes(32));
        const sealed = [...d.suites.derivation.sealed];
        sealed[j] = concatBytes(enc, ciphertext);
        const unsigned = { epoch: d.epoch, session: d.session, dealer: d.dealer, suites: { ...d.suites, derivation: { ...d.suites.derivation, sealed } } };
        const body = encodeDealing({ ...unsigned, signature: signTagged(secret, 'handoff-dealing', dealingBody(unsigned)) });
        const signature = signTagged(secret, 'ceremony-message', ceremonyMessageBytes({ ...w, body }));
        served = Buffer.from(encodeMessage('CeremonyMessage', { ...w, body, signature }));
      }
      return served;
    };
    const snapshot = await devnet.electionSnapshot(2, [0, 1, 2, 3], 4, 3, { phaseTimeoutMs: 20_000 });
    await devnet.submitElection(0, snapshot);
    expect(await servedKey(1)).toBe(pkc); // during the hand-off
    await devnet.waitForRound(2, [0, 1, 2, 3], 45_000);
    proxies[culprit]!.rewrite = undefined;
    expect(served).toBeDefined();
    await expectCommittee([0, 1, 2, 3], 2, 3);
    const culpritId = hex(keys[culprit]!.nodeId);
    for (const i of [0, 1, 2, 3]) {
      const done = auditOf(i).find((e) => e.action === 'handoff.complete' && (e.detail as { epoch?: number }).epoch === 2)!;
      const detail = done.detail as { qualified: string[]; excluded: { dealer: string; refusedBy: string[] }[]; complaints?: { dealer: string; complaint: string }[] };
      expect(detail.qualified).toEqual(order.slice(1).map((x) => hex(keys[x]!.nodeId)));
      expect(detail.excluded).toEqual([{ dealer: culpritId, refusedBy: [hex(keys[victim]!.nodeId)] }]);
      if (i === victim) {
        // The evidence: the dealer's signed dealing and the victim's DH disclosure, in a signed complaint.
        expect(detail.complaints).toEqual([expect.objectContaining({ dealer: culpritId, suite: 'derivation' })]);
        // Anyone can judge it from public data: the dealer signed the dealing, and the disclosed DH value
        // opens a sub-share that is not on the dealer's committed polynomial.
        const complaint = hexToBytes(detail.complaints![0]!.complaint);
        const { session } = decodeDealing(decodeComplaint(complaint).dealing);
        const setup = handoffSetup(decodeRoster(genesis.certificates[0]!.rosterBytes), 2, session, { threshold: 3, members: [0, 1, 2, 3].map((x) => keys[x]!) });
        const judged = await verifyHandoffComplaint(setup, complaint);
        expect([judged.verdict, hex(judged.dealer), hex(judged.accuser), judged.suite]).toEqual(['dealer-guilty', culpritId, hex(keys[victim]!.nodeId), 'derivation']);
      } else {
        expect(detail.complaints).toBeUndefined();
      }
    }
  });

  test('a new member killed mid hand-off and left down: every other member aborts at the deadline naming it; a later round without it completes', async () => {
    const fresh = await devnet.addNode();
    keys[fresh] = await devnet.nodes[fresh]!.client.call<NodeKeys>('OperatorService', 'Status', {});
    proxies[fresh]!.setTarget(devnet.nodes[fresh]!.listen);
    const snapshot = await devnet.electionSnapshot(3, [0, 1, 2, 3, fresh], 5, 4, { phaseTimeoutMs: 6000 });
    // The new member takes the round first and starts its hand-off (waiting for dealings); then it crashes.
    await devnet.submitElection(fresh, snapshot, false);
    await untilPhase(fresh, 3, 'deal');
    devnet.killNode(fresh);
    await Promise.all([0, 1, 2, 3].map((i) => devnet.submitElection(i, snapshot, false)));
    const waiting = await untilPhase(0, 3, 'acknowledge');
    expect(waiting.awaited).toContain(hex(keys[fresh]!.nodeId));
    expect(await servedKey(2)).toBe(pkc); // during
    const states = await devnet.waitForRound(3, [0, 1, 2, 3], 30_000, 'ABORTED');
    for (const s of states) {
      expect(s.ceremonyError).toMatch(/^ErrTimeoutReached: the acknowledge phase missed its deadline/);
      expect(s.ceremonyError).toContain(`still waiting for ${hex(keys[fresh]!.identityKey)}`);
    }
    await expectCommittee([0, 1, 2, 3], 2, 3);
  });

  test('a dealer killed once it has dealt and restarted: the others wait, the old committee serves, the hand-off resumes and completes', async () => {
    const dealer = order[1]!;
    const others = [0, 1, 2, 3].filter((i) => i !== dealer);
    const snapshot = await devnet.electionSnapshot(4, [0, 1, 2, 3], 4, 3, { phaseTimeoutMs: 20_000 });
    // The dealer takes the round first: its dealing is stored before it can be served; then it crashes.
    await devnet.submitElection(dealer, snapshot, false);
    await untilPhase(dealer, 4, 'deal');
    devnet.killNode(dealer);
    await Promise.all(others.map((i) => devnet.submitElection(i, snapshot, false)));
    // Every other dealing arrives; the dead dealer's does not, and the phase stays open for it.
    const waiting = await untilPhase(others[0]!, 4, 'deal', (s) => s.awaited.length === 1);
    expect(waiting.awaited).toEqual([hex(keys[dealer]!.nodeId)]);
    await sleep(1000);
    for (const i of others) expect(await servedKey(i)).toBe(pkc); // during, with the dealer down
    expect((await ceremonyStatus(others[1]!, 4)).phase).toBe('deal');
    await devnet.startNode(dealer);
    await devnet.unseal(dealer);
    await devnet.waitForRound(4, [0, 1, 2, 3], 60_000);
    await expectCommittee([0, 1, 2, 3], 4, 3);
    // The dealer dealt once: the dealing it stored before the crash is the one served after it.
    const started = auditOf(dealer).filter((e) => e.action === 'handoff.started' && (e.detail as { epoch?: number }).epoch === 4);
    expect(started).toHaveLength(1);
  });
});
