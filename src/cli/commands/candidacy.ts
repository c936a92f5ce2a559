// `gatekeeper candidacy get --endpoint HOST:PORT --epoch N --self-stake S [--advertise HOST:PORT] --out FILE`:
// asks a node (operator-signed) to sign its candidacy for an epoch and writes it as a candidacy file
// (docs/election-input.md §1), which `gatekeeper snapshot build --candidacy FILE` takes.
import fs from 'node:fs';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Command } from '../main.js';
import { parseCommandArgs, requireOption, UsageError } from '../args.js';
import { checkEndpoint, clientFor, TLS_OPTIONS, TLS_USAGE, withNode } from '../client-options.js';
import { loadOperatorKey } from '../operator-key.js';
import { candidacyJson, type CandidacyMsg } from '../election-input.js';
import { nodeIdOf } from '../../node/identity.js';

const USAGE = `usage: gatekeeper candidacy get --endpoint HOST:PORT --epoch N --self-stake S [--advertise HOST:PORT]
                                [--out FILE] [--operator-key FILE] [--json] ${TLS_USAGE}

  The node signs, with its identity key, its candidacy for epoch N: its identity and transport keys,
  the endpoint other members reach it on (--advertise, default: the node's configured "advertise")
  and its self stake S (decimal). The candidacy file goes to --out (else stdout).

exit status: 0 written, 1 the node refused or could not be reached, 2 bad usage`;

/** Fetches a signed candidacy from a node (operator-signed GetCandidacy). */
export async function fetchCandidacy(endpoint: string, values: Record<string, unknown>, epoch: number, selfStake: string, advertise = ''): Promise<CandidacyMsg> {
  const key = values['tls-cert'] === undefined ? loadOperatorKey(values['operator-key'] as string | undefined) : undefined;
  const client = clientFor(endpoint, values);
  try {
    const res = await client.call<CandidacyMsg>('OperatorService', 'GetCandidacy', { epoch, selfStake, endpoint: advertise },
      key ? { sign: { role: 'operator', secretKey: key } } : {});
    return { identityKey: new Uint8Array(res.identityKey), endpoint: res.endpoint, transportKey: new Uint8Array(res.transportKey), selfStake: res.selfStake, epoch: res.epoch, signature: new Uint8Array(res.signature) };
  } finally {
    client.close();
    key?.fill(0);
  }
}

export function parseEpoch(v: string, flag = '--epoch'): number {
  if (!/^[1-9][0-9]{0,9}$/.test(v) || Number(v) > 0xffffffff) throw new UsageError(`${flag} must be an integer from 1 to 4294967295`);
  return Number(v);
}

export function parseStake(v: string, flag = '--self-stake'): string {
  if (!/^(0|[1-9][0-9]{0,19})$/.test(v) || BigInt(v) > 0xffffffffffffffffn) throw new UsageError(`${flag} must be a decimal unsigned 64-bit integer`);
  return v;
}

const command: Command = {
  summary: 'have a node sign its candidacy for an epoch (a candidacy file for snapshot build)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      endpoint: { type: 'string' }, epoch: { type: 'string' }, 'self-stake': { type: 'string' }, advertise: { type: 'string' }, out: { type: 'string' },
      'operator-key': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, ...TLS_OPTIONS,
    });
    if (values.help || positionals[0] !== 'get' || positionals.length > 1) {
      process.stdout.write(USAGE + '\n');
      return values.help ? 0 : 2;
    }
    const endpoint = checkEndpoint(requireOption(values, 'endpoint'));
    const epoch = parseEpoch(requireOption(values, 'epoch'));
    const selfStake = parseStake(requireOption(values, 'self-stake'));
    if (values.advertise !== undefined) checkEndpoint(values.advertise, '--advertise');
    const probe = clientFor(endpoint, values);
    return withNode('candidacy get', probe, async () => {
      const c = await fetchCandidacy(endpoint, values, epoch, selfStake, values.advertise ?? '');
      const text = JSON.stringify(candidacyJson(c), null, 2) + '\n';
      if (values.out) {
        try { fs.writeFileSync(values.out, text); } catch (err) {
          process.stderr.write(`gatekeeper candidacy get: cannot write ${values.out}: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`);
          return 1;
        }
        const summary = { file: values.out, nodeId: bytesToHex(nodeIdOf(c.identityKey)), endpoint: c.endpoint, epoch, selfStake };
        process.stdout.write(values.json ? JSON.stringify(summary) + '\n' : `wrote the candidacy of node ${summary.nodeId} (${c.endpoint}, epoch ${epoch}, self stake ${selfStake}) to ${values.out}\n`);
      } else {
        process.stdout.write(values.json ? JSON.stringify(candidacyJson(c)) + '\n' : text);
      }
      return 0;
    });
  },
};
export default command;
