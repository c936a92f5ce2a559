// A Gatekeeper node: one gRPC server (public, operator, peer services, health, reflection), its SQLite
// database, Prometheus metrics, and the ceremony driver. It starts sealed and serves nothing secret
// until `threshold` operators' unseal shares arrive (DESIGN §1, §7).
import * as grpc from '@grpc/grpc-js';
import fs from 'node:fs';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { openDatabase, type Db } from '../store/database.js';
import { checkHighWater, HighWater, type HighWaterOptions } from '../store/high-water.js';
import { CeremonyStore } from '../store/ceremony-store.js';
import { AuditLog } from '../audit/log.js';
import { NonceRegistry } from '../rpc/auth.js';
import { loadGatekeeperProtos, serviceDefinition, type ServiceName } from '../rpc/proto.js';
import { unary, type HandlerHooks, type UnaryHandler } from '../rpc/handler.js';
import { failedPrecondition, invalidArgument, permissionDenied, RpcError, unavailable } from '../rpc/errors.js';
import { attestationRoot, databaseFile, snpArks, type AttestationRoot, type NodeConfig, type SnpArks } from './config.js';
import { KeystoreError, readNodePublic, Unsealer, type NodePublic } from './keystore.js';
import { createLogger, type Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { peerCredentials, type NodeContext } from './context.js';
import { PeerClients, type PeerCallOptions } from './peer-clients.js';
import { GenesisCeremony } from './genesis.js';
import { ContractKeys } from './contract-keys.js';
import { makeGuards } from './services/guard.js';
import { publicService } from './services/public.js';
import { operatorService } from './services/operator.js';
import { peerService } from './services/peer.js';
import { workerService } from './services/worker.js';
import { runCryptoSelfTest } from '../crypto/self-test.js';

const SERVICES: ServiceName[] = ['PublicService', 'WorkerService', 'OperatorService', 'PeerService'];
const TICK_MS = 150;

export interface NodeRuntime {
  readonly public: NodePublic | undefined;
  readonly context: NodeContext | undefined;
  readonly unsealProgress: number;
  /** Unseal calls refused since start (malformed, not this node's share, rate limited). */
  readonly unsealFailures: number;
  /** The pinned attestation root. */
  readonly attestationRoot: AttestationRoot;
  /** The trusted SEV-SNP ARKs. */
  readonly snpArks: SnpArks;
  /** Ceremonies and certificates (public columns), readable while sealed. */
  readonly ceremonyView: CeremonyStore;
  unseal(share: string): Promise<void>;
  resetUnseal(actor: string): void;
  noteUnsealFailure(reason: UnsealFailure): void;
}

/** The node could not start serving (a port in use, an address it cannot bind); the message names the config field. */
export class NodeStartError extends Error {
  override name = 'NodeStartError';
}

function bindReason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'EADDRINUSE' || /EADDRINUSE|address already in use/i.test(text)) return 'the port is already in use (another process listens on it)';
  if (code === 'EACCES' || /EACCES/.test(text)) return 'permission denied (ports below 1024 need privileges)';
  if (code === 'EADDRNOTAVAIL' || /EADDRNOTAVAIL/.test(text)) return 'this machine has no such address';
  return text.replace(/\s*Resolution note:.*$/s, '').slice(0, 200);
}

export type UnsealFailure = 'malformed' | 'refused' | 'rate-limited' | 'state';

export interface NodeOptions {
  /** How the high-water mark is kept (tests turn the WAL checkpoint off). */
  highWater?: HighWaterOptions;
}

export class GatekeeperNode implements NodeRuntime {
  readonly db: Db;
  readonly log: Logger;
  readonly metrics = new Metrics();
  readonly audit: AuditLog;
  /** The high-water mark outside the database (docs/backup.md). */
  readonly highWater: HighWater;
  private readonly server: grpc.Server;
  // Sealed: the server and every service answer NOT_SERVING (not NOT_FOUND) until unsealed.
  private readonly health = new HealthImplementation(Object.fromEntries([['', 'NOT_SERVING'], ...SERVICES.map((s) => [`gatekeeper.v1.${s}`, 'NOT_SERVING'])]));
  private readonly unsealer: Unsealer;
  /** The replay registry of signed calls (tests read its size). */
  readonly nonces: NonceRegistry;
  private ctx: NodeContext | undefined;
  private peers: PeerClients | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pub: NodePublic | undefined;
  readonly attestationRoot: AttestationRoot;
  readonly snpArks: SnpArks;
  readonly ceremonyView: CeremonyStore;
  // Refused unseal calls are counted, not audited one by one (an audit row each let anyone fill the
  // disk); the counts go to the audit log as one row when the node unseals or stops.
  private readonly unsealRefusals = new Map<UnsealFailure, number>();
  private unsealRefusalsTotal = 0;
  private lastUnsealWarnMs = 0;
  port = 0;
  metricsPort = 0;

  constructor(readonly config: NodeConfig, logger?: Logger, opts: NodeOptions = {}) {
    this.log = logger ?? createLogger(config.name, config.logLevel);
    this.attestationRoot = attestationRoot(config);
    this.snpArks = snpArks(config);
    const dbFile = databaseFile(config);
    this.db = openDatabase(dbFile);
    // A database behind what this node acknowledged (lost -wal, old copy) is refused here, before
    // anything is served (HighWaterError names both counters and says to restore from backup).
    try {
      const check = checkHighWater(this.db, dbFile);
      if (check.file === undefined && check.database.counter > 0) {
        this.log.warn({ counter: check.database.counter }, 'no high-water file beside the database: created one from the database (first start with this version, or the file was removed)');
      }
      this.highWater = new HighWater(this.db, dbFile, check.database, opts.highWater);
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.audit = new AuditLog(this.db);
    this.ceremonyView = new CeremonyStore(this.db);
    this.logAuditedEvents();
    this.unsealer = new Unsealer(this.db);
    this.nonces = new NonceRegistry(config.clockSkewMs);
    this.pub = readNodePublic(this.db);
    this.metrics.sealed.set(1);
    const certs = this.ceremonyView.certificates();
    this.metrics.epoch.set(certs.length ? certs[certs.length - 1]!.epoch : 0);
    this.metrics.attestationRoot.labels(this.attestationRoot.sha256, this.attestationRoot.development ? '1' : '0').set(1);
    for (const sha of this.snpArks.sha256) this.metrics.snpArk.labels(sha, this.snpArks.development ? '1' : '0').set(1);
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': config.maxMessageBytes,
      'grpc.max_send_message_length': config.maxMessageBytes,
    });
    this.registerServices();
  }

  /**
   * Every audited event (policy installs, contract registrations, key releases and publications,
   * revocations, alarms, ceremony transitions) is also a log line and a metric. Audit details never
   * hold secrets (the audit log is readable by operators), so logging them exposes nothing new.
   */
  private logAuditedEvents(): void {
    const append = this.audit.append.bind(this.audit);
    const phaseStarted = new Map<number, { phase: string; atMs: number }>();
    this.audit.append = (actor, action, detail = {}) => {
      const entry = append(actor, action, detail);
      this.metrics.auditEvents.labels(action).inc();
      this.log.info({ actor, action, detail }, `audit: ${action}`);
      // Ceremony phase durations: the time between one transition of an epoch and the next.
      const epoch = typeof detail.epoch === 'number' ? detail.epoch : undefined;
      if (epoch !== undefined && (action.startsWith('genesis.'))) {
        const now = Date.now();
        const prev = phaseStarted.get(epoch);
        const phase = action === 'genesis.accepted' ? (detail.elected ? 'round1' : 'observing') : action.slice('genesis.'.length);
        if (prev) this.metrics.ceremonyPhaseSeconds.labels(prev.phase).observe((now - prev.atMs) / 1000);
        if (phase === 'complete' || phase === 'aborted') phaseStarted.delete(epoch);
        else phaseStarted.set(epoch, { phase, atMs: now });
      }
      return entry;
    };
  }

  /** A worker call refused (bad quote, policy, revocation, replay...) is logged with the node's reason. */
  private logRefusals(method: string, handler: UnaryHandler<never, unknown>): UnaryHandler<never, unknown> {
    return async (req, ctx) => {
      try {
        return await handler(req, ctx);
      } catch (err) {
        if (err instanceof RpcError) {
          const contract = (req as { contractId?: unknown }).contractId;
          this.log.warn({ method, code: grpc.status[err.code], reason: err.message.slice(0, 500),
            contractId: contract instanceof Uint8Array ? Buffer.from(contract).toString('hex').slice(0, 128) : undefined,
            version: (req as { version?: unknown }).version }, `${method} refused`);
        }
        throw err;
      }
    };
  }

  get public(): NodePublic | undefined { return this.pub; }
  get context(): NodeContext | undefined { return this.ctx; }
  get unsealProgress(): number { return this.unsealer.progress; }
  get unsealFailures(): number { return this.unsealRefusalsTotal; }

  noteUnsealFailure(reason: UnsealFailure): void {
    this.unsealRefusals.set(reason, (this.unsealRefusals.get(reason) ?? 0) + 1);
    this.unsealRefusalsTotal++;
    this.metrics.unsealFailures.labels(reason).inc();
    const now = Date.now();
    if (now - this.lastUnsealWarnMs >= 60_000) {
      this.lastUnsealWarnMs = now;
      this.log.warn({ refused: this.unsealRefusalsTotal, reason }, 'unseal call refused (counted; logged at most once a minute)');
    }
  }

  /** One audit row with the refused unseal calls counted since the last such row, if any. */
  private auditUnsealRefusals(): void {
    if (this.unsealRefusals.size === 0) return;
    this.audit.append('operator', 'unseal.failed', { count: [...this.unsealRefusals.values()].reduce((a, b) => a + b, 0), byReason: Object.fromEntries(this.unsealRefusals) });
    this.unsealRefusals.clear();
  }

  private registerServices(): void {
    const guards = makeGuards(this.config, () => this.nonces, () => this.ctx);
    const impls: Record<ServiceName, Record<string, UnaryHandler<never, unknown>>> = {
      PublicService: publicService(guards),
      OperatorService: operatorService(this, guards),
      PeerService: peerService(guards),
      WorkerService: workerService(guards),
      DemoContract: {},
    };
    const hooks: HandlerHooks = {
      onError: (method, err, errorId) => this.log.error({ method, errorId, err: err instanceof Error ? err.message : String(err) }, 'handler failed'),
      onDone: (method, code, seconds) => this.metrics.observeRpc(method, code, seconds),
      // Durable before acknowledged: what the call wrote reaches the high-water file before its answer leaves.
      beforeReply: () => this.highWater.sync(),
    };
    for (const name of SERVICES) {
      const def = serviceDefinition(name);
      const impl: grpc.UntypedServiceImplementation = {};
      for (const method of Object.keys(def)) {
        let handler = impls[name][method];
        if (!handler) continue;
        if (name === 'WorkerService') handler = this.logRefusals(method, handler);
        impl[method] = unary(`/gatekeeper.v1.${name}/${method}`, handler as UnaryHandler<unknown, unknown>, hooks);
      }
      this.server.addService(def, impl);
    }
    this.health.addToServer(this.server);
    if (this.config.reflection) {
      // Reflection lists the services this server answers (not DemoContract, which workers serve) and
      // the standard health service; the message types of every file stay available.
      const health = protoLoader.loadSync(healthProtoPath, { keepCase: true });
      const services = [...SERVICES.map((n) => `gatekeeper.v1.${n}`), 'grpc.health.v1.Health'];
      new ReflectionService({ ...loadGatekeeperProtos().definition, ...health }, { services }).addToServer(this.server);
    }
  }

  /** Binds the gRPC server (and metrics); resolves to the bound port. */
  async start(): Promise<number> {
    const creds = this.serverCredentials();
    const selfTestMs = await runCryptoSelfTest();
    this.log.info({ cpuMs: Math.round(selfTestMs) }, 'cryptographic self-test passed');
    if (this.attestationRoot.development) {
      this.log.warn({ attestationRoot: this.attestationRoot.sha256, file: this.config.attestation.trustedRootFile },
        'DEVELOPMENT attestation root: quotes are checked against a root that is not Intel\'s SGX Root CA; never use this for real secrets');
    } else {
      this.log.info({ attestationRoot: this.attestationRoot.sha256 }, 'attestation root: Intel SGX Root CA');
    }
    if (this.snpArks.development) {
      this.log.warn({ snpArks: this.snpArks.sha256, files: this.config.attestation.snpArkFiles },
        'DEVELOPMENT SEV-SNP ARK: SNP reports are checked against an ARK that is not AMD\'s; never use this for real secrets');
    }
    if (!this.config.tls) this.log.warn({ listen: this.config.listen }, 'serving plaintext gRPC (no tls configured)');
    try {
      this.port = await new Promise<number>((resolve, reject) => {
        this.server.bindAsync(this.config.listen, creds, (err, port) => (err ? reject(err) : resolve(port)));
      });
    } catch (err) {
      throw new NodeStartError(`config field 'listen' (${this.config.listen}): cannot serve gRPC there: ${bindReason(err)}`);
    }
    if (this.config.metricsListen) {
      try {
        this.metricsPort = await this.metrics.listen(this.config.metricsListen);
      } catch (err) {
        this.server.forceShutdown();
        throw new NodeStartError(`config field 'metricsListen' (${this.config.metricsListen}): cannot serve metrics there: ${bindReason(err)}`);
      }
    }
    this.log.info({ port: this.port, initialized: !!this.pub }, this.pub ? 'node started sealed' : 'node started uninitialized');
    return this.port;
  }

  private serverCredentials(): grpc.ServerCredentials {
    const tls = this.config.tls;
    if (!tls) return grpc.ServerCredentials.createInsecure();
    const ca = tls.clientCaFile ? fs.readFileSync(tls.clientCaFile) : null;
    return grpc.ServerCredentials.createSsl(ca, [{ cert_chain: fs.readFileSync(tls.certFile), private_key: fs.readFileSync(tls.keyFile) }], !!ca);
  }

  resetUnseal(actor: string): void {
    if (this.unsealer.progress > 0) this.audit.append(actor, 'unseal.reset', { discarded: this.unsealer.progress });
    this.unsealer.reset();
  }

  async unseal(share: string): Promise<void> {
    if (this.ctx) return;
    if (!this.pub) throw failedPrecondition('this node is not initialized: run `gatekeeper init` first');
    let keys;
    try {
      keys = await this.unsealer.add(share);
    } catch (err) {
      if (err instanceof KeystoreError) {
        this.noteUnsealFailure(err.kind);
        if (err.kind === 'malformed') throw invalidArgument(err.message);
        if (err.kind === 'refused') throw permissionDenied(err.message);
        throw failedPrecondition(err.message);
      }
      throw err;
    }
    if (!keys) return;
    // Everything that can fail runs before the node counts as unsealed: a read-only or failing database
    // makes the whole unseal fail (the node stays sealed, health NOT_SERVING), never half of it.
    let ctx: NodeContext;
    let peers: PeerClients | undefined;
    let epoch: number;
    try {
      this.probeWritable();
      const clients = new PeerClients(keys.identitySecret, this.pub.identityKey, peerCredentials(this.config));
      peers = clients;
      // What a ceremony wrote is durable (high-water file) before a peer hears of it.
      const durable = <T>(send: () => Promise<T>): Promise<T> => {
        try { this.highWater.sync(); } catch (err) { return Promise.reject(err); }
        return send();
      };
      ctx = {
        config: this.config, db: this.db, self: this.pub, keys, audit: this.audit, log: this.log, metrics: this.metrics,
        ceremonies: new CeremonyStore(this.db), now: () => Date.now(),
        peerCall: <Res>(endpoint: string, method: string, req: Record<string, unknown>, timeoutMs?: number, o?: PeerCallOptions) =>
          durable(() => clients.call<Res>(endpoint, method, req, timeoutMs, o)),
        peerFanOut: <Res>(endpoints: string[], method: string, req: Record<string, unknown>, timeoutMs?: number, o?: PeerCallOptions) => {
          try { this.highWater.sync(); } catch (err) { return endpoints.map(() => Promise.reject(err)); }
          return clients.fanOut<Res>(endpoints, method, req, timeoutMs, o);
        },
        peerPublicCall: <Res>(endpoint: string, method: string, req: Record<string, unknown>, timeoutMs?: number) => clients.publicCall<Res>(endpoint, method, req, timeoutMs),
        peerHealth: clients.health,
      } as Omit<NodeContext, 'genesis' | 'contractKeys'> as NodeContext;
      ctx.genesis = new GenesisCeremony(ctx);
      ctx.contractKeys = new ContractKeys(ctx);
      const certs = ctx.ceremonies.certificates();
      epoch = certs.length ? certs[certs.length - 1]!.epoch : 0;
      this.auditUnsealRefusals();
      this.audit.append('operator', 'unsealed', { nodeId: Buffer.from(this.pub.nodeId).toString('hex') });
      this.highWater.sync();
    } catch (err) {
      peers?.close();
      keys.identitySecret.fill(0);
      keys.transportSecret.fill(0);
      this.unsealer.reset();
      this.log.error({ err: err instanceof Error ? err.message : String(err) }, 'unseal failed: the database cannot be written; the node stays sealed');
      throw unavailable(`unseal failed: the database ${databaseFile(this.config)} cannot be written (${errorText(err)}); `
        + 'the node stays sealed: fix the database (read-only file or disk, full disk) and unseal again');
    }
    this.peers = peers!;
    this.ctx = ctx;
    this.metrics.sealed.set(0);
    this.metrics.epoch.set(epoch);
    this.health.setStatus('', 'SERVING');
    for (const s of SERVICES) this.health.setStatus(`gatekeeper.v1.${s}`, 'SERVING');
    this.log.info({ running: ctx.ceremonies.running().map((c) => ({ epoch: c.epoch, state: c.state })) }, 'node unsealed');
    this.timer = setInterval(() => { void ctx.genesis.tick(); void ctx.contractKeys.tick(); }, TICK_MS);
  }

  /** Throws unless the database takes a write (read-only file, read-only mount, query_only, I/O error). */
  private probeWritable(): void {
    // A write that changes nothing, rolled back: SQLite still needs the write lock and a writable file.
    try {
      this.db.transaction(() => {
        this.db.prepare('UPDATE high_water SET counter = counter WHERE id = 1').run();
        throw new ProbeDone();
      })();
    } catch (err) {
      if (!(err instanceof ProbeDone)) throw err;
    }
  }

  async stop(): Promise<void> {
    if (!this.db.open) return;
    if (this.timer) clearInterval(this.timer);
    try {
      this.auditUnsealRefusals();
      this.highWater.sync();
    } catch (err) {
      this.log.error({ err: errorText(err) }, 'could not record the last writes at stop');
    }
    this.ctx?.genesis.close();
    this.peers?.close();
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    await this.metrics.close();
    this.db.close();
  }
}

class ProbeDone extends Error {}

/** An error's message for an operator, bounded (SQLite messages are short; anything else is cut). */
function errorText(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.length > 200 ? `${m.slice(0, 200)}…` : m;
}
