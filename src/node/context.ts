// What the services and the ceremony driver share once a node is unsealed.
import type { Db } from '../store/database.js';
import type { NodeConfig } from './config.js';
import type { NodePublic, UnsealedKeys } from './keystore.js';
import type { AuditLog } from '../audit/log.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { CeremonyStore } from '../store/ceremony-store.js';
import fs from 'node:fs';
import { credentials as grpcCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import { GatekeeperClient, type CallOptions } from '../rpc/client.js';
import { signCall } from '../rpc/auth.js';
import type { GenesisCeremony } from './genesis.js';
import type { ContractKeys } from './contract-keys.js';

export interface NodeContext {
  config: NodeConfig;
  db: Db;
  self: NodePublic;
  keys: UnsealedKeys;
  audit: AuditLog;
  log: Logger;
  metrics: Metrics;
  ceremonies: CeremonyStore;
  genesis: GenesisCeremony;
  contractKeys: ContractKeys;
  now(): number;
  /** Signed PeerService call to another node. */
  peerCall<Res>(endpoint: string, method: string, request: Record<string, unknown>, timeoutMs?: number): Promise<Res>;
  /** The same signed PeerService call to several nodes (one promise each, in order). */
  peerFanOut<Res>(endpoints: string[], method: string, request: Record<string, unknown>, timeoutMs?: number): Promise<Res>[];
}

/** Channel credentials for peer calls: TLS to members signed by peerCaFile, with this node's certificate. */
export function peerCredentials(config: NodeConfig): ChannelCredentials {
  const tls = config.tls;
  if (!tls) return grpcCredentials.createInsecure();
  const ca = tls.peerCaFile ? fs.readFileSync(tls.peerCaFile) : null;
  return grpcCredentials.createSsl(ca, fs.readFileSync(tls.keyFile), fs.readFileSync(tls.certFile));
}

/** Keeps one client per peer endpoint and signs every call with the node's identity key. */
export class PeerClients {
  private readonly clients = new Map<string, GatekeeperClient>();
  constructor(private readonly identitySecret: Uint8Array, private readonly identityKey: Uint8Array,
    private readonly credentials: ChannelCredentials = grpcCredentials.createInsecure()) {}

  private client(endpoint: string): GatekeeperClient {
    let c = this.clients.get(endpoint);
    if (!c) {
      // Members restart: reconnect quickly instead of grpc's default backoff of up to two minutes.
      c = new GatekeeperClient(endpoint, this.credentials, { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 2000 });
      this.clients.set(endpoint, c);
    }
    return c;
  }

  call<Res>(endpoint: string, method: string, request: Record<string, unknown>, timeoutMs = 3000): Promise<Res> {
    const opts: CallOptions = { sign: { role: 'peer', secretKey: this.identitySecret, publicKey: this.identityKey }, timeoutMs, waitForReady: true };
    return this.client(endpoint).call<Res>('PeerService', method, request, opts);
  }

  /**
   * The same request to several members, signed once: each member accepts the signed call once (its
   * own replay registry), and the request is one the caller meant every one of them to get.
   */
  fanOut<Res>(endpoints: string[], method: string, request: Record<string, unknown>, timeoutMs = 3000): Promise<Res>[] {
    const bytes = GatekeeperClient.encode('PeerService', method, request);
    const metadata = signCall('peer', this.identitySecret, `/gatekeeper.v1.PeerService/${method}`, bytes, Date.now(), this.identityKey);
    return endpoints.map((e) => this.client(e).callRaw<Res>('PeerService', method, bytes, { metadata, timeoutMs, waitForReady: true }));
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
