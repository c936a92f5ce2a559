// `gatekeeper status --endpoint HOST:PORT [--json]`: the node's state and what to do next. The exit
// status follows Vault's `vault status`, so scripts can wait on it: 0 unsealed, 2 sealed (or not yet
// initialized), 1 an error (unreachable, a refusal, a bad answer).
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Command } from '../main.js';
import { parseCommandArgs, requireOption } from '../args.js';
import { clientFor, TLS_OPTIONS, TLS_USAGE, withNode } from '../client-options.js';

interface StatusRes {
  initialized: boolean; sealed: boolean; unsealProgress: number; unsealThreshold: number; nodeId: Uint8Array;
  identityKey: Uint8Array; epoch: number; ceremonyState: string; ceremonyEpoch: number; ceremonyError: string;
  member: boolean; nextStep: string; committeeKey: Uint8Array;
}

const USAGE = `usage: gatekeeper status --endpoint HOST:PORT [--json] ${TLS_USAGE}

  The node's seal state, unseal progress, committee epoch and membership, the newest ceremony, the
  committee key and the next step (answered while sealed; no secrets).
exit status: 0 unsealed, 2 sealed or not initialized (also bad usage), 1 error (unreachable, refused, bad answer)`;

const command: Command = {
  summary: 'show a node\'s state and the next step',
  async run(argv) {
    const { values } = parseCommandArgs(argv, { endpoint: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' }, ...TLS_OPTIONS });
    if (values.help) { process.stdout.write(`${USAGE}\n`); return 0; }
    return withNode('status', clientFor(requireOption(values, 'endpoint'), values), async (client) => {
      const s = await client.call<StatusRes>('OperatorService', 'Status', {});
      const view = {
        initialized: s.initialized, sealed: s.sealed, unsealProgress: `${s.unsealProgress}/${s.unsealThreshold}`,
        nodeId: bytesToHex(s.nodeId), epoch: s.epoch, member: s.member,
        ceremony: s.ceremonyState ? `${s.ceremonyState} (epoch ${s.ceremonyEpoch})` : 'none',
        ceremonyError: s.ceremonyError || undefined, committeeKey: s.committeeKey.length ? bytesToHex(s.committeeKey) : undefined,
        nextStep: s.nextStep,
      };
      if (values.json) process.stdout.write(JSON.stringify(view) + '\n');
      else for (const [k, v] of Object.entries(view)) if (v !== undefined) process.stdout.write(`${k.padEnd(15)} ${String(v)}\n`);
      return s.sealed ? 2 : 0;
    });
  },
};
export default command;
