// The verifiers' caches of parsed and verified public material (chains, collateral, keys): bounded,
// so input from many callers cannot grow them without limit. Entries hold no secrets.

/** A small insertion-ordered cache that drops its oldest entry when full. */
export class BoundedCache<V> {
  private readonly m = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(k: string): V | undefined { return this.m.get(k); }
  set(k: string, v: V): void {
    if (this.m.size >= this.max) this.m.delete(this.m.keys().next().value!);
    this.m.set(k, v);
  }
  get size(): number { return this.m.size; }
}
