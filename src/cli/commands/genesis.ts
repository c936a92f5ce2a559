// `gatekeeper genesis submit --snapshot FILE --endpoint HOST:PORT [...]`: hands a governance-signed
// genesis snapshot to the committee (operator-signed SubmitGenesis). With one endpoint that node
// forwards it to every candidate; with several, each is given it directly. Accepting the same
// snapshot twice changes nothing, so the command is safe to repeat. Later epochs' elections come with
// the committee life-cycle work (`election submit`).
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Command } from '../main.js';
import { parseCommandArgs, requireOption, UsageError } from '../args.js';
import { TLS_OPTIONS, TLS_USAGE } from '../client-options.js';
import { fanOut, reportFanOut } from '../fanout.js';
import { readDoc, wireSignatures } from '../governance-doc.js';

const USAGE = `usage: gatekeeper genesis submit --snapshot FILE --endpoint HOST:PORT [--endpoint ...]
                              [--operator-key FILE] [--json] ${TLS_USAGE}

  --snapshot  a snapshot document signed by enough governance keys (gatekeeper governance sign)
  --endpoint  one node (it forwards the snapshot to every candidate) or every candidate

Then watch the ceremony with \`gatekeeper status\` until every member reports COMPLETE.
exit status: 0 every endpoint accepted it, 1 some refused or could not be reached, 2 bad usage`;

interface GenesisRes { epoch: number; snapshotHash: Uint8Array; elected: boolean; roster: Uint8Array[]; forwardErrors: string[] }

const command: Command = {
  summary: 'submit a governance-signed genesis snapshot to the candidates',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      snapshot: { type: 'string' }, endpoint: { type: 'string', multiple: true }, 'operator-key': { type: 'string' },
      json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, ...TLS_OPTIONS,
    });
    if (values.help || positionals[0] !== 'submit' || positionals.length > 1) {
      process.stdout.write(USAGE + '\n');
      return values.help ? 0 : 2;
    }
    const doc = readDoc(requireOption(values, 'snapshot'), 'snapshot');
    if (doc.signatures.length === 0) throw new UsageError('the snapshot has no governance signatures yet: gatekeeper governance sign --in FILE --governance-key KEY');
    const endpoints = values.endpoint ?? [];
    if (endpoints.length === 0) throw new UsageError('--endpoint HOST:PORT is required');
    const forward = endpoints.length === 1;
    const results = await fanOut<GenesisRes>(endpoints, 'SubmitGenesis', { snapshot: { snapshot: doc.payload, signatures: wireSignatures(doc) }, forward }, values);
    const code = reportFanOut('genesis submit', results, !!values.json, (r) => ({
      epoch: r.epoch, elected: r.elected, snapshotHash: bytesToHex(r.snapshotHash).slice(0, 16),
      ...(r.forwardErrors.length ? { forwardErrors: r.forwardErrors.join('; ').slice(0, 500) } : {}),
    }));
    const forwardFailed = results.some((r) => r.ok && r.answer!.forwardErrors.length > 0);
    if (forwardFailed && !values.json) process.stderr.write('gatekeeper genesis submit: some candidates were not reached by forwarding; submit again to them with --endpoint\n');
    return code === 0 && forwardFailed ? 1 : code;
  },
};
export default command;
