// A small bounded cache for what is cheap to recompute or read again and costly to keep without limit:
// the attestation verifiers' parsed and verified public material (input from many callers cannot grow
// it), and the ceremony engine's sealed and opened states and the hand-off's setups (kept per
// ceremony, read on every tick).

/** An insertion-ordered cache that drops its oldest entry when full; setting a key again makes it the newest. */
export class BoundedCache<V> {
  private readonly m = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(k: string): V | undefined { return this.m.get(k); }
  set(k: string, v: V): void {
    this.m.delete(k);
    if (this.m.size >= this.max) this.m.delete(this.m.keys().next().value!);
    this.m.set(k, v);
  }
  delete(k: string): void { this.m.delete(k); }
  get size(): number { return this.m.size; }
}
