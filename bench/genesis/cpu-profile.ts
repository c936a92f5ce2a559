// Reads a V8 .cpuprofile (written by `node --cpu-prof`) and attributes its samples inside a time window
// to functions: self time (the leaf frame) and inclusive time (any frame on the stack, once per sample).
// V8 samples on a wall-clock timer, so on an oversubscribed machine a sample also stands for time the
// thread spent runnable but descheduled; callers should read shares of busy time, not absolute ms.
// V8 stamps samples with the monotonic clock that process.hrtime also reads, so a window measured in
// the bench selects exactly the genesis part of the node's life.
import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

export interface ProfileSummary {
  /** Sampled milliseconds inside the window, excluding (idle). */
  busyMs: number;
  idleMs: number;
  self: Map<string, number>;
  inclusive: Map<string, number>;
  /** Inclusive milliseconds by bare function name (all definitions of that name summed per sample). */
  inclusiveByName: Map<string, number>;
}

function label(n: ProfileNode): string {
  const { functionName, url, lineNumber } = n.callFrame;
  const name = functionName || '(anonymous)';
  if (!url) return name;
  const file = url.includes('node_modules/')
    ? url.slice(url.lastIndexOf('node_modules/') + 'node_modules/'.length)
    : path.relative(process.cwd(), url.replace(/^file:\/\//, ''));
  return `${name} ${file}:${lineNumber + 1}`;
}

/** Summarises the samples taken between fromNs and toNs (process.hrtime.bigint() values). */
export function summarizeProfile(file: string, fromNs: bigint, toNs: bigint): ProfileSummary {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const from = Number(fromNs / 1000n);
  const to = Number(toNs / 1000n);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const inclusiveByName = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  let t = p.startTime;
  let busy = 0;
  let idle = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (t < from || t > to) continue;
    // A sample stands for the interval up to the next one.
    const ms = (p.timeDeltas[i + 1] ?? 0) / 1000;
    const leaf = byId.get(p.samples[i]!)!;
    if (leaf.callFrame.functionName === '(idle)') { idle += ms; continue; }
    busy += ms;
    add(self, label(leaf), ms);
    const seen = new Set<string>();
    const seenName = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id)!;
      const l = label(n);
      if (!seen.has(l)) { seen.add(l); add(inclusive, l, ms); }
      const name = n.callFrame.functionName;
      if (name && !seenName.has(name)) { seenName.add(name); add(inclusiveByName, name, ms); }
    }
  }
  return { busyMs: busy, idleMs: idle, self, inclusive, inclusiveByName };
}

export function top(m: Map<string, number>, count: number): [string, number][] {
  return [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, count);
}

/**
 * With `--profile-out FILE` on the command line, copies the profile to FILE and its window to
 * FILE.window.json ({ fromNs, toNs }), for a closer look than the bench prints.
 */
export function saveProfileIfAsked(file: string, fromNs: bigint, toNs: bigint): void {
  const i = process.argv.indexOf('--profile-out');
  const out = i > 0 ? process.argv[i + 1] : undefined;
  if (!out) return;
  fs.copyFileSync(file, out);
  fs.writeFileSync(`${out}.window.json`, JSON.stringify({ fromNs: String(fromNs), toNs: String(toNs) }));
}
