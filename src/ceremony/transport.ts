// What the ceremony engine needs from the network, and how it asks: pull with backoff (a member that
// failed is asked again after a growing pause), evidence-based failure detection (only a refused
// connection marks a member down), coordinator choice with failover, and long polls on the serving side.

import { status } from '@grpc/grpc-js';
import { RpcError } from '../rpc/errors.js';

/** A peer refused the connection: evidence that it is down (a slow answer is not). */
export class PeerUnavailable extends Error {
  override name = 'PeerUnavailable';
}

/** A signed message as it travels: recipient '*' for a broadcast; body sealed to the recipient otherwise. */
export interface WireMessage { ceremony: string; phase: string; sender: string; recipient: string; body: Uint8Array; signature: Uint8Array }

export interface PeerRef { id: string; endpoint: string }

/** The engine's only way out: fetch the message `peer` made for us in (ceremony, phase). */
export interface Transport {
  fetch(peer: PeerRef, req: { ceremony: string; phase: string }): Promise<WireMessage>;
}

export const BACKOFF_MIN_MS = 200;
export const BACKOFF_MAX_MS = 2000;
/** A member that refused connections for this long is skipped as coordinator. */
export const FAILOVER_MS = 3000;

/** Per-key exponential backoff and per-peer down-since, on an injectable clock. */
export class Backoff {
  private readonly next = new Map<string, { at: number; delay: number }>();
  private readonly downSince = new Map<string, number>();
  constructor(private readonly now: () => number, private readonly maxMs = BACKOFF_MAX_MS) {}

  due(key: string): boolean {
    return (this.next.get(key)?.at ?? 0) <= this.now();
  }

  succeeded(key: string, peer: string): void {
    this.next.delete(key);
    this.downSince.delete(peer);
  }

  /** `refused`: the failure is evidence the peer is not answering, since `since` (when the call went out). */
  failed(key: string, peer: string, refused: boolean, since = this.now()): number {
    const delay = Math.min(this.maxMs, Math.max(BACKOFF_MIN_MS, (this.next.get(key)?.delay ?? BACKOFF_MIN_MS / 2) * 2));
    this.next.set(key, { at: this.now() + delay, delay });
    if (refused) { if (!this.downSince.has(peer)) this.downSince.set(peer, Math.min(since, this.now())); } else this.downSince.delete(peer);
    return delay;
  }

  /** Failed without answering lately (not yet long enough to count as down). */
  refused(peer: string): boolean {
    return this.downSince.has(peer);
  }

  /** Not answering, on evidence, for at least FAILOVER_MS. */
  isDown(peer: string): boolean {
    const since = this.downSince.get(peer);
    return since !== undefined && this.now() - since >= FAILOVER_MS;
  }
}

/**
 * Genesis's roster-certificate failover counts any failed pull as no answer (a timeout included: a
 * stopped member gives DEADLINE_EXCEEDED) except the member's own "not yet" (FAILED_PRECONDITION).
 */
export function noAnswer(err: unknown): boolean {
  return !(err instanceof RpcError && err.code === status.FAILED_PRECONDITION);
}

/**
 * The coordinator: the first member in roster order not known to be down. Every member computes the
 * same one unless members crash; then each moves on to the next, in the same order.
 */
export function chooseCoordinator<M extends { id: string }>(members: M[], self: string, isDown: (id: string) => boolean): M {
  return members.find((m) => m.id === self || !isDown(m.id)) ?? members[0]!;
}

/** Wakes long polls when the engine's state changes. */
export class Waiters {
  private readonly set = new Set<() => void>();
  private closed = false;

  wake(): void {
    for (const w of [...this.set]) w();
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  get isClosed(): boolean { return this.closed; }

  /** Resolves at the next wake, or after ms (real time: long polls are network timing, not protocol time). */
  next(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => { clearTimeout(timer); this.set.delete(done); resolve(); };
      const timer = setTimeout(done, ms);
      timer.unref?.();
      this.set.add(done);
    });
  }
}
