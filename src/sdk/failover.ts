// A client of several committee members (issue 12 item 3). Every answer is still checked by the caller
// against the pinned committee key (client.ts, worker.ts): failover only decides WHO is asked, never
// what is believed, so a member that answers wrongly is refused exactly as a single endpoint would be.
//
// Idempotent reads (GetCommittee, GetContractKey, GetChallenge) that fail with a transient status
// (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED) are retried on another member, all within the
// caller's one deadline; FAILED_PRECONDITION (a sealed member, or one still without the key) moves an
// idempotent read on to each member not yet asked, and is final only when all have said it. Each
// member keeps a health record: after such a failure it is skipped for an exponentially growing
// backoff, and the member that answered last is asked first next time.
// Other calls (provisioning, publication, operator calls) go to one member, once: the caller decides.
import * as grpc from '@grpc/grpc-js';
import { GatekeeperClient as EndpointClient, type CallOptions } from '../rpc/client.js';
import { RpcError } from '../rpc/errors.js';
import type { ServiceName } from '../rpc/proto.js';
import { fetchCommittee, type Committee, type RpcCaller } from './client.js';
import { exponentialBackoffMs } from '../rpc/backoff.js';

/** Statuses after which the same idempotent call may be sent to another member. */
export const TRANSIENT_STATUSES: readonly grpc.status[] = [grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.RESOURCE_EXHAUSTED];

/** Calls that change nothing on a member, so a retry elsewhere is safe. */
export const IDEMPOTENT_CALLS: readonly string[] = ['PublicService/GetCommittee', 'PublicService/GetContractKey', 'WorkerService/GetChallenge'];

/** One member connection as the failover client needs it (the rpc GatekeeperClient fits). */
export interface EndpointCaller extends RpcCaller { close(): void }

export interface FailoverOptions {
  /** Channel credentials for every endpoint (default plaintext). */
  credentials?: grpc.ChannelCredentials;
  /** grpc-js channel options for every endpoint. */
  channelOptions?: grpc.ClientOptions;
  /** Builds the connection to one endpoint (default: an rpc GatekeeperClient with the options above). */
  connect?: (endpoint: string) => EndpointCaller;
  /** Default deadline of a call in ms when the caller gives none (10 s). */
  timeoutMs?: number;
  /** First backoff after a transient failure (200 ms); it doubles per consecutive failure. */
  backoffBaseMs?: number;
  /** Longest backoff (5 s). */
  backoffMaxMs?: number;
  /** Shortest time one attempt is given, however many members are left (500 ms). */
  minAttemptMs?: number;
  /** Clock and sleep, injectable for tests. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Health record of one member, as `health()` reports it. */
export interface EndpointHealth {
  endpoint: string;
  /** Consecutive transient failures (0: healthy). */
  failures: number;
  /** Not asked before this time (ms, the client's clock) unless no other member is left. */
  retryAtMs: number;
  /** The last transient failure, bounded. */
  lastError?: string;
}

interface Member extends EndpointHealth { caller?: EndpointCaller }

const ENDPOINT_RE = /^[^\s]{1,253}:\d{1,5}$/;
const MAX_DETAIL = 160;

function bounded(s: string): string {
  return s.length > MAX_DETAIL ? `${s.slice(0, MAX_DETAIL)}…` : s;
}

function statusName(code: number): string {
  return (grpc.status as unknown as Record<number, string>)[code] ?? String(code);
}

/** host:port strings, each checked, duplicates dropped, order kept. */
export function parseEndpoints(endpoints: string | readonly string[]): string[] {
  const list = typeof endpoints === 'string' ? endpoints.split(',') : [...endpoints];
  const out: string[] = [];
  for (const raw of list) {
    if (typeof raw !== 'string') throw new TypeError('endpoints must be host:port strings');
    const e = raw.trim();
    if (!ENDPOINT_RE.test(e) || Number(e.slice(e.lastIndexOf(':') + 1)) > 65535) {
      throw new TypeError(`endpoint '${bounded(e)}' is not host:port`);
    }
    if (!out.includes(e)) out.push(e);
  }
  if (out.length === 0) throw new TypeError('give at least one endpoint (host:port)');
  return out;
}

/**
 * The SDK's client of a committee: one or several member endpoints (`"h1:p1,h2:p2"` or an array),
 * failover with per-member backoff, and retries of idempotent calls within one deadline. Exported by
 * the package as `GatekeeperClient`.
 */
export class FailoverClient implements RpcCaller {
  private readonly members: Member[] = [];
  private preferred = 0;
  private readonly opts: Required<Pick<FailoverOptions, 'timeoutMs' | 'backoffBaseMs' | 'backoffMaxMs' | 'minAttemptMs' | 'now' | 'sleep'>>;
  private readonly connect: (endpoint: string) => EndpointCaller;

  constructor(endpoints: string | readonly string[], options: FailoverOptions = {}) {
    this.opts = {
      timeoutMs: options.timeoutMs ?? 10_000,
      backoffBaseMs: options.backoffBaseMs ?? 200,
      backoffMaxMs: options.backoffMaxMs ?? 5_000,
      minAttemptMs: options.minAttemptMs ?? 500,
      now: options.now ?? Date.now,
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    };
    const credentials = options.credentials ?? grpc.credentials.createInsecure();
    const channelOptions = options.channelOptions ?? {};
    this.connect = options.connect ?? ((endpoint) => new EndpointClient(endpoint, credentials, channelOptions));
    this.addEndpoints(endpoints);
  }

  /** The member endpoints, in the order they were given. */
  get endpoints(): string[] {
    return this.members.map((m) => m.endpoint);
  }

  /** Adds endpoints (duplicates ignored), e.g. the members of a certified roster. */
  addEndpoints(endpoints: string | readonly string[]): void {
    for (const endpoint of parseEndpoints(endpoints)) {
      if (!this.members.some((m) => m.endpoint === endpoint)) this.members.push({ endpoint, failures: 0, retryAtMs: 0 });
    }
  }

  /** Adds the endpoints of a committee that fetchCommittee verified under the pinned key. */
  addCommitteeEndpoints(committee: Committee): void {
    const valid = committee.members.map((m) => m.endpoint).filter((e) => ENDPOINT_RE.test(e));
    if (valid.length > 0) this.addEndpoints(valid);
  }

  /** Each member's health record (copies). */
  health(): EndpointHealth[] {
    return this.members.map(({ endpoint, failures, retryAtMs, lastError }) => ({ endpoint, failures, retryAtMs, ...(lastError ? { lastError } : {}) }));
  }

  private caller(m: Member): EndpointCaller {
    m.caller ??= this.connect(m.endpoint);
    return m.caller;
  }

  // Members in the order they are asked: the preferred one first, then round the list; members in
  // backoff go after every healthy one, the soonest to recover first.
  private order(now: number): number[] {
    const n = this.members.length;
    const idx = Array.from({ length: n }, (_, i) => (this.preferred + i) % n);
    const ready = idx.filter((i) => this.members[i]!.retryAtMs <= now);
    const waiting = idx.filter((i) => this.members[i]!.retryAtMs > now).sort((a, b) => this.members[a]!.retryAtMs - this.members[b]!.retryAtMs);
    return [...ready, ...waiting];
  }

  private markFailed(m: Member, err: RpcError, now: number): void {
    m.failures += 1;
    m.retryAtMs = now + exponentialBackoffMs(m.failures - 1, this.opts.backoffBaseMs, this.opts.backoffMaxMs);
    m.lastError = `${statusName(err.code)}: ${bounded(err.message)}`;
  }

  private markGood(i: number): void {
    const m = this.members[i]!;
    m.failures = 0;
    m.retryAtMs = 0;
    delete m.lastError;
    this.preferred = i;
  }

  /**
   * Calls `service.method` on a member. Idempotent calls move on to another member after a transient
   * status until the deadline (`opts.timeoutMs` from now) passes; the last failure is then thrown as an
   * RpcError naming every attempt. A member's non-transient answer (NOT_FOUND, PERMISSION_DENIED, ...)
   * is final.
   */
  async call<Res = Record<string, unknown>>(service: ServiceName, method: string, request: Record<string, unknown> = {},
    opts: CallOptions = {}): Promise<Res> {
    const start = this.opts.now();
    const deadline = start + (opts.timeoutMs ?? this.opts.timeoutMs);
    const retry = IDEMPOTENT_CALLS.includes(`${service}/${method}`);
    const attempts: string[] = [];
    let last: RpcError | undefined;
    const tried = new Set<number>();
    for (;;) {
      const now = this.opts.now();
      const remaining = deadline - now;
      if (remaining <= 0) break;
      const order = this.order(now);
      // Before every member has been asked once, go to the next untried one; after that, wait for the
      // soonest backoff to end (if it ends before the deadline) and ask that member again.
      let i = order.find((j) => !tried.has(j));
      if (i === undefined) {
        i = order[0]!;
        const wait = this.members[i]!.retryAtMs - now;
        if (wait >= remaining) break;
        if (wait > 0) await this.opts.sleep(wait);
      }
      const m = this.members[i]!;
      tried.add(i);
      // Split what is left among the members not yet asked, so one member that accepts connections
      // but never answers cannot use up the whole deadline.
      const untried = Math.max(1, this.members.length - tried.size + 1);
      const left = deadline - this.opts.now();
      if (left <= 0) break;
      const attemptMs = retry ? Math.min(left, Math.max(this.opts.minAttemptMs, Math.floor(left / untried))) : left;
      try {
        const res = await this.caller(m).call<Res>(service, method, request, { ...opts, timeoutMs: attemptMs });
        this.markGood(i);
        return res;
      } catch (err) {
        // A member that cannot answer now (sealed after a restart, or without the key yet) says
        // FAILED_PRECONDITION: an idempotent read asks each other member once before that answer is
        // final (bench/chaos: fresh clients failed against a restarted, still sealed first endpoint).
        const elsewhere = retry && err instanceof RpcError && err.code === grpc.status.FAILED_PRECONDITION && tried.size < this.members.length;
        if (!(err instanceof RpcError) || (!TRANSIENT_STATUSES.includes(err.code) && !elsewhere)) throw err;
        this.markFailed(m, err, this.opts.now());
        last = err;
        attempts.push(`${m.endpoint}: ${m.lastError}`);
        if (!retry) throw err;
      }
    }
    const code = last?.code ?? grpc.status.DEADLINE_EXCEEDED;
    const shown = attempts.slice(-8).join('; ');
    throw new RpcError(code, `${service}/${method}: no member answered within ${deadline - start} ms`
      + (attempts.length ? ` (${attempts.length} attempt${attempts.length === 1 ? '' : 's'}: ${shown})` : ''));
  }

  close(): void {
    for (const m of this.members) {
      m.caller?.close();
      delete m.caller;
    }
  }
}

/**
 * Connects to a committee through any of `endpoints`: fetches the committee, verifies it under the
 * pinned key, and adds the certified roster's member endpoints to the failover list.
 */
export async function connectToCommittee(endpoints: string | readonly string[], pinnedCommitteeKey: Uint8Array,
  options: FailoverOptions = {}): Promise<{ client: FailoverClient; committee: Committee }> {
  const client = new FailoverClient(endpoints, options);
  try {
    const committee = await fetchCommittee(client, pinnedCommitteeKey);
    client.addCommitteeEndpoints(committee);
    return { client, committee };
  } catch (err) {
    client.close();
    throw err;
  }
}

export interface RetryOptions {
  /** The one deadline for every attempt together, ms from now (default 60 s). */
  timeoutMs?: number;
  /** First wait after a transient failure (500 ms), doubling up to backoffMaxMs (5 s). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs a whole operation again while it fails with a transient gRPC status, with exponential backoff,
 * until the deadline: for steps that cannot be retried call by call, such as provisioning (a fresh
 * challenge, quote and ProvisionContractKey each time). `operation` gets the ms left before the
 * deadline. Any other failure (a refusal, a verification error) is thrown at once; after the deadline
 * the last transient failure is thrown.
 */
export async function withRetries<T>(operation: (remainingMs: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const base = options.backoffBaseMs ?? 500;
  const max = options.backoffMaxMs ?? 5_000;
  const deadline = now() + (options.timeoutMs ?? 60_000);
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation(Math.max(0, deadline - now()));
    } catch (err) {
      if (!(err instanceof RpcError) || !TRANSIENT_STATUSES.includes(err.code)) throw err;
      const wait = exponentialBackoffMs(attempt, base, max);
      if (now() + wait >= deadline) throw err;
      await sleep(wait);
    }
  }
}
