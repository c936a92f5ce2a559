// Signed PeerService calls to the other members, with per-peer health (issue 12, item 1; docs/provisioning.md).
// A member whose call failed at the transport level (UNAVAILABLE, DEADLINE_EXCEEDED) is marked down
// with exponential backoff: until the backoff expires, calls to it fail fast with UNAVAILABLE without
// touching the network (no waitForReady: a stopped process keeps its TCP connection and would hang
// every call until its deadline). When the backoff expires, one call is let through as a probe with
// waitForReady and a short deadline; its answer marks the peer up or down again. Any answer from the
// peer, a refusal included, means it is up.
import { credentials as grpcCredentials, status, type ChannelCredentials } from '@grpc/grpc-js';
import { GatekeeperClient, type CallOptions } from '../rpc/client.js';
import { signCall } from '../rpc/auth.js';
import { RpcError } from '../rpc/errors.js';
import { exponentialBackoffMs } from '../rpc/backoff.js';

export interface PeerHealthOptions {
  /** First backoff after a failure (ms); doubles per consecutive failure up to maxBackoffMs. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** Deadline of the probe call sent when a down peer's backoff expires. */
  probeTimeoutMs?: number;
  now?: () => number;
}

interface PeerState { failures: number; downUntil: number; probing: boolean }

/** Statuses that say nothing about the request, only that the peer could not be reached in time. */
const TRANSPORT_FAILURES: readonly number[] = [status.UNAVAILABLE, status.DEADLINE_EXCEEDED];

export type Admission = { kind: 'up' } | { kind: 'probe'; timeoutMs: number } | { kind: 'down'; retryInMs: number; failures: number };

/** Which peers are up, from the outcome of the calls made to them; the clock is injectable for tests. */
export class PeerHealth {
  private readonly peers = new Map<string, PeerState>();
  readonly baseBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly probeTimeoutMs: number;
  private readonly now: () => number;

  constructor(o: PeerHealthOptions = {}) {
    this.baseBackoffMs = o.baseBackoffMs ?? 500;
    this.maxBackoffMs = o.maxBackoffMs ?? 8000;
    this.probeTimeoutMs = o.probeTimeoutMs ?? 3000;
    this.now = o.now ?? Date.now;
  }

  /** May a call go to `endpoint` now, and how: normally, as the one probe, or not at all. */
  admit(endpoint: string): Admission {
    const s = this.peers.get(endpoint);
    if (!s || s.failures === 0) return { kind: 'up' };
    const now = this.now();
    if (now < s.downUntil || s.probing) return { kind: 'down', retryInMs: Math.max(0, s.downUntil - now), failures: s.failures };
    s.probing = true;
    return { kind: 'probe', timeoutMs: this.probeTimeoutMs };
  }

  /** The peer answered (an answer or a refusal). */
  succeeded(endpoint: string): void {
    this.peers.delete(endpoint);
  }

  /** The call ended without reaching the peer (a transport failure); a probe's failure doubles the backoff. */
  failed(endpoint: string): void {
    const s = this.peers.get(endpoint) ?? { failures: 0, downUntil: 0, probing: false };
    s.failures++;
    s.probing = false;
    s.downUntil = this.now() + exponentialBackoffMs(s.failures - 1, this.baseBackoffMs, this.maxBackoffMs);
    this.peers.set(endpoint, s);
  }

  /** The call was cancelled by this member (it had enough answers): nothing learnt; a probe may be sent again. */
  abandoned(endpoint: string): void {
    const s = this.peers.get(endpoint);
    if (s) s.probing = false;
  }

  /**
   * True while a call to `endpoint` would be refused at once (its backoff runs, or its one probe is out).
   * A member back from a stop is asked again (as the probe) once its backoff ends, so a fan-out that
   * skips the members refusing calls never skips one on a stale mark.
   */
  refusing(endpoint: string): boolean {
    const s = this.peers.get(endpoint);
    return !!s && s.failures > 0 && (this.now() < s.downUntil || s.probing);
  }

  /** True while `endpoint` is marked down. */
  isDown(endpoint: string): boolean {
    const s = this.peers.get(endpoint);
    return !!s && s.failures > 0;
  }

  /** Records the outcome of a call to `endpoint`. */
  observe(endpoint: string, err: unknown): void {
    if (err === undefined) { this.succeeded(endpoint); return; }
    if (err instanceof RpcError && err.code === status.CANCELLED) { this.abandoned(endpoint); return; }
    if (err instanceof RpcError && !TRANSPORT_FAILURES.includes(err.code)) { this.succeeded(endpoint); return; }
    this.failed(endpoint);
  }
}

export interface PeerCallOptions {
  /** Deadline of this call (ms from now). */
  timeoutMs?: number;
  /** Aborting cancels the call (CANCELLED); a fan-out cancels the calls it no longer needs. */
  signal?: AbortSignal;
}

/** Keeps one client per peer endpoint, signs every call with the node's identity key, and tracks peer health. */
export class PeerClients {
  private readonly clients = new Map<string, GatekeeperClient>();
  readonly health: PeerHealth;

  constructor(private readonly identitySecret: Uint8Array, private readonly identityKey: Uint8Array,
    private readonly credentials: ChannelCredentials = grpcCredentials.createInsecure(), health?: PeerHealth) {
    this.health = health ?? new PeerHealth();
  }

  private client(endpoint: string): GatekeeperClient {
    let c = this.clients.get(endpoint);
    if (!c) {
      // Members restart: reconnect quickly instead of grpc's default backoff of up to two minutes.
      c = new GatekeeperClient(endpoint, this.credentials, { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 2000 });
      this.clients.set(endpoint, c);
    }
    return c;
  }

  /** One call through the health gate: refused at once while the peer is down, a short probe when its backoff ends. */
  private gated<Res>(endpoint: string, send: (opts: CallOptions) => Promise<Res>, timeoutMs: number, signal?: AbortSignal): Promise<Res> {
    const admission = this.health.admit(endpoint);
    if (admission.kind === 'down') {
      return Promise.reject(new RpcError(status.UNAVAILABLE, `member ${endpoint} is marked down after ${admission.failures} failed call(s); `
        + `next attempt in ${admission.retryInMs} ms`));
    }
    const t = admission.kind === 'probe' ? Math.min(timeoutMs, admission.timeoutMs) : timeoutMs;
    return send({ timeoutMs: t, waitForReady: true, signal }).then(
      (res) => { this.health.observe(endpoint, undefined); return res; },
      (err: unknown) => { this.health.observe(endpoint, err); throw err; });
  }

  call<Res>(endpoint: string, method: string, request: Record<string, unknown>, timeoutMs = 3000, opts: PeerCallOptions = {}): Promise<Res> {
    const sign = { role: 'peer' as const, secretKey: this.identitySecret, publicKey: this.identityKey };
    return this.gated(endpoint, (o) => this.client(endpoint).call<Res>('PeerService', method, request, { ...o, sign }), opts.timeoutMs ?? timeoutMs, opts.signal);
  }

  /** An unsigned PublicService call (a member fetching a certified key another member serves). */
  publicCall<Res>(endpoint: string, method: string, request: Record<string, unknown>, timeoutMs = 3000): Promise<Res> {
    return this.gated(endpoint, (o) => this.client(endpoint).call<Res>('PublicService', method, request, o), timeoutMs);
  }

  /**
   * The same request to several members, signed once: each member accepts the signed call once (its
   * own replay registry), and the request is one the caller meant every one of them to get.
   */
  fanOut<Res>(endpoints: string[], method: string, request: Record<string, unknown>, timeoutMs = 3000, opts: PeerCallOptions = {}): Promise<Res>[] {
    const bytes = GatekeeperClient.encode('PeerService', method, request);
    const metadata = signCall('peer', this.identitySecret, `/gatekeeper.v1.PeerService/${method}`, bytes, Date.now(), this.identityKey);
    return endpoints.map((e) => this.gated(e, (o) => this.client(e).callRaw<Res>('PeerService', method, bytes, { ...o, metadata }),
      opts.timeoutMs ?? timeoutMs, opts.signal));
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
