// Small timing helpers shared by the provisioning benchmark: CPU and wall cost per call of a step
// timed alone, and percentiles of a latency sample.

export interface Cost {
  /** CPU ms per call (user + system of this process, all threads: @hpke/core's AES-GCM runs on libuv's pool). */
  cpuMs: number;
  /** Wall ms per call. */
  wallMs: number;
}

/** Runs fn after a warm-up until at least minRuns calls and minMs of wall time; returns per-call costs. */
export async function costOf(fn: () => unknown, minRuns = 10, minMs = 150): Promise<Cost> {
  await fn();
  await fn(); // JIT and noble's lazily built tables
  let runs = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let wall = 0;
  while (runs < minRuns || wall < minMs) {
    await fn();
    runs++;
    wall = performance.now() - t0;
  }
  const c = process.cpuUsage(c0);
  return { cpuMs: (c.user + c.system) / 1000 / runs, wallMs: wall / runs };
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  // Nearest rank: p99 of 40 samples is the largest one, not an interpolation below it.
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1]!;
}

export const f0 = (x: number) => x.toFixed(0);
export const f1 = (x: number) => x.toFixed(1);
export const f2 = (x: number) => x.toFixed(2);
export const nowMs = () => performance.now();
