// Byte helpers for the wire formats of DESIGN §8: lp(x) = u16be(len(x)) || x, u32be(v).

/** Concatenates byte arrays into a fresh Uint8Array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}

/** u32be(v); v must be an integer in [0, 2^32). */
export function u32be(v: number): Uint8Array {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`u32 out of range: ${v}`);
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, v, false);
  return out;
}

/** u64be(v); v must be in [0, 2^64). */
export function u64be(v: bigint): Uint8Array {
  if (v < 0n || v > 0xffffffffffffffffn) throw new RangeError(`u64 out of range: ${v}`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v, false);
  return out;
}

/** u16be(v); v must be an integer in [0, 2^16). */
export function u16be(v: number): Uint8Array {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`u16 out of range: ${v}`);
  return new Uint8Array([v >>> 8, v & 0xff]);
}

/** lp(x) = u16be(len(x)) || x; x must be shorter than 65536 bytes. */
export function lp(x: Uint8Array): Uint8Array {
  if (x.length > 0xffff) throw new RangeError(`lp: ${x.length} bytes is longer than 65535`);
  const out = new Uint8Array(2 + x.length);
  out[0] = x.length >>> 8;
  out[1] = x.length & 0xff;
  out.set(x, 2);
  return out;
}

/** UTF-8 bytes of a string. */
export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** Constant-time comparison of two byte arrays (length is not secret). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** The bytes of a buffer or any view of one, not copied: for reading them at once (WebCrypto-shaped APIs such as @hpke/core's). */
export function viewBytes(x: ArrayBufferLike | ArrayBufferView): Uint8Array {
  return ArrayBuffer.isView(x) ? new Uint8Array(x.buffer, x.byteOffset, x.byteLength) : new Uint8Array(x);
}

/** A copy of bytes given as a buffer or any view of one, for keeping them. */
export function asBytes(x: ArrayBufferLike | ArrayBufferView): Uint8Array {
  return viewBytes(x).slice();
}

/** A copy of `x` as a standalone ArrayBuffer (what WebCrypto-shaped APIs return); a Buffer too (its slice would share the pool). */
export function asArrayBuffer(x: Uint8Array): ArrayBuffer {
  return Uint8Array.from(x).buffer;
}

/** A plain Uint8Array copy (some libraries refuse Buffer subclasses). */
export function plain(x: Uint8Array): Uint8Array {
  return Uint8Array.from(x);
}

/** Parses a lowercase-hex JSON field (of `len` bytes when given); `fail` builds the caller's own error. */
export function hexField(x: unknown, what: string, len: number | undefined, fail: (message: string) => Error): Uint8Array {
  const ok = typeof x === 'string' && /^([0-9a-f]{2})*$/.test(x) && (len === undefined || x.length === 2 * len);
  if (!ok) throw fail(len === undefined ? `${what}: expected lowercase hex` : `${what}: expected ${len} bytes of lowercase hex`);
  return Uint8Array.from(Buffer.from(x, 'hex'));
}

/** Checks that a JSON value is a plain object; `fail` builds the caller's own error. */
export function objectField(x: unknown, what: string, fail: (message: string) => Error): Record<string, unknown> {
  if (!x || typeof x !== 'object' || Array.isArray(x)) throw fail(`${what}: expected an object`);
  return x as Record<string, unknown>;
}
