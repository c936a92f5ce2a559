// Fuzz inputs for every gRPC method (issue 12, bench/chaos item 4): a valid-looking encoding of each
// method's request (filled in from the proto by reflection, or a real one given by the caller), then
// mutated as an attacker would: bit flips, truncation, rewritten length fields, wrong wire types,
// unknown fields, one field repeated thousands of times, spliced or wholly random bytes.
// Deterministic for a seed, so a finding can be replayed.
import protobuf from 'protobufjs';
import { loadGatekeeperProtos, type ServiceName } from '../../src/rpc/proto.js';
import { messageType } from '../../src/rpc/messages.js';

/** mulberry32: a small seeded PRNG (not for keys; only to make fuzz runs reproducible). */
export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0; }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number { return Math.floor(this.next() * n); }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]!; }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

export const FUZZED_SERVICES: readonly ServiceName[] = ['PublicService', 'WorkerService', 'OperatorService', 'PeerService'];

export interface FuzzMethod { service: ServiceName; method: string; requestType: string; path: string }

/** Every method of the fuzzed services, as the proto declares them. */
export function allMethods(services: readonly ServiceName[] = FUZZED_SERVICES): FuzzMethod[] {
  const { definition } = loadGatekeeperProtos();
  const out: FuzzMethod[] = [];
  for (const service of services) {
    const def = definition[`gatekeeper.v1.${service}`] as Record<string, { path: string; requestType: { type: { name: string } } }>;
    for (const [method, m] of Object.entries(def)) out.push({ service, method, requestType: m.requestType.type.name, path: m.path });
  }
  return out;
}

const BYTE_LENGTHS = [0, 1, 16, 32, 33, 64, 65, 96];

function scalar(f: protobuf.Field, rng: Rng): unknown {
  switch (f.type) {
    case 'bytes': return rng.bytes(rng.pick(BYTE_LENGTHS));
    case 'string': return rng.int(4) === 0 ? '' : Array.from(rng.bytes(1 + rng.int(24)), (b) => String.fromCharCode(33 + (b % 94))).join('');
    case 'bool': return rng.int(2) === 1;
    case 'double': case 'float': return rng.next() * 1000;
    case 'int64': case 'uint64': case 'sint64': case 'fixed64': case 'sfixed64':
      return String(rng.pick([0, 1, 2, 1000, Date.now(), 2 ** 40]));
    default: return rng.pick([0, 1, 2, 3, 5, 100, 65535]);
  }
}

/** A request of type `t` with every field filled (one member per oneof, 1-2 items per repeated field). */
export function populate(t: protobuf.Type, rng: Rng, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const skip = new Set<string>();
  for (const o of t.oneofsArray) {
    const keep = rng.pick(o.fieldsArray);
    for (const f of o.fieldsArray) if (f !== keep) skip.add(f.name);
  }
  for (const f of t.fieldsArray) {
    if (skip.has(f.name)) continue;
    f.resolve();
    const one = (): unknown => {
      if (f.resolvedType instanceof protobuf.Type) return depth < 4 ? populate(f.resolvedType, rng, depth + 1) : {};
      if (f.resolvedType instanceof protobuf.Enum) return rng.pick(Object.values(f.resolvedType.values));
      return scalar(f, rng);
    };
    out[f.name] = f.repeated ? Array.from({ length: 1 + rng.int(2) }, one) : one();
  }
  return out;
}

/** A valid encoding of `requestType` with every field filled at random. */
export function syntheticSeed(requestType: string, rng: Rng): Uint8Array {
  const t = messageType(requestType);
  return t.encode(t.fromObject(populate(t, rng))).finish();
}

// ---- wire-format walking, for mutations that target the structure ----

interface Field { start: number; tagEnd: number; wire: number; lenStart?: number; lenEnd?: number; end: number }

function readVarint(b: Uint8Array, at: number): { value: number; end: number } | undefined {
  let v = 0;
  let mul = 1;
  for (let i = at; i < b.length && i < at + 10; i++) {
    v += (b[i]! & 0x7f) * mul;
    mul *= 128;
    if ((b[i]! & 0x80) === 0) return { value: v, end: i + 1 };
  }
  return undefined;
}

/** Top-level fields of a message (and, recursively, of length-delimited fields that parse as one). */
function fields(b: Uint8Array, from = 0, to = b.length, depth = 0, out: Field[] = []): Field[] {
  let at = from;
  while (at < to) {
    const tag = readVarint(b, at);
    if (!tag || tag.value < 8) return out;
    const wire = tag.value & 7;
    const f: Field = { start: at, tagEnd: tag.end, wire, end: tag.end };
    if (wire === 0) { const v = readVarint(b, tag.end); if (!v) return out; f.end = v.end; }
    else if (wire === 1) f.end = tag.end + 8;
    else if (wire === 5) f.end = tag.end + 4;
    else if (wire === 2) {
      const len = readVarint(b, tag.end);
      if (!len) return out;
      f.lenStart = tag.end; f.lenEnd = len.end; f.end = len.end + len.value;
    } else return out;
    if (f.end > to) return out;
    out.push(f);
    if (wire === 2 && depth < 3 && f.end - f.lenEnd! >= 2) fields(b, f.lenEnd!, f.end, depth + 1, out);
    at = f.end;
  }
  return out;
}

function varint(n: number): Uint8Array {
  const out: number[] = [];
  let v = Math.max(0, Math.floor(n));
  while (v >= 128) { out.push((v % 128) | 0x80); v = Math.floor(v / 128); }
  out.push(v);
  return Uint8Array.from(out);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

export const MUTATIONS = ['bitflip', 'truncate', 'length', 'wiretype', 'unknown-field', 'repeat-field', 'splice', 'random', 'none'] as const;
export type Mutation = typeof MUTATIONS[number];

/** Largest message a mutation builds (the node's receive limit is 4 MiB by default; bigger ones test that limit). */
export const MAX_FUZZ_BYTES = 5 * 1024 * 1024;

/** One mutation of `seed`. `big` allows the rare multi-megabyte repeated field. */
export function mutate(seed: Uint8Array, rng: Rng, kind: Mutation = rng.pick(MUTATIONS), big = true): { bytes: Uint8Array; kind: Mutation } {
  const b = Uint8Array.from(seed);
  const fs = fields(b);
  switch (kind) {
    case 'none': return { bytes: b, kind };
    case 'bitflip': {
      if (b.length === 0) return { bytes: rng.bytes(1 + rng.int(8)), kind };
      for (let i = 0, n = 1 + rng.int(8); i < n; i++) b[rng.int(b.length)]! ^= 1 << rng.int(8);
      return { bytes: b, kind };
    }
    case 'truncate': return { bytes: b.subarray(0, rng.int(b.length + 1)), kind };
    case 'length': {
      const ld = fs.filter((f) => f.wire === 2);
      if (ld.length === 0) return mutate(seed, rng, 'splice', big);
      const f = rng.pick(ld);
      const old = readVarint(b, f.lenStart!)!.value;
      const value = rng.pick([0, old + 1, Math.max(0, old - 1), old + 1 + rng.int(64), 0x7fffffff, 2 ** 32 + 5, rng.int(1 << 20)]);
      return { bytes: concat(b.subarray(0, f.lenStart!), varint(value), b.subarray(f.lenEnd!)), kind };
    }
    case 'wiretype': {
      if (fs.length === 0) return mutate(seed, rng, 'random', big);
      const f = rng.pick(fs);
      const tag = readVarint(b, f.start)!.value;
      const wire = rng.pick([0, 1, 2, 3, 4, 5, 6, 7].filter((w) => w !== f.wire));
      return { bytes: concat(b.subarray(0, f.start), varint(tag - f.wire + wire), b.subarray(f.tagEnd)), kind };
    }
    case 'unknown-field': {
      const num = rng.pick([99, 1000, 19000, 536870911]);
      const wire = rng.pick([0, 2, 5]);
      const value = wire === 0 ? varint(rng.int(1 << 30)) : wire === 5 ? rng.bytes(4) : (() => { const p = rng.bytes(rng.int(300)); return concat(varint(p.length), p); })();
      const at = rng.pick([0, b.length]);
      return { bytes: concat(b.subarray(0, at), varint(num * 8 + wire), value, b.subarray(at)), kind };
    }
    case 'repeat-field': {
      const top = fields(b, 0, b.length, 3);
      if (top.length === 0) return mutate(seed, rng, 'random', big);
      const f = rng.pick(top);
      const one = b.subarray(f.start, f.end);
      const cap = big && rng.int(20) === 0 ? MAX_FUZZ_BYTES : 64 * 1024;
      const times = Math.max(2, Math.min(rng.pick([100, 1000, 10_000, 100_000]), Math.floor(cap / Math.max(1, one.length))));
      const out = new Uint8Array(b.length + one.length * times);
      out.set(b);
      for (let i = 0; i < times; i++) out.set(one, b.length + i * one.length);
      return { bytes: out, kind };
    }
    case 'splice': {
      const at = rng.int(b.length + 1);
      const cut = rng.int(Math.min(16, b.length - at) + 1);
      return { bytes: concat(b.subarray(0, at), rng.bytes(1 + rng.int(32)), b.subarray(at + cut)), kind };
    }
    case 'random': return { bytes: rng.bytes(rng.pick([0, 1, 2, 8, 64, 512, 4096])), kind };
  }
}
