// `gatekeeper invoke --endpoint WORKER --envelope FILE`: calls the demo contract
// (gatekeeper.v1.DemoContract/Invoke) on a worker with an envelope from `gatekeeper encrypt`, and
// prints the worker's answer: the SHA-256 and length of the plaintext it decrypted.
import fs from 'node:fs';
import { bytesToHex } from '@noble/hashes/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { Command } from '../main.js';
import { parseCommandArgs, requireOption, UsageError } from '../args.js';
import { checkEndpoint, clientFor, TLS_OPTIONS, TLS_USAGE, withNode } from '../client-options.js';

const USAGE = `usage: gatekeeper invoke --endpoint WORKER_HOST:PORT --envelope FILE [--expect FILE] [--json] ${TLS_USAGE}

  Sends the envelope (gatekeeper encrypt --out FILE) to the worker's demo contract, which opens it
  with its contract key and answers the plaintext's SHA-256 and length.
  --expect  the plaintext file: exit 1 unless the worker's digest matches it

exit status: 0 answered (and matched), 1 refused, unreachable or a different digest, 2 bad usage`;

const command: Command = {
  summary: 'invoke the demo contract on a worker with an envelope and print its answer',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      endpoint: { type: 'string' }, envelope: { type: 'string' }, expect: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, ...TLS_OPTIONS,
    });
    if (values.help) { process.stdout.write(USAGE + '\n'); return 0; }
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]!.slice(0, 40)}'`);
    const endpoint = checkEndpoint(requireOption(values, 'endpoint'));
    const read = (f: string, what: string) => { try { return new Uint8Array(fs.readFileSync(f)); } catch { throw new UsageError(`cannot read ${what} ${f}`); } };
    const envelope = read(requireOption(values, 'envelope'), 'envelope');
    const expected = values.expect !== undefined ? sha256(read(values.expect, '--expect file')) : undefined;
    return withNode('invoke', clientFor(endpoint, values), async (client) => {
      const res = await client.call<{ plaintextSha256: Uint8Array; length: string }>('DemoContract', 'Invoke', { envelope });
      const digest = bytesToHex(new Uint8Array(res.plaintextSha256));
      const matches = expected === undefined ? undefined : digest === bytesToHex(expected);
      if (values.json) process.stdout.write(JSON.stringify({ plaintextSha256: digest, length: Number(res.length), matches }) + '\n');
      else {
        process.stdout.write(`worker answered: plaintext sha256 ${digest}, ${res.length} bytes\n`);
        if (matches !== undefined) process.stdout.write(matches ? 'matches --expect\n' : 'DOES NOT match --expect\n');
      }
      return matches === false ? 1 : 0;
    });
  },
};
export default command;
