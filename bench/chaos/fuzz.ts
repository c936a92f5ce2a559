// The fuzz driver (issue 12, bench/chaos item 4): mutated requests (mutate.ts) to every method of every
// node, unauthenticated or with signed metadata (a valid operator or member signature over the mutated
// bytes where the caller has the key, a stranger's valid signature, or garbage headers). Counts the
// statuses, INTERNAL answers and node crashes, and samples every node's RSS as it goes. Used by
// bench/chaos/main.ts against a devnet and by test/rpc/fuzz-services.test.ts against one in-process node.
import * as grpc from '@grpc/grpc-js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { signCall, AUTH_HEADERS, type CallRole } from '../../src/rpc/auth.js';
import { generateIdentityKey } from '../../src/crypto/identity.js';
import { allMethods, mutate, Rng, syntheticSeed, type FuzzMethod, type Mutation } from './mutate.js';

const identity = (b: Buffer) => b;

export interface FuzzTarget {
  name: string;
  endpoint: string;
  /** Resident set size in bytes, now (undefined if the node is not running). */
  rss(): number | undefined;
  /** V8 heap in use after the last full collection in bytes (the node's metrics), to tell a leak from RSS that only steps up. */
  heap?(): Promise<number | undefined>;
  /** False once the node process has exited (a crash). */
  alive(): boolean;
  /** Brings a crashed node back (restart and unseal) so the run can go on. */
  restart?(): Promise<void>;
}

export interface Signer { secretKey: Uint8Array; publicKey: Uint8Array }

export interface FuzzOptions {
  messages: number;
  concurrency: number;
  seed: number;
  /** Sample RSS of every node (and check it is alive) every this many messages. */
  sampleEvery: number;
  /** Real request encodings per "Service/Method", mutated beside the synthetic ones. */
  seeds?: Map<string, Uint8Array[]>;
  /** A valid operator key (OperatorService calls signed with it reach the handlers). */
  operator?: Signer;
  /** A committee member's identity key (PeerService calls signed with it pass the peer check). */
  peer?: Signer;
  /** Allow multi-megabyte messages (over the node's receive limit). */
  big?: boolean;
  timeoutMs?: number;
  /** Called with progress every sample. */
  progress?(done: number, total: number): void;
}

export interface Finding { method: string; mutation: Mutation; auth: string; bytes: number; hexPrefix: string; details: string }

export interface FuzzResult {
  messages: number;
  seconds: number;
  crashes: { target: string; atMessage: number }[];
  internal: number;
  statuses: Record<string, number>;
  byMethod: Record<string, Record<string, number>>;
  internalFindings: Finding[];
  /** Other statuses that suggest a hang or a lost connection, with one example each. */
  suspicious: Finding[];
  methods: number;
  /** RSS in MiB per target, one sample every sampleEvery messages. */
  rss: { target: string; samples: number[] }[];
  /** V8 heap used in MiB per target, sampled with the RSS (when the target reports it). */
  heap: { target: string; samples: number[] }[];
}

type Auth = 'none' | 'garbage' | 'operator' | 'peer' | 'stranger';

function chooseAuth(service: string, rng: Rng, o: FuzzOptions): Auth {
  const r = rng.next();
  if (r < 0.25) return 'none';
  if (r < 0.4) return 'garbage';
  if (r < 0.55) return 'stranger';
  if (service === 'OperatorService' && o.operator) return 'operator';
  if (service === 'PeerService' && o.peer) return 'peer';
  return r < 0.8 ? 'none' : 'stranger';
}

function garbageMetadata(rng: Rng): grpc.Metadata {
  const md = new grpc.Metadata();
  const hex = (n: number) => bytesToHex(rng.bytes(n));
  const values = [hex(32), hex(31), hex(64), 'zz', '', String(Date.now()), '-1', '9'.repeat(40), hex(rng.int(600))];
  for (const h of Object.values(AUTH_HEADERS)) if (rng.int(5) > 0) md.set(h, rng.pick(values) || '0');
  if (rng.int(4) === 0) md.add(AUTH_HEADERS.key, hex(32));
  return md;
}

function metadataFor(auth: Auth, path: string, bytes: Uint8Array, rng: Rng, o: FuzzOptions, stranger: Signer): grpc.Metadata {
  const sign = (role: CallRole, s: Signer) => signCall(role, s.secretKey, path, bytes, Date.now(), s.publicKey);
  switch (auth) {
    case 'none': return new grpc.Metadata();
    case 'garbage': return garbageMetadata(rng);
    case 'operator': return sign('operator', o.operator!);
    case 'peer': return sign('peer', o.peer!);
    case 'stranger': return sign(path.includes('PeerService') ? 'peer' : 'operator', stranger);
  }
}

const statusName = (code: number) => (grpc.status as unknown as Record<number, string>)[code] ?? String(code);

/** Runs the fuzz campaign against `targets`; the node processes stay the caller's. */
export async function fuzz(targets: FuzzTarget[], o: FuzzOptions): Promise<FuzzResult> {
  const methods: FuzzMethod[] = allMethods();
  const rng = new Rng(o.seed);
  const stranger = generateIdentityKey();
  // A few synthetic seeds per method, made once; real seeds come from the caller.
  const pool = new Map<string, Uint8Array[]>();
  for (const m of methods) {
    const key = `${m.service}/${m.method}`;
    pool.set(key, [...Array.from({ length: 6 }, () => syntheticSeed(m.requestType, rng)), ...(o.seeds?.get(key) ?? [])]);
  }
  const clients = targets.map((t) => new grpc.Client(t.endpoint, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': -1, 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1000,
  }));
  const res: FuzzResult = {
    messages: 0, seconds: 0, crashes: [], internal: 0, statuses: {}, byMethod: {}, internalFindings: [], suspicious: [],
    methods: methods.length, rss: targets.map((t) => ({ target: t.name, samples: [] })), heap: targets.map((t) => ({ target: t.name, samples: [] })),
  };
  const seenSuspicious = new Set<string>();
  const down = new Set<number>();
  const sample = async (at: number) => {
    targets.forEach((t, i) => { const r = t.rss(); if (r !== undefined) res.rss[i]!.samples.push(r / 2 ** 20); });
    await Promise.all(targets.map(async (t, i) => { const h = await t.heap?.().catch(() => undefined); if (h !== undefined) res.heap[i]!.samples.push(h / 2 ** 20); }));
    for (const [i, t] of targets.entries()) {
      if (down.has(i) || t.alive()) continue;
      res.crashes.push({ target: t.name, atMessage: at });
      if (t.restart) { down.add(i); await t.restart(); down.delete(i); }
    }
    o.progress?.(at, o.messages);
  };
  const t0 = performance.now();
  let next = 0;
  await sample(0);
  await Promise.all(Array.from({ length: o.concurrency }, async () => {
    for (;;) {
      const i = next++;
      if (i >= o.messages) return;
      if (i > 0 && i % o.sampleEvery === 0) await sample(i);
      const m = methods[i % methods.length]!;
      let ti = Math.floor(i / methods.length) % targets.length;
      if (down.has(ti)) ti = (ti + 1) % targets.length;
      const key = `${m.service}/${m.method}`;
      const { bytes, kind } = mutate(rng.pick(pool.get(key)!), rng, undefined, o.big ?? true);
      const auth = chooseAuth(m.service, rng, o);
      const md = metadataFor(auth, m.path, bytes, rng, o, stranger);
      const code = await new Promise<{ code: number; details: string }>((resolve) => {
        clients[ti]!.makeUnaryRequest(m.path, identity, identity, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), md,
          { deadline: Date.now() + (o.timeoutMs ?? 15_000) },
          (err: grpc.ServiceError | null) => resolve(err ? { code: err.code, details: err.details ?? '' } : { code: grpc.status.OK, details: '' }));
      });
      res.messages++;
      const name = statusName(code.code);
      res.statuses[name] = (res.statuses[name] ?? 0) + 1;
      const per = (res.byMethod[key] ??= {});
      per[name] = (per[name] ?? 0) + 1;
      const finding = (): Finding => ({ method: key, mutation: kind, auth, bytes: bytes.length,
        hexPrefix: bytesToHex(bytes.subarray(0, 48)), details: code.details.slice(0, 300) });
      if (code.code === grpc.status.INTERNAL) {
        res.internal++;
        if (res.internalFindings.length < 25) res.internalFindings.push(finding());
      } else if ((code.code === grpc.status.DEADLINE_EXCEEDED || code.code === grpc.status.UNKNOWN || code.code === grpc.status.CANCELLED)
        && !seenSuspicious.has(`${key} ${name}`)) {
        seenSuspicious.add(`${key} ${name}`);
        res.suspicious.push(finding());
      }
    }
  }));
  await sample(o.messages);
  res.seconds = (performance.now() - t0) / 1000;
  for (const c of clients) c.close();
  return res;
}

/**
 * Growth of RSS in the last quarter of the run, in percent: the highest sample of the last quarter over
 * the highest sample before it. Peaks, not single samples, because the garbage collector makes RSS a
 * sawtooth; a leak raises every new peak, a levelled-out node does not.
 */
export function lastQuarterGrowth(samples: number[]): number {
  if (samples.length < 4) return NaN;
  const cut = Math.floor(samples.length * 0.75);
  const before = Math.max(...samples.slice(0, cut));
  const last = Math.max(...samples.slice(cut));
  return (100 * (last - before)) / before;
}

/**
 * Growth of the floor, in percent: the lowest sample of the last quarter over the lowest of the second
 * quarter (after warm-up). A leak raises the floor; the spikes of multi-megabyte messages do not.
 */
export function floorGrowth(samples: number[]): number {
  if (samples.length < 8) return NaN;
  const q = Math.floor(samples.length / 4);
  const second = Math.min(...samples.slice(q, 2 * q));
  const last = Math.min(...samples.slice(samples.length - q));
  return (100 * (last - second)) / second;
}
