// Lossless JSON for library state that holds bigints and byte arrays (noble's DKG round state), so it
// can be sealed and persisted between rounds.
export function toJsonSafe(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return { $big: v.toString(16) };
    if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('hex') };
    return v;
  });
}

export function fromJsonSafe<T>(text: string): T {
  return JSON.parse(text, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      if (keys.length === 1 && typeof o.$big === 'string') return BigInt('0x' + o.$big);
      if (keys.length === 1 && typeof o.$bytes === 'string') return new Uint8Array(Buffer.from(o.$bytes, 'hex'));
    }
    return v;
  }) as T;
}
