// Genesis with a member killed at each persisted ceremony state (issue 12, bench/chaos item 3). Driven
// only from outside, through OperatorService.Status (ceremony_state, ceremony_error) and the committee
// the members serve, so it holds whatever runs the DKG inside the node: a fresh devnet per run, the
// victim SIGKILLed as soon as Status shows the state, restarted and unsealed after `downMs`, and then
// every member must either complete with the identical certified committee, or abort naming the
// member that was missing.
import { bytesToHex } from '@noble/hashes/utils.js';
import { sleep } from '../../src/devnet/devnet.js';
import { withRetries } from '../../src/sdk/failover.js';
import { killRun, settle, stateOf, type KillRun, type KillRunOptions } from './kill-run.js';
import { startGenesis, unsealSlow } from './setup.js';

/** Ceremony states in the order a member passes them (src/devnet/devnet.ts waitForCommittee). */
export const GENESIS_ORDER = ['ROUND1', 'ROUND2', 'KEYED', 'CONFIRMED', 'COMPLETE'];

export function genesisKillAt(root: string, state: string, victim: number, o: KillRunOptions): Promise<KillRun> {
  return killRun(root, 'genesis', state, victim, o, async (devnet, run) => {
    await devnet.create();
    let victimId = '';
    await startGenesis(devnet, o.n, o.k, o.phaseTimeoutMs);
    // Kill as soon as the victim reports the wanted state (or any later one).
    const want = GENESIS_ORDER.indexOf(state);
    const watchUntil = Date.now() + o.phaseTimeoutMs * 6;
    for (;;) {
      const view = await devnet.status(victim).catch(() => undefined);
      if (view && !victimId) victimId = bytesToHex(view.nodeId);
      const s = stateOf(view);
      if (GENESIS_ORDER.indexOf(s) >= want || s === 'ABORTED') { devnet.killNode(victim); run.killedAt = s; break; }
      if (Date.now() > watchUntil) throw new Error(`${run.victim} never reached ${state} (last ${s})`);
      await sleep(15);
    }
    await sleep(o.downMs);
    await devnet.startNode(victim);
    await unsealSlow(devnet, victim);
    run.restartedAt = stateOf(await devnet.status(victim).catch(() => undefined));
    await settle(devnet, o, run, victimId, 1, async () => {
      const view = await withRetries(() => devnet.checkCommittee(), { timeoutMs: 120_000 });
      return `identical committee on all ${o.n}: CPK ${bytesToHex(view.committeeKey).slice(0, 16)}…, ${view.members.length} members`;
    });
  });
}
