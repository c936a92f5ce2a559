// The post-GC heap gauge tells a leak from garbage not yet collected: it follows what is still
// reachable after a full collection, not what was allocated since.
import v8 from 'node:v8';
import vm from 'node:vm';
import { Metrics } from '../../src/node/metrics.js';

v8.setFlagsFromString('--expose-gc');
const fullGc = vm.runInNewContext('gc') as () => void;

/** A full collection, then the gauge once the gc entry has reached the observer. */
async function afterFullGc(m: Metrics): Promise<number> {
  const before = (await m.heapAfterMajorGc.get()).values[0]?.value;
  fullGc();
  for (let i = 0; i < 200; i++) {
    await new Promise((r) => setTimeout(r, 5));
    const now = (await m.heapAfterMajorGc.get()).values[0]?.value;
    if (now !== undefined && now !== before) return now;
  }
  throw new Error('the gauge did not change after a full collection');
}

test('gatekeeper_heap_used_after_major_gc_bytes rises with what stays reachable and falls once it is released', async () => {
  const m = new Metrics();
  try {
    const base = await afterFullGc(m);
    let kept: number[][] | undefined = Array.from({ length: 400 }, (_, i) => Array.from({ length: 10_000 }, (__, j) => i + j + 0.5));
    const holding = await afterFullGc(m);
    expect(holding - base).toBeGreaterThan(20 * 2 ** 20); // 4 M doubles held: ~32 MiB
    expect(kept.length).toBe(400);
    kept = undefined;
    const released = await afterFullGc(m);
    expect(holding - released).toBeGreaterThan(20 * 2 ** 20);
    expect(await m.registry.metrics()).toMatch(/^gatekeeper_heap_used_after_major_gc_bytes \d+/m);
  } finally {
    await m.close();
  }
});
