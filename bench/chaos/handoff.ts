// A hand-off with a member killed at each persisted state (issue 12, bench/chaos item 3, "and hand-off
// once it exists"): a fresh devnet forms by genesis, then every member hands its shares to the same
// roster (RefreshShares for epoch 2: each member deals and receives, both secrets); the victim is
// SIGKILLed as soon as OperatorService.CeremonyStatus shows the wanted phase of the hand-off (deal,
// acknowledge, qualify) or the round's ACTIVATING, restarted and unsealed after `downMs`. Then every
// member must complete epoch 2 with the same committee key and MPK as genesis, or every member must
// abort naming the victim, and the old committee must still answer for its certified roster.
import { bytesToHex } from '@noble/hashes/utils.js';
import { sleep } from '../../src/devnet/devnet.js';
import { withRetries } from '../../src/sdk/failover.js';
import { killRun, settle, type KillRunOptions, type KillRun } from './kill-run.js';
import { formCommittee, slowOperatorCall, unsealSlow } from './setup.js';

/** What a member passes in a hand-off: the engine's phases, then the round's certification. */
export const HANDOFF_ORDER = ['deal', 'acknowledge', 'qualify', 'ACTIVATING', 'COMPLETE'];

interface CeremonyStatusView { epoch: number; state: string; phase: string }

/** The hand-off's progress as HANDOFF_ORDER names it, or ABORTED / NONE. */
const progressOf = (v: CeremonyStatusView | undefined, epoch: number) =>
  !v || v.epoch !== epoch ? 'NONE' : v.state === 'ACTIVATING' || v.state === 'COMPLETE' || v.state === 'ABORTED' ? v.state : v.phase;

export function handoffKillAt(root: string, state: string, victim: number, o: KillRunOptions): Promise<KillRun> {
  const epoch = 2;
  return killRun(root, 'handoff', state, victim, o, async (devnet, run) => {
    const status = (i: number) => slowOperatorCall<CeremonyStatusView>(devnet, i, 'CeremonyStatus', { epoch }).catch(() => undefined);
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
  });
}
