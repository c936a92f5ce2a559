// What the genesis and hand-off chaos runs share (issue 12, bench/chaos item 3): a fresh devnet per run
// in its own folder, a victim killed at a wanted state and restarted, and the verdict once every member
// is terminal: converged everywhere, or aborted everywhere naming the victim.
import fs from 'node:fs';
import path from 'node:path';
import { Devnet, sleep, type StatusView } from '../../src/devnet/devnet.js';
import { nowMs } from '../provision/timing.js';

export interface KillRun {
  state: string;
  victim: string;
  /** The victim's state when it was killed (a later one when the wanted state passed between two polls). */
  killedAt: string;
  /** Its state after restart and unseal. */
  restartedAt: string;
  outcome: 'converged' | 'aborted' | 'FAILED';
  detail: string;
  seconds: number;
}

export interface KillRunOptions { n: number; k: number; phaseTimeoutMs: number; downMs: number; log(s: string): void }

/** A member's ceremony state as Status reports it, NONE before any. */
export const stateOf = (s: StatusView | undefined) => s?.ceremonyState || 'NONE';

/**
 * One chaos run on a fresh devnet in its own folder under `root`: `body` drives it and fills `run`; an
 * error it throws becomes the run's detail (outcome FAILED); the devnet is stopped and its folder removed.
 */
export async function killRun(root: string, kind: string, state: string, victim: number, o: KillRunOptions,
  body: (devnet: Devnet, run: KillRun) => Promise<void>): Promise<KillRun> {
  const dir = path.join(root, `${kind}-${state}-node${victim + 1}`);
  const devnet = new Devnet({ dir, nodes: o.n, threshold: o.k, phaseTimeoutMs: o.phaseTimeoutMs, nodeConfig: { logLevel: 'warn' } });
  const t0 = nowMs();
  const run: KillRun = { state, victim: `node-${victim + 1}`, killedAt: '', restartedAt: '', outcome: 'FAILED', detail: '', seconds: 0 };
  try {
    await body(devnet, run);
  } catch (err) {
    run.detail = `error: ${err instanceof Error ? err.message.slice(0, 300) : String(err)}`;
  } finally {
    await devnet.stop();
    run.seconds = (nowMs() - t0) / 1000;
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return run;
}

/**
 * Waits until every member's ceremony of `epoch` is terminal, then judges the run: COMPLETE everywhere
 * and `converged()` (which throws if the members disagree) gives the detail, or ABORTED everywhere with
 * all but at most one member's error naming the victim; anything else (split, stuck) fails the run.
 */
export async function settle(devnet: Devnet, o: KillRunOptions, run: KillRun, victimId: string, epoch: number,
  converged: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + o.phaseTimeoutMs * 8 + 60_000;
  let states: (StatusView | undefined)[] = [];
  const at = (s: StatusView | undefined) => (s && s.ceremonyEpoch === epoch ? stateOf(s) : `${stateOf(s)}@${s?.ceremonyEpoch ?? '?'}`);
  for (;;) {
    states = await Promise.all(devnet.nodes.map((_, i) => devnet.status(i).catch(() => undefined)));
    if (states.every((s) => at(s) === 'COMPLETE' || at(s) === 'ABORTED')) break;
    if (Date.now() > deadline) break;
    await sleep(250);
  }
  const names = states.map(at);
  if (names.every((s) => s === 'COMPLETE')) {
    run.detail = await converged();
    run.outcome = 'converged';
  } else if (names.every((s) => s === 'ABORTED')) {
    const errors = states.map((s) => s!.ceremonyError);
    const naming = errors.filter((e) => e.includes(victimId) || e.includes(victimId.slice(0, 12))).length;
    run.outcome = naming >= o.n - 1 ? 'aborted' : 'FAILED';
    run.detail = `aborted on all ${o.n}, ${naming} naming ${run.victim}: ${errors[0]!.slice(0, 160)}`;
  } else {
    run.detail = `not terminal or split: ${names.join(', ')}; errors: ${states.map((s) => s?.ceremonyError ?? '').filter(Boolean).join(' | ').slice(0, 300)}`;
  }
}
