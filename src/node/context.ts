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
import type { PeerCallOptions, PeerHealth } from './peer-clients.js';
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
  /**
   * Signed PeerService call to another node, through the per-peer health gate (./peer-clients.ts): a
   * member marked down is refused at once (UNAVAILABLE) until its backoff expires.
   */
  peerCall<Res>(endpoint: string, method: string, request: Record<string, unknown>, timeoutMs?: number, opts?: PeerCallOptions): Promise<Res>;
  /** The same signed PeerService call to several nodes (one promise each, in order); `opts.signal` cancels the calls still running. */
  peerFanOut<Res>(endpoints: string[], method: string, request: Record<string, unknown>, timeoutMs?: number, opts?: PeerCallOptions): Promise<Res>[];
  /** Unsigned PublicService call to another member (fetching a certified key it serves). */
  peerPublicCall<Res>(endpoint: string, method: string, request: Record<string, unknown>, timeoutMs?: number): Promise<Res>;
  /** Which members answered lately (per-peer health with backoff). */
  peerHealth: PeerHealth;
}

/** Channel credentials for peer calls: TLS to members signed by peerCaFile, with this node's certificate. */
export function peerCredentials(config: NodeConfig): ChannelCredentials {
  const tls = config.tls;
  if (!tls) return grpcCredentials.createInsecure();
  const ca = tls.peerCaFile ? fs.readFileSync(tls.peerCaFile) : null;
  return grpcCredentials.createSsl(ca, fs.readFileSync(tls.keyFile), fs.readFileSync(tls.certFile));
}

export { PeerClients } from './peer-clients.js';
