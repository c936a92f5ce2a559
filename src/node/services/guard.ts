// Per-call guards shared by the services: sealed state, operator and peer authentication, rate limits.
import { createHash } from 'node:crypto';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { scanSnapshot, snapshotRpcError } from '../../committee/snapshot-intake.js';
import { verifyCall, type NonceRegistry } from '../../rpc/auth.js';
import { failedPrecondition, permissionDenied, resourceExhausted } from '../../rpc/errors.js';
import { rawBytes } from '../../rpc/proto.js';
import type { CallContext } from '../../rpc/handler.js';
import type { NodeConfig } from '../config.js';
import type { NodeContext } from '../context.js';
import { verifyGovernance, type SignedSnapshotMsg } from '../../committee/snapshot.js';

export interface Guards {
  /** The unsealed node context, or FAILED_PRECONDITION while sealed. */
  unsealed(): NodeContext;
  /** Authenticates an operator call; returns a short actor name for the audit log. */
  operator(req: object, ctx: CallContext): string;
  /** Authenticates a peer call from a key this node knows as a peer; returns the caller's x-only identity key. */
  peer(req: object, ctx: CallContext): Uint8Array;
  /**
   * Public calls: a token bucket per client address. A call that fans out to the committee costs its
   * real number of member calls (fanOutCost); `cost` overrides that.
   */
  rateLimit(ctx: CallContext, cost?: number): void;
  /** Unseal calls: a token bucket per client address (config unsealRateLimitPerMinute). */
  unsealRateLimit(ctx: CallContext): void;
  /** Refuses a caller that is not a member of the active committee. */
  member(node: NodeContext, callerKey: Uint8Array): void;
}

export const SEALED_MESSAGE = 'the node is sealed: unseal it with `gatekeeper unseal` (see `gatekeeper status`)';

/** Unseal calls one client address may make at once before unsealRateLimitPerMinute applies. */
export const UNSEAL_BURST = 10;

/** Client addresses tracked at most by one rate limiter. */
export const RATE_LIMIT_MAX_CLIENTS = 10_000;

/**
 * Token buckets by client key, at most `maxKeys` of them. When a new client needs a place, buckets that
 * have refilled completely are forgotten first (forgetting them changes nothing), then the least recently
 * used ones; never all at once.
 */
export class TokenBuckets {
  // Map order is use order: the first entry is the least recently used.
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(readonly ratePerSecond: number, readonly burst: number, readonly maxKeys = RATE_LIMIT_MAX_CLIENTS,
    private readonly now: () => number = Date.now) {}

  get size(): number { return this.buckets.size; }
  has(key: string): boolean { return this.buckets.has(key); }

  /** Takes `cost` tokens (at most the burst) from `key`'s bucket; false, taking nothing, if it has fewer. */
  take(key: string, cost = 1): boolean {
    const now = this.now();
    let b = this.buckets.get(key);
    if (b) {
      this.buckets.delete(key);
      b.tokens = Math.min(this.burst, b.tokens + (Math.max(0, now - b.at) / 1000) * this.ratePerSecond);
      b.at = now;
    } else {
      this.makeRoom(now);
      b = { tokens: this.burst, at: now };
    }
    this.buckets.set(key, b);
    const c = Math.min(Math.max(cost, 1), this.burst);
    if (b.tokens < c) return false;
    b.tokens -= c;
    return true;
  }

  private makeRoom(now: number): void {
    if (this.buckets.size < this.maxKeys) return;
    const refillMs = (this.burst / this.ratePerSecond) * 1000;
    // Oldest first: stop at the first bucket used too recently to have refilled for sure.
    for (const [k, b] of this.buckets) {
      if (now - b.at < refillMs) break;
      this.buckets.delete(k);
    }
    while (this.buckets.size >= this.maxKeys) {
      const oldest = this.buckets.keys().next().value as string;
      this.buckets.delete(oldest);
    }
  }
}

/**
 * The rate-limit key of a call's peer ("host:port" or "[v6]:port" from grpc-js): the IPv4 address, or the
 * /64 prefix of an IPv6 address (one subscriber usually holds a whole /64, so counting single IPv6
 * addresses would let one client rotate through 2^64 buckets). IPv4-mapped IPv6 counts as IPv4.
 */
export function clientAddress(peer: string): string {
  const host = peer.slice(0, Math.max(0, peer.lastIndexOf(':'))).replace(/^\[|\]$/g, '').toLowerCase();
  if (!host.includes(':')) return host;
  const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(host);
  if (mapped) return mapped[1]!;
  const groups = (part: string) => (part === '' ? [] : part.split(':')).flatMap((g) => (g.includes('.') ? ['0', '0'] : [g]));
  const halves = host.split('::');
  if (halves.length > 2) return host;
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const all = halves.length === 2 ? [...head, ...Array(Math.max(0, 8 - head.length - tail.length)).fill('0'), ...tail] : head;
  if (all.length !== 8 || !all.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return host;
  return `${all.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

/**
 * Member calls a public call causes: ProvisionContractKey asks every other member for a partial and
 * PublishContractKey sends the certified key to every other member, so each costs the committee size
 * (the receiving member's own work included). Everything else costs 1.
 */
export function fanOutCost(method: string, node: NodeContext | undefined): number {
  if (!method.endsWith('/ProvisionContractKey') && !method.endsWith('/PublishContractKey')) return 1;
  return Math.max(1, node?.genesis.activeCommittee()?.roster.length ?? 1);
}

export function makeGuards(config: NodeConfig, nonces: () => NonceRegistry, context: () => NodeContext | undefined): Guards {
  const operatorKeys = new Set(config.operatorKeys);
  const operatorCerts = new Set(config.operatorCertFingerprints);
  const publicBuckets = new TokenBuckets(config.publicRateLimitPerSecond, config.publicRateLimitPerSecond);
  const unsealBuckets = new TokenBuckets(config.unsealRateLimitPerMinute / 60, UNSEAL_BURST);
  const peerKeysByEpoch = new Map<number, Set<string>>();
  const rosterKeys = (epoch: number, roster: { identityKey: string }[]): Set<string> => {
    let s = peerKeysByEpoch.get(epoch);
    if (!s || s.size !== roster.length) {
      s = new Set(roster.map((m) => m.identityKey));
      peerKeysByEpoch.set(epoch, s);
    }
    return s;
  };
  // A peer is a key in the roster of this node's newest ceremony or of its active committee; and, for
  // OfferSnapshot only, a candidate of the governance-signed snapshot it offers.
  const knownPeer = (node: NodeContext | undefined, req: object, method: string, hex: string): boolean => {
    if (!node) return false;
    for (const c of [node.ceremonies.latest(), node.genesis.activeCommittee()]) {
      if (c && rosterKeys(c.epoch, c.roster).has(hex)) return true;
    }
    // A member of a recent hand-off that is in neither roster here (an outgoing member, seen by a new one).
    if (node.genesis.rounds.knownPeer(hex)) return true;
    // A candidate that was not elected fetches the certificate of the newest ceremony (OBSERVING).
    if (method.endsWith('/GetRosterCertificate')) {
      const latest = node.ceremonies.latest();
      if (latest && node.genesis.isCandidate(latest, hexToBytes(hex))) return true;
    }
    if (method.endsWith('/OfferSnapshot')) {
      const signed = (req as { snapshot?: SignedSnapshotMsg | null }).snapshot;
      if (!signed || signed.snapshot.length === 0) return false;
      try {
        verifyGovernance(signed, config.governance.keys, config.governance.threshold);
      } catch {
        return false;
      }
      // A wire scan within the caps (snapshot-intake.ts): no decode, no election. An over-cap or
      // malformed snapshot is refused here with its own status, before the nonce is recorded.
      try {
        return scanSnapshot(signed.snapshot).identityKeys.has(hex);
      } catch (err) {
        throw snapshotRpcError(err);
      }
    }
    return false;
  };
  return {
    unsealed() {
      const c = context();
      if (!c) throw failedPrecondition(SEALED_MESSAGE);
      return c;
    },
    operator(req, ctx) {
      const cert = ctx.call.getAuthContext?.()?.sslPeerCertificate;
      if (cert?.raw) {
        const fp = createHash('sha256').update(cert.raw).digest('hex');
        if (operatorCerts.has(fp)) return `operator-cert:${fp.slice(0, 16)}`;
      }
      const key = verifyCall('operator', ctx.metadata, ctx.method, rawBytes(req), nonces(), config.clockSkewMs, Date.now(), (k) => {
        if (!operatorKeys.has(bytesToHex(k))) throw permissionDenied('this key is not an operator key of this node');
      });
      return `operator:${bytesToHex(key).slice(0, 16)}`;
    },
    peer(req, ctx) {
      return verifyCall('peer', ctx.metadata, ctx.method, rawBytes(req), nonces(), config.clockSkewMs, Date.now(), (k) => {
        if (!knownPeer(context(), req, ctx.method, bytesToHex(k))) {
          throw permissionDenied(ctx.method.endsWith('/OfferSnapshot')
            ? 'only a candidate of the snapshot or a member of the committee may offer it'
            : 'the caller is not a peer of this node: no ceremony or committee it knows lists this key');
        }
      });
    },
    member(node, callerKey) {
      const c = node.genesis.activeCommittee();
      const hex = bytesToHex(callerKey);
      if (!c || !c.roster.some((m) => m.identityKey === hex)) throw permissionDenied('the caller is not a member of the active committee');
    },
    rateLimit(ctx, cost) {
      const n = cost ?? fanOutCost(ctx.method, context());
      if (!publicBuckets.take(clientAddress(ctx.peer), n)) throw resourceExhausted('rate limit exceeded for this client; retry later');
    },
    unsealRateLimit(ctx) {
      if (!unsealBuckets.take(clientAddress(ctx.peer))) throw resourceExhausted('too many unseal calls from this client; retry in a minute');
    },
  };
}
