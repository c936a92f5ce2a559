// A hand-off with a member killed at each persisted state (issue 12, bench/chaos item 3, "and hand-off
// once it exists"): a fresh devnet forms by genesis, then every member hands its shares to the same
// roster (RefreshShares for epoch 2: each member deals and receives, both secrets); the victim is
// SIGKILLed as soon as OperatorService.CeremonyStatus shows the wanted phase of the hand-off (deal,
// acknowledge, qualify) or the round's ACTIVATING, restarted and unsealed after `downMs`. Then every
// member must complete epoch 2 with the same committee key and MPK as genesis, or every member must
// abort naming the victim, and the old committee must still answer for its certified roster.
import fs from 'node:fs';
import path from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { Devnet, sleep } from '../../src/devnet/devnet.js';
import { withRetries } from '../../src/sdk/failover.js';
import { nowMs } from '../provision/timing.js';
import { settle, type GenesisChaosOptions, type GenesisRun } from './genesis.js';
import { formCommittee, slowOperatorCall, unsealSlow } from './setup.js';

/** What a member passes in a hand-off: the engine's phases, then the round's certification. */
export const HANDOFF_ORDER = ['deal', 'acknowledge', 'qualify', 'ACTIVATING', 'COMPLETE'];

interface CeremonyStatusView { epoch: number; state: string; phase: string }

/** The hand-off's progress as HANDOFF_ORDER names it, or ABORTED / NONE. */
const progressOf = (v: CeremonyStatusView | undefined, epoch: number) =>
  !v || v.epoch !== epoch ? 'NONE' : v.state === 'ACTIVATING' || v.state === 'COMPLETE' || v.state === 'ABORTED' ? v.state : v.phase;

export async function handoffKillAt(root: string, state: string, victim: number, o: GenesisChaosOptions): Promise<GenesisRun> {
  const dir = path.join(root, `handoff-${state}-node${victim + 1}`);
  const devnet = new Devnet({ dir, nodes: o.n, threshold: o.k, phaseTimeoutMs: o.phaseTimeoutMs, nodeConfig: { logLevel: 'warn' } });
  const t0 = nowMs();
  const run: GenesisRun = { state, victim: `node-${victim + 1}`, killedAt: '', restartedAt: '', outcome: 'FAILED', detail: '', seconds: 0 };
  const epoch = 2;
  const status = (i: number) => slowOperatorCall<CeremonyStatusView>(devnet, i, 'CeremonyStatus', { epoch }).catch(() => undefined);
  try {
    const genesis = await formCommittee(devnet, o.n, o.k);
    const victimId = bytesToHex((await devnet.status(victim)).nodeId);
    await Promise.all(devnet.nodes.map((_, i) => slowOperatorCall(devnet, i, 'RefreshShares', { epoch })));
    const want = HANDOFF_ORDER.indexOf(state);
    const watchUntil = Date.now() + o.phaseTimeoutMs * 6;
    for (;;) {
      const s = progressOf(await status(victim), epoch);
      if (HANDOFF_ORDER.indexOf(s) >= want || s === 'ABORTED') { devnet.killNode(victim); run.killedAt = s; break; }
      if (Date.now() > watchUntil) throw new Error(`${run.victim} never reached ${state} of the hand-off (last ${s})`);
      await sleep(15);
    }
    // While the victim is down, the committee of epoch 1 still answers for its certified roster.
    const serving = await withRetries(() => devnet.committee((victim + 1) % o.n), { timeoutMs: 60_000 });
    if (bytesToHex(serving.committeeKey) !== bytesToHex(genesis.committeeKey)) throw new Error('the committee key changed while the hand-off ran');
    await sleep(o.downMs);
    await devnet.startNode(victim);
    await unsealSlow(devnet, victim);
    run.restartedAt = progressOf(await status(victim), epoch);
    await settle(devnet, o, run, victimId, epoch, async () => {
      const view = await withRetries(() => devnet.checkCommittee(), { timeoutMs: 120_000 });
      if (view.epoch !== epoch) throw new Error(`the members serve epoch ${view.epoch}, not ${epoch}`);
      if (bytesToHex(view.committeeKey) !== bytesToHex(genesis.committeeKey) || bytesToHex(view.masterPublicKey) !== bytesToHex(genesis.masterPublicKey)) {
        throw new Error('the refreshed committee has another CPK or MPK than genesis');
      }
      return `epoch ${epoch} on all ${o.n}, CPK and MPK as at genesis, chain of ${view.certificates.length} certificates`;
    });
  } catch (err) {
    run.detail = `error: ${err instanceof Error ? err.message.slice(0, 300) : String(err)}`;
  } finally {
    await devnet.stop();
    run.seconds = (nowMs() - t0) / 1000;
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return run;
}
