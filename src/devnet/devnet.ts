// A local committee on loopback: N node processes, each with its own SQLite database under one folder,
// development unseal shares, development operator and governance keys, and a generated genesis snapshot.
// Development only: the keys it writes protect nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import { credentials as grpcCredentials } from '@grpc/grpc-js';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { generateIdentityKey, signTagged } from '../crypto/identity.js';
import { openDatabase } from '../store/database.js';
import { initKeystore } from '../node/keystore.js';
import { AuditLog } from '../audit/log.js';
import { GatekeeperClient } from '../rpc/client.js';
import { encodeMessage } from '../rpc/messages.js';
import { protoDir } from '../rpc/proto.js';
import { hashOfCertificate, rosterCertificateMessage } from '../committee/roster.js';
import { nodeIdOf } from '../node/identity.js';
import { equalBytes, utf8 } from '../crypto/bytes.js';
import { verifyGroupSignature } from '../crypto/frost.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { createTestPki, type TestPki } from '../attestation/test-pki/index.js';
import { createSnpTestPki, type SnpTestPki } from '../attestation/test-pki/snp.js';
import { saveTestPki } from '../worker/test-pki-file.js';
import { encryptForContract, getContractKey } from '../sdk/client.js';
import { contractGovernanceMessage, type ContractAction } from '../keys/wire.js';

export interface DevnetOptions {
  dir: string;
  nodes: number;
  threshold: number;
  phaseTimeoutMs?: number;
  log?: (line: string) => void;
  /** Challenge lifetime on every node (default: the node default, 5 minutes). */
  challengeTtlMs?: number;
  /** Extra node config fields for every node (benchmarks raise publicRateLimitPerSecond, for example). */
  nodeConfig?: Record<string, unknown>;
  /** Per-node advertised endpoint override (tests put a proxy in front of a member). */
  advertise?: (index: number, endpoint: string) => string;
  /** Extra node.js flags for node i's process when none are given to startNode (benchmarks: --cpu-prof). */
  nodeFlags?: (index: number) => string[];
  /**
   * TLS for every node (PEM paths; the certificate must be valid for 127.0.0.1): nodes serve TLS, call
   * each other over TLS trusting `caFile`, and the devnet's clients and worker trust `caFile`.
   */
  tls?: { caFile: string; certFile: string; keyFile: string };
}

/** What the development worker's demo enclave measures as (its quotes claim these values). */
export const DEMO_MEASUREMENTS = {
  mrEnclave: 'de' + '00'.repeat(30) + '01',
  mrSigner: 'de' + '00'.repeat(30) + '02',
  isvProdId: 1,
  isvSvn: 1,
};
/** The launch MEASUREMENT the development SEV-SNP worker's reports claim. */
export const DEMO_SNP_MEASUREMENT = '5e' + '00'.repeat(46) + '01';
export const DEMO_CONTRACT = 'demo';
/** The contract of the demo's SEV-SNP worker (namespace `demo-snp`). */
export const DEMO_SNP_CONTRACT = 'demo-snp';
export const DEMO_POLICY_ID = 'demo-policy';

/**
 * The demo release policy (docs/release-policy.md). Namespace `demo` admits SGX only, through the
 * exact MRENCLAVE, MRSIGNER, ISVPRODID and minimum ISVSVN the development worker's quotes report
 * (DEMO_MEASUREMENTS); it has no tdx or snp block, so TDX and SNP workers are refused there.
 * Namespace `demo-snp` admits SEV-SNP only, through the MEASUREMENT the development SNP worker's
 * reports claim (DEMO_SNP_MEASUREMENT), at VMPL 0 with HOST_DATA zero. UpToDate DCAP platforms only;
 * no debug enclaves or guests.
 */
export function demoReleasePolicy(serial: number, publicationQuorum: number, over: Record<string, unknown> = {}): Uint8Array {
  return utf8(JSON.stringify({
    id: DEMO_POLICY_ID, serial, publicationQuorum,
    attestation: { tees: ['SGX', 'SNP'], allowedStatuses: ['UpToDate'], allowDebug: false },
    namespaces: {
      demo: { sgx: { mrEnclave: [DEMO_MEASUREMENTS.mrEnclave], mrSigner: [DEMO_MEASUREMENTS.mrSigner],
        isvProdId: DEMO_MEASUREMENTS.isvProdId, minIsvSvn: DEMO_MEASUREMENTS.isvSvn } },
      'demo-snp': { snp: { measurement: [DEMO_SNP_MEASUREMENT], vmpl: 0 } },
    },
    ...over,
  }));
}

/** A development worker process the devnet started. */
export interface RunningWorker { process: ChildProcess; endpoint: string; client: GatekeeperClient; publicKey: string }

async function stopProcess(w: RunningWorker | undefined): Promise<void> {
  if (!w) return;
  w.client.close();
  if (w.process.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => w.process.once('exit', () => resolve()));
  w.process.kill('SIGTERM');
  const force = setTimeout(() => w.process.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(force);
}

export interface DevnetNode {
  index: number;
  name: string;
  endpoint: string;
  /** host:port the node binds (differs from `endpoint` when a test proxies it). */
  listen: string;
  /** host:port of the node's Prometheus metrics (GET /metrics). */
  metricsEndpoint: string;
  configFile: string;
  dir: string;
  unsealShares: string[];
  process?: ChildProcess;
  client: GatekeeperClient;
}

export interface CommitteeView {
  epoch: number; threshold: number; committeeKey: Uint8Array; masterPublicKey: Uint8Array;
  members: { nodeId: Uint8Array; endpoint: string; shareIdentifier: Uint8Array; derivationVerifyingShare: Uint8Array; signingVerifyingShare: Uint8Array }[];
  certificates: { epoch: number; rosterBytes: Uint8Array; signature: Uint8Array }[];
}

export interface StatusView { nodeId: Uint8Array; sealed: boolean; ceremonyState: string; ceremonyEpoch: number; ceremonyError: string; epoch: number; nextStep: string; committeeKey: Uint8Array; member: boolean }

/** The built CLI that node processes run (tests and `npm start` need `npm run build` first). */
export function builtCli(): string {
  const file = path.join(path.dirname(protoDir()), 'dist', 'src', 'cli', 'main.js');
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  return file;
}

// Ports this process has handed out: the OS may offer a just-closed port again, and two nodes (or a
// node's gRPC and metrics listeners) must not be given the same one.
const handedOut = new Set<number>();

async function freePort(): Promise<number> {
  for (;;) {
    const port = await osFreePort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

async function osFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Stops a child process (SIGTERM, SIGKILL after 5 s) and resolves once it has exited. */
async function terminate(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
  p.kill('SIGTERM');
  const force = setTimeout(() => p.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(force);
}

/** The file that marks a folder as made by a devnet (and so safe for a later devnet to clear). */
export const DEVNET_MARKER = '.gatekeeper-devnet';
const DEVNET_ENTRY = /^(node-\d+|worker|worker-snp|test-pki\.dev\.json|test-pki-root\.der|test-pki-snp-ark\.der|dev-keys\.json|operator\.dev\.key|governance-\d+\.dev\.key|devnet\.json|\.gatekeeper-devnet)$/;

export class DevnetDirError extends Error {
  override name = 'DevnetDirError';
}

/**
 * Makes `dir` ready for a new devnet without ever deleting what a devnet did not make: a missing or
 * empty folder is used; a folder a devnet made (its marker file, or, from before the marker, its
 * dev-keys.json) has the devnet's own entries removed, and is refused if it holds anything else.
 */
export function prepareDevnetDir(dir: string): void {
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } else {
    if (!fs.statSync(dir).isDirectory()) throw new DevnetDirError(`${dir} exists and is not a folder; choose another --dir`);
    const entries = fs.readdirSync(dir);
    const foreign = entries.filter((e) => !DEVNET_ENTRY.test(e));
    const ours = entries.includes(DEVNET_MARKER) || entries.includes('dev-keys.json');
    if (entries.length > 0 && (!ours || foreign.length > 0)) {
      const what = foreign.length > 0 ? `holds ${foreign.length} entr${foreign.length === 1 ? 'y' : 'ies'} a devnet did not make (e.g. ${JSON.stringify(foreign[0]!.slice(0, 64))})`
        : 'was not made by a devnet';
      throw new DevnetDirError(`${dir} ${what}; the devnet clears its folder first, so it refuses to use this one: choose another --dir or empty it`);
    }
    for (const e of entries) if (e !== DEVNET_MARKER) fs.rmSync(path.join(dir, e), { recursive: true, force: true });
  }
  fs.writeFileSync(path.join(dir, DEVNET_MARKER), 'made by `gatekeeper devnet`; the next devnet run in this folder clears it\n');
}

export class Devnet {
  readonly nodes: DevnetNode[] = [];
  readonly operator = generateIdentityKey();
  readonly governance = [generateIdentityKey(), generateIdentityKey(), generateIdentityKey()];
  readonly governanceThreshold = 2;
  worker?: RunningWorker;
  /** The development SEV-SNP worker (startSnpWorker). */
  snpWorker?: RunningWorker;
  /** The development attestation PKI the nodes trust (after create()). */
  pki?: TestPki;
  /** The development SEV-SNP PKI whose ARK the nodes trust (after create()). */
  snpPki?: SnpTestPki;
  private readonly log: (line: string) => void;
  /** Nodes stopped with SIGSTOP (pauseNode), resumed before they are stopped for good. */
  private readonly paused = new Set<number>();

  get testPkiFile(): string { return path.join(this.opts.dir, 'test-pki.dev.json'); }
  get testRootFile(): string { return path.join(this.opts.dir, 'test-pki-root.der'); }
  get snpArkFile(): string { return path.join(this.opts.dir, 'test-pki-snp-ark.der'); }
  get operatorKeyFile(): string { return path.join(this.opts.dir, 'operator.dev.key'); }
  get governanceKeyFiles(): string[] { return this.governance.map((_, i) => path.join(this.opts.dir, `governance-${i + 1}.dev.key`)); }

  constructor(readonly opts: DevnetOptions) {
    this.log = opts.log ?? (() => undefined);
  }

  /** A client of a node (TLS trusting the devnet's CA when the nodes run TLS). */
  clientFor(endpoint: string): GatekeeperClient {
    const tls = this.opts.tls;
    // Short reconnect backoff: a node that is still starting (self-test, many nodes on two cores)
    // is seen as soon as it listens, not after grpc-js's default backoff has grown to tens of seconds.
    const options = { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1000 };
    const creds = tls ? grpcCredentials.createSsl(fs.readFileSync(tls.caFile)) : grpcCredentials.createInsecure();
    return new GatekeeperClient(endpoint, creds, options);
  }

  /** Writes configs, initializes every node's keys (keeping the development unseal shares). */
  async create(): Promise<void> {
    const { dir } = this.opts;
    prepareDevnetDir(dir);
    // A development attestation PKI: nodes trust its root only because their config names it.
    const [pki, snpPki] = await Promise.all([createTestPki(), createSnpTestPki({ product: 'Milan' })]);
    this.pki = pki;
    this.snpPki = snpPki;
    await saveTestPki(pki, this.testPkiFile, snpPki);
    fs.writeFileSync(this.testRootFile, pki.rootDer);
    fs.writeFileSync(this.snpArkFile, snpPki.ark.der);
    fs.writeFileSync(path.join(dir, 'dev-keys.json'), JSON.stringify({
      note: 'development keys of a local devnet; never use them elsewhere',
      operatorSecretKey: bytesToHex(this.operator.secretKey),
      governanceSecretKeys: this.governance.map((g) => bytesToHex(g.secretKey)),
    }, null, 2), { mode: 0o600 });
    // The same keys one per file, as `--operator-key` / `--governance-key` take them (named in devnet.json).
    fs.writeFileSync(this.operatorKeyFile, bytesToHex(this.operator.secretKey) + '\n', { mode: 0o600 });
    this.governance.forEach((g, i) => fs.writeFileSync(this.governanceKeyFiles[i]!, bytesToHex(g.secretKey) + '\n', { mode: 0o600 }));
    for (let i = 0; i < this.opts.nodes; i++) await this.makeNode(i);
  }

  /** Writes node i's config and initializes its keys (development unseal shares kept in its folder). */
  private async makeNode(i: number): Promise<DevnetNode> {
    const { dir } = this.opts;
    const name = `node-${i + 1}`;
    const nodeDir = path.join(dir, name);
    const port = await freePort();
    const listen = `127.0.0.1:${port}`;
    const endpoint = this.opts.advertise?.(i, listen) ?? listen;
    const metricsEndpoint = `127.0.0.1:${await freePort()}`;
    const config = {
      name, listen, advertise: endpoint, dataDir: '.', metricsListen: metricsEndpoint,
      operatorKeys: [bytesToHex(this.operator.publicKey)],
      governance: { keys: this.governance.map((g) => bytesToHex(g.publicKey)), threshold: this.governanceThreshold },
      unseal: { shares: 3, threshold: 2 },
      phaseTimeoutMs: this.opts.phaseTimeoutMs ?? 60_000,
      logLevel: 'info',
      attestation: { trustedRootFile: this.testRootFile, allowDevelopmentAttestationRoot: true, snpArkFiles: [this.snpArkFile] },
      reflection: true,
      ...(this.opts.tls ? { tls: { certFile: this.opts.tls.certFile, keyFile: this.opts.tls.keyFile, clientCaFile: '', peerCaFile: this.opts.tls.caFile } } : {}),
      ...(this.opts.challengeTtlMs ? { challengeTtlMs: this.opts.challengeTtlMs } : {}),
      ...this.opts.nodeConfig,
    };
    fs.mkdirSync(nodeDir, { recursive: true, mode: 0o700 });
    const configFile = path.join(nodeDir, 'config.json');
    fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
    const db = openDatabase(path.join(nodeDir, 'gatekeeper.sqlite'));
    const { public: pub, unsealShares } = await initKeystore(db, config.unseal);
    new AuditLog(db).append('devnet', 'initialized', { nodeId: bytesToHex(pub.nodeId) });
    db.close();
    fs.writeFileSync(path.join(nodeDir, 'unseal-shares.dev.json'), JSON.stringify(unsealShares), { mode: 0o600 });
    const node: DevnetNode = { index: i, name, endpoint, listen, metricsEndpoint, configFile, dir: nodeDir, unsealShares, client: this.clientFor(listen) };
    this.nodes.push(node);
    return node;
  }

  /** Starts node i's process (logs to its folder) and waits until it answers; `nodeFlags` go to node itself (e.g. --cpu-prof). */
  async startNode(i: number, nodeFlags: string[] = this.opts.nodeFlags?.(i) ?? []): Promise<void> {
    const n = this.nodes[i]!;
    n.client.close();
    n.client = this.clientFor(n.listen);
    const out = fs.openSync(path.join(n.dir, 'node.log'), 'a');
    n.process = spawn(process.execPath, [...nodeFlags, builtCli(), 'node', '--config', n.configFile], { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    // The process exiting is the failure signal; the deadline only bounds a hang (a loaded machine
    // starting many nodes at once can take well over the idle ~1 s per node).
    const deadline = Date.now() + 120_000;
    for (;;) {
      try { await this.status(i); return; } catch (err) {
        if (Date.now() > deadline) throw new Error(`${n.name} did not start within 120 s: ${String(err)}`);
        if (n.process.exitCode !== null) throw new Error(`${n.name} exited with code ${n.process.exitCode}; see ${n.dir}/node.log`);
        await sleep(100);
      }
    }
  }

  /** Stops node i cleanly (SIGTERM, SIGKILL after 5 s) and waits until it has exited. */
  async stopNode(i: number): Promise<void> {
    if (this.paused.has(i)) this.resumeNode(i);
    const n = this.nodes[i]!;
    const p = n.process;
    n.process = undefined;
    await terminate(p);
  }

  /** Kills node i at once (SIGKILL: a crash, not a clean stop). */
  killNode(i: number): void {
    const n = this.nodes[i]!;
    n.process?.kill('SIGKILL');
    n.process = undefined;
    this.paused.delete(i);
  }

  /** Stops node i's process where it is (SIGSTOP): it keeps its connections but answers nothing, like a hung member. */
  pauseNode(i: number): void {
    const n = this.nodes[i]!;
    if (!n.process || n.process.exitCode !== null) throw new Error(`${n.name} is not running`);
    n.process.kill('SIGSTOP');
    this.paused.add(i);
  }

  /** Lets a paused node run again (SIGCONT). */
  resumeNode(i: number): void {
    this.nodes[i]!.process?.kill('SIGCONT');
    this.paused.delete(i);
  }

  async unseal(i: number): Promise<void> {
    const n = this.nodes[i]!;
    for (const share of n.unsealShares.slice(0, 2)) {
      await n.client.call('OperatorService', 'Unseal', { share });
    }
  }

  status(i: number): Promise<StatusView> {
    return this.nodes[i]!.client.call<StatusView>('OperatorService', 'Status', {}, { timeoutMs: 2000 });
  }

  operatorCall<Res>(i: number, method: string, req: Record<string, unknown>, timeoutMs?: number): Promise<Res> {
    return this.nodes[i]!.client.call<Res>('OperatorService', method, req, { sign: { role: 'operator', secretKey: this.operator.secretKey }, ...(timeoutMs ? { timeoutMs } : {}) });
  }

  /** A genesis snapshot: each node's signed candidacy, a few nominations, signed by 2 of 3 governance keys. */
  async genesisSnapshot(epoch: number, seats: number, threshold: number, phaseTimeoutMs = this.opts.phaseTimeoutMs ?? 60_000): Promise<Record<string, unknown>> {
    const candidacies: Record<string, unknown>[] = [];
    for (let i = 0; i < this.nodes.length; i++) {
      candidacies.push(await this.operatorCall(i, 'GetCandidacy', { epoch, selfStake: String(1000 + 100 * i), endpoint: '' }));
    }
    const nodeIds = candidacies.map((c) => nodeIdOf(c.identityKey as Uint8Array));
    const nominations = nodeIds.map((_, i) => ({
      voter: `nominator-${i + 1}`, stake: String(500 + 50 * i), targets: [nodeIds[i]!, nodeIds[(i + 1) % nodeIds.length]!],
    }));
    const snapshot = encodeMessage('Snapshot', {
      epoch, seats, threshold, candidacies, nominations, phaseTimeoutMs: String(phaseTimeoutMs),
    });
    const signatures = this.governance.slice(0, this.governanceThreshold).map((g) => ({ key: g.publicKey, signature: signTagged(g.secretKey, 'snapshot', snapshot) }));
    return { snapshot, signatures };
  }

  /** A new node (a fresh candidate for a later election round): created, started and unsealed. */
  async addNode(): Promise<number> {
    const n = await this.makeNode(this.nodes.length);
    await this.startNode(n.index);
    await this.unseal(n.index);
    return n.index;
  }

  /**
   * A governance-signed election snapshot for a round after genesis (issue 11): the candidacies of
   * `candidates` (node indices, with optional self stakes; a node with stake 1 and no nominations is
   * elected last), nominations among them, and previous_certificate_hash = the hash of the newest
   * certificate `from` serves (the committee the round follows).
   */
  async electionSnapshot(epoch: number, candidates: number[], seats: number, threshold: number,
    opts: { stakes?: Record<number, number>; from?: number; phaseTimeoutMs?: number } = {}): Promise<Record<string, unknown>> {
    const candidacies: Record<string, unknown>[] = [];
    for (const i of candidates) {
      candidacies.push(await this.operatorCall(i, 'GetCandidacy', { epoch, selfStake: String(opts.stakes?.[i] ?? 1000 + 100 * i), endpoint: '' }));
    }
    const backed = candidates.filter((i) => (opts.stakes?.[i] ?? 1000) > 1);
    const idOf = (i: number) => nodeIdOf(candidacies[candidates.indexOf(i)]!.identityKey as Uint8Array);
    const nominations = backed.map((i, j) => ({
      voter: `nominator-${epoch}-${j + 1}`, stake: String(500 + 50 * j), targets: [idOf(i), idOf(backed[(j + 1) % backed.length]!)],
    }));
    const view = await this.committee(opts.from ?? candidates[0]!);
    const last = view.certificates[view.certificates.length - 1]!;
    const snapshot = encodeMessage('Snapshot', {
      epoch, seats, threshold, candidacies, nominations, phaseTimeoutMs: String(opts.phaseTimeoutMs ?? this.opts.phaseTimeoutMs ?? 60_000),
      previousCertificateHash: hashOfCertificate(last),
    });
    const signatures = this.governance.slice(0, this.governanceThreshold).map((g) => ({ key: g.publicKey, signature: signTagged(g.secretKey, 'snapshot', snapshot) }));
    return { snapshot, signatures };
  }

  /**
   * OperatorService.SubmitElection to node i with forwarding; the call returns once every current
   * member and candidate accepted or refused it (each runs the election), so it gets a long deadline.
   */
  submitElection(i: number, snapshot: Record<string, unknown>, forward = true): Promise<{ epoch: number; elected: boolean; forwardErrors: string[] }> {
    return this.nodes[i]!.client.call('OperatorService', 'SubmitElection', { snapshot, forward },
      { sign: { role: 'operator', secretKey: this.operator.secretKey }, timeoutMs: 60_000 });
  }

  /**
   * One election round end to end: the snapshot of `candidates` for `epoch`, submitted to node
   * `candidates[0]` (which forwards it), then every candidate's status followed to COMPLETE; returns the
   * committee the first candidate then serves.
   */
  async electionRound(epoch: number, candidates: number[], seats: number, threshold: number, timeoutMs = 90_000): Promise<CommitteeView> {
    const snapshot = await this.electionSnapshot(epoch, candidates, seats, threshold);
    await this.submitElection(candidates[0]!, snapshot);
    await this.waitForRound(epoch, candidates, timeoutMs);
    return this.committee(candidates[0]!);
  }

  /**
   * The certified key of `contract` version `version` as node i serves it, verified under the pinned
   * `committeeKey` (hex); retried for up to `waitMs`, since a new member may still be fetching it.
   */
  async servedContractKey(i: number, committeeKey: Uint8Array, contract = DEMO_CONTRACT, version = 1, waitMs = 15_000): Promise<string> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      try {
        return bytesToHex((await getContractKey(this.nodes[i]!.client, committeeKey, utf8(contract), version)).publicKey);
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(200);
      }
    }
  }

  /** OperatorService.RefreshShares{epoch} to every listed member (a hand-off to the same roster). */
  async refresh(epoch: number, members: number[]): Promise<void> {
    for (const i of members) await this.operatorCall(i, 'RefreshShares', { epoch });
  }

  /**
   * Waits until each listed node's ceremony of `epoch` reached `state` (COMPLETE by default; its Status
   * then names that epoch's certificate); throws on ABORTED (unless that is the state awaited) or timeout.
   */
  async waitForRound(epoch: number, nodes: number[], timeoutMs: number, state = 'COMPLETE'): Promise<StatusView[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(nodes.map((i) => this.status(i).catch(() => undefined)));
      const at = states.map((s) => s && s.ceremonyEpoch === epoch ? s.ceremonyState : `${s?.ceremonyState ?? 'DOWN'}@${s?.ceremonyEpoch ?? '?'}`);
      const aborted = states.find((s) => s?.ceremonyEpoch === epoch && s.ceremonyState === 'ABORTED');
      if (aborted && state !== 'ABORTED') throw new Error(`the round of epoch ${epoch} aborted: ${aborted.ceremonyError}`);
      if (at.every((s) => s === state)) return states as StatusView[];
      if (Date.now() > deadline) throw new Error(`the round of epoch ${epoch} did not reach ${state} in time (states: ${at.join(', ')})`);
      await sleep(150);
    }
  }

  /** Waits until every node's newest ceremony is COMPLETE; throws on ABORTED or timeout. */
  async waitForCommittee(timeoutMs: number, onPhase?: (state: string) => void): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const states = await Promise.all(this.nodes.map((_, i) => this.status(i).catch(() => undefined)));
      const summary = states.map((s) => s?.ceremonyState ?? 'DOWN');
      const slowest = ['ROUND1', 'ROUND2', 'KEYED', 'CONFIRMED', 'OBSERVING', 'COMPLETE'].find((st) => summary.includes(st)) ?? summary[0]!;
      if (slowest !== last) { onPhase?.(slowest); last = slowest; }
      const aborted = states.find((s) => s?.ceremonyState === 'ABORTED');
      if (aborted) throw new Error(`the ceremony aborted: ${aborted.ceremonyError}`);
      if (summary.every((s) => s === 'COMPLETE')) return;
      if (Date.now() > deadline) throw new Error(`the committee did not form in time (states: ${summary.join(', ')})`);
      await sleep(200);
    }
  }

  committee(i: number): Promise<CommitteeView> {
    return this.nodes[i]!.client.call<CommitteeView>('PublicService', 'GetCommittee', {});
  }

  /** Checks that every node reports the same committee and that its certificate verifies (BIP340). */
  async checkCommittee(): Promise<CommitteeView> {
    const views = await Promise.all(this.nodes.map((_, i) => this.committee(i)));
    const first = views[0]!;
    for (const [i, v] of views.entries()) {
      if (v.epoch !== first.epoch || !equalBytes(v.committeeKey, first.committeeKey) || !equalBytes(v.masterPublicKey, first.masterPublicKey)
        || v.certificates.length !== first.certificates.length
        || v.certificates.some((c, j) => !equalBytes(c.rosterBytes, first.certificates[j]!.rosterBytes) || !equalBytes(c.signature, first.certificates[j]!.signature))) {
        throw new Error(`node ${i + 1} reports a different committee`);
      }
    }
    const cert = first.certificates[first.certificates.length - 1]!;
    if (!verifyGroupSignature(first.committeeKey, rosterCertificateMessage(cert.epoch, cert.rosterBytes), cert.signature)) {
      throw new Error('the roster certificate does not verify under the committee key');
    }
    return first;
  }

  writeManifest(view: CommitteeView, extra: Record<string, unknown> = {}): string {
    const file = path.join(this.opts.dir, 'devnet.json');
    const manifest = {
      nodes: this.nodes.map((n) => ({ name: n.name, endpoint: n.endpoint, config: n.configFile, metrics: `http://${n.metricsEndpoint}/metrics` })),
      operatorKeyFile: this.operatorKeyFile,
      governanceKeyFiles: this.governanceKeyFiles,
      governanceThreshold: this.governanceThreshold,
      testPkiFile: this.testPkiFile,
      testRootFile: this.testRootFile,
      ...(this.opts.tls ? { tlsCaFile: this.opts.tls.caFile } : {}),
      committeeKey: bytesToHex(view.committeeKey),
      masterPublicKey: bytesToHex(view.masterPublicKey),
      epoch: view.epoch,
      threshold: view.threshold,
      ...extra,
    };
    fs.writeFileSync(file, JSON.stringify(manifest, null, 2) + '\n');
    return file;
  }

  /** Stops every node process and the worker (SIGTERM) and closes clients. */
  async stop(): Promise<void> {
    for (const i of [...this.paused]) this.resumeNode(i);
    const procs: { client: GatekeeperClient; process?: ChildProcess }[] = [...this.nodes];
    if (this.worker) procs.push(this.worker);
    if (this.snpWorker) procs.push(this.snpWorker);
    this.worker = undefined;
    this.snpWorker = undefined;
    await Promise.all(procs.map(async (n) => {
      n.client.close();
      await terminate(n.process);
    }));
  }

  /** The demo release policy (demoReleasePolicy) with this committee's threshold as publication quorum. */
  demoPolicy(serial = 1, over: Record<string, unknown> = {}): Uint8Array {
    return demoReleasePolicy(serial, this.opts.threshold, over);
  }

  signPolicy(policyJson: Uint8Array): Record<string, unknown> {
    const signatures = this.governance.slice(0, this.governanceThreshold).map((g) => ({ key: g.publicKey, signature: signTagged(g.secretKey, 'policy', policyJson) }));
    return { policyJson, signatures };
  }

  /** Installs the demo policy and registers the demo contract on every member. */
  async registerDemoContract(): Promise<void> {
    const signed = this.signPolicy(this.demoPolicy());
    for (let i = 0; i < this.nodes.length; i++) {
      await this.operatorCall(i, 'SetReleasePolicy', signed);
      await this.operatorCall(i, 'RegisterContract', { contractId: utf8(DEMO_CONTRACT), namespace: 'demo', policyId: DEMO_POLICY_ID });
    }
  }

  /** Registers `contract` under the demo policy's `namespace` on every member (the policy must be installed). */
  async registerContract(contract: string, namespace: string): Promise<void> {
    for (let i = 0; i < this.nodes.length; i++) {
      await this.operatorCall(i, 'RegisterContract', { contractId: utf8(contract), namespace, policyId: DEMO_POLICY_ID });
    }
  }

  /** A governance action on a contract's key versions, signed by m governance keys, sent to every member. */
  async governContract(action: ContractAction, contractId: Uint8Array, version: number): Promise<{ currentVersion: number; alarm: string }[]> {
    const message = contractGovernanceMessage(action, contractId, version);
    const signatures = this.governance.slice(0, this.governanceThreshold).map((g) => ({ key: g.publicKey, signature: signTagged(g.secretKey, 'contract-governance', message) }));
    const method = { rotate: 'RotateContractKey', retire: 'RetireContractKeyVersion', 'resolve-alarm': 'ResolveContractAlarm' }[action];
    const out = [];
    for (let i = 0; i < this.nodes.length; i++) out.push(await this.operatorCall<{ currentVersion: number; alarm: string }>(i, method, { contractId, version, signatures }));
    return out;
  }

  /**
   * The demo contract's rotation to `version`: governance rotates every member, a fresh worker
   * provisions and publishes every version up to it, and GetContractKey(0) must then answer `version`
   * with the key the worker holds.
   */
  async rotateDemo(committeeKey: Uint8Array, version: number): Promise<{ endpoint: string; publicKey: string }> {
    const answers = await this.governContract('rotate', utf8(DEMO_CONTRACT), version);
    if (answers.some((a) => a.currentVersion !== version)) throw new Error(`a member did not move to version ${version}`);
    await this.stopWorker();
    const worker = await this.startWorker(committeeKey, 0, Array.from({ length: version }, (_, i) => i + 1));
    for (const n of this.nodes) {
      const k = await getContractKey(n.client, committeeKey, utf8(DEMO_CONTRACT), 0);
      if (k.version !== version || bytesToHex(k.publicKey) !== worker.publicKey) {
        throw new Error(`${n.name} answers version ${k.version} for the current key, not the rotated version ${version}`);
      }
    }
    return worker;
  }

  async stopWorker(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    await stopProcess(w);
  }

  /**
   * Starts the development worker for the demo contract and waits until it serves; `publicKey` is the
   * key of the last version in `versions`.
   */
  async startWorker(committeeKey: Uint8Array, endpointIndex = 0, versions: number[] = [1]): Promise<{ endpoint: string; publicKey: string }> {
    const w = await this.spawnWorker('worker', committeeKey, endpointIndex, versions.map((version) => ({ id: DEMO_CONTRACT, version })),
      { tee: 'SGX', measurements: DEMO_MEASUREMENTS });
    this.worker = w;
    return { endpoint: w.endpoint, publicKey: w.publicKey };
  }

  /**
   * Starts the development SEV-SNP worker (`gatekeeper worker --tee snp`: reports signed by the
   * development VCEK, DEMO_SNP_MEASUREMENT) for `contract` and waits until it serves.
   */
  async startSnpWorker(committeeKey: Uint8Array, contract = DEMO_SNP_CONTRACT, endpointIndex = 0): Promise<{ endpoint: string; publicKey: string }> {
    const w = await this.spawnWorker('worker-snp', committeeKey, endpointIndex, [{ id: contract, version: 1 }],
      { tee: 'SNP', measurements: { measurement: DEMO_SNP_MEASUREMENT } }, ['--tee', 'snp']);
    this.snpWorker = w;
    return { endpoint: w.endpoint, publicKey: w.publicKey };
  }

  private async spawnWorker(name: string, committeeKey: Uint8Array, endpointIndex: number, contracts: { id: string; version: number }[],
    tee: Record<string, unknown>, flags: string[] = []): Promise<RunningWorker> {
    const dir = path.join(this.opts.dir, name);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const readyFile = path.join(dir, 'ready.json');
    fs.rmSync(readyFile, { force: true });
    const configFile = path.join(dir, 'config.json');
    fs.writeFileSync(configFile, JSON.stringify({
      listen: '127.0.0.1:0', gatekeeper: this.nodes[endpointIndex]!.endpoint, committeeKey: bytesToHex(committeeKey),
      contracts, testPki: this.testPkiFile, ...tee, readyFile, ...(this.opts.tls ? { tls: { caFile: this.opts.tls.caFile } } : {}),
    }, null, 2));
    const out = fs.openSync(path.join(dir, 'worker.log'), 'a');
    const proc = spawn(process.execPath, [builtCli(), 'worker', '--config', configFile, ...flags], { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    const deadline = Date.now() + 60_000;
    while (!fs.existsSync(readyFile)) {
      if (proc.exitCode !== null) throw new Error(`the worker exited with code ${proc.exitCode}; see ${dir}/worker.log`);
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`the worker did not become ready; see ${dir}/worker.log`);
      }
      await sleep(100);
    }
    await sleep(50);
    const ready = JSON.parse(fs.readFileSync(readyFile, 'utf8')) as { endpoint: string; contracts: { id: string; version: number; publicKey: string }[] };
    return { process: proc, endpoint: ready.endpoint, client: new GatekeeperClient(ready.endpoint), publicKey: ready.contracts[ready.contracts.length - 1]!.publicKey };
  }

  /**
   * A client encrypts to the demo contract (or, with `snp`, the SNP worker's contract) with the
   * certified key; the worker answers the digest.
   */
  async invokeDemo(committeeKey: Uint8Array, message: Uint8Array, nodeIndex = 1, version = 1,
    opts: { snp?: boolean; contract?: string } = {}): Promise<{ digest: Uint8Array; expected: Uint8Array; length: number }> {
    const worker = opts.snp ? this.snpWorker : this.worker;
    if (!worker) throw new Error(`the ${opts.snp ? 'SNP ' : ''}worker is not running`);
    const contract = opts.contract ?? (opts.snp ? DEMO_SNP_CONTRACT : DEMO_CONTRACT);
    const { envelope } = await encryptForContract(this.nodes[nodeIndex]!.client, committeeKey, utf8(contract), message, { version });
    const res = await worker.client.call<{ plaintextSha256: Uint8Array; length: string }>('DemoContract', 'Invoke', { envelope });
    return { digest: new Uint8Array(res.plaintextSha256), expected: sha256(message), length: Number(res.length) };
  }

  /** The whole flow: create, start, unseal, genesis, check. */
  async genesis(): Promise<CommitteeView> {
    const { nodes, threshold } = this.opts;
    if (this.nodes.length === 0) {
      this.log(`creating ${nodes} nodes (k = ${threshold}) under ${this.opts.dir}`);
      await this.create();
    }
    this.log('starting node processes');
    await Promise.all(this.nodes.map((_, i) => this.startNode(i)));
    for (const n of this.nodes) this.log(`  ${n.name} listening on ${n.endpoint} (sealed)`);
    this.log('unsealing every node with 2 of its 3 development unseal shares');
    await Promise.all(this.nodes.map((_, i) => this.unseal(i)));
    this.log('collecting signed candidacies and building the governance-signed genesis snapshot');
    const snapshot = await this.genesisSnapshot(1, nodes, threshold);
    this.log('submitting the snapshot to node-1, which forwards it to every candidate');
    // Every candidate runs the election before the call returns: a long deadline on a loaded machine.
    const res = await this.nodes[0]!.client.call<{ forwardErrors: string[] }>('OperatorService', 'SubmitGenesis', { snapshot, forward: true },
      { sign: { role: 'operator', secretKey: this.operator.secretKey }, timeoutMs: 60_000 });
    // A candidate the forward missed (a deadline on a loaded machine) is given the snapshot directly:
    // accepting the same snapshot again changes nothing.
    for (const err of res.forwardErrors) {
      const i = this.nodes.findIndex((n) => err.startsWith(`${n.endpoint}: `));
      if (i < 0) throw new Error(`forwarding failed: ${err}`);
      this.log(`  the forward to ${this.nodes[i]!.name} failed (${err.slice(0, 200)}); submitting to it directly`);
      await this.operatorCall(i, 'SubmitGenesis', { snapshot, forward: false }, 60_000);
    }
    this.log('election done; running the FROST DKG for both master secrets');
    await this.waitForCommittee(Math.max(60_000, (this.opts.phaseTimeoutMs ?? 60_000) * 3), (s) => this.log(`  phase: ${s}`));
    const view = await this.checkCommittee();
    this.log(`committee formed: epoch ${view.epoch}, ${view.members.length} members, k = ${view.threshold}`);
    return view;
  }
}
