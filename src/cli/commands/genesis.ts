// `gatekeeper genesis submit --snapshot FILE --endpoint HOST:PORT [...]`: hands a governance-signed
// genesis snapshot to the committee (operator-signed SubmitGenesis). With one endpoint that node
// forwards it to every candidate; with several, each is given it directly. Accepting the same
// snapshot twice changes nothing, so the command is safe to repeat. `election submit` does the same
// for any epoch (and can build and sign the snapshot itself).
import type { Command } from '../main.js';
import { parseCommandArgs, requireOption } from '../args.js';
import { TLS_OPTIONS, TLS_USAGE } from '../client-options.js';
import { readDoc } from '../governance-doc.js';
import { submitSnapshot } from '../election-snapshot.js';

const USAGE = `usage: gatekeeper genesis submit --snapshot FILE --endpoint HOST:PORT [--endpoint ...]
                              [--operator-key FILE] [--json] ${TLS_USAGE}

  --snapshot  a snapshot document signed by enough governance keys (gatekeeper governance sign)
  --endpoint  one node (it forwards the snapshot to every candidate) or every candidate

Then watch the ceremony with \`gatekeeper ceremony status --watch\` until every member is COMPLETE.
exit status: 0 every endpoint accepted it, 1 some refused or could not be reached, 2 bad usage`;

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
    return submitSnapshot('genesis submit', 'SubmitGenesis', doc, values.endpoint ?? [], values);
  },
};
export default command;
