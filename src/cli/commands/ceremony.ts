// `gatekeeper ceremony status ...` (ceremony-status.ts): how each node sees a ceremony, once or live.
// `gatekeeper ceremony abort --endpoint HOST:PORT --epoch N [--reason TEXT]`: an operator stops a ceremony.
import type { Command } from '../main.js';
import { parseCommandArgs, requireOption, UsageError } from '../args.js';
import { clientFor, TLS_OPTIONS, TLS_USAGE, withNode } from '../client-options.js';
import { loadOperatorKey } from '../operator-key.js';
import { runCeremonyStatus } from './ceremony-status.js';

const USAGE = `usage: gatekeeper ceremony status --endpoint HOST:PORT [--endpoint ...] [--epoch N] [--watch] [...]   (ceremony status --help)
       gatekeeper ceremony abort --endpoint HOST:PORT --epoch N [--reason TEXT] [--operator-key FILE] [--json] ${TLS_USAGE}`;

const command: Command = {
  summary: 'show a ceremony\'s progress on the nodes (--watch to follow it), or abort one on a node',
  async run(argv) {
    if (argv[0] === 'status') return runCeremonyStatus(argv);
    const { values, positionals } = parseCommandArgs(argv, {
      endpoint: { type: 'string' }, epoch: { type: 'string' }, reason: { type: 'string' }, 'operator-key': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' }, ...TLS_OPTIONS,
    });
    if (values.help || positionals[0] !== 'abort') {
      process.stdout.write(USAGE + '\n');
      return values.help ? 0 : 2;
    }
    const epoch = Number(requireOption(values, 'epoch'));
    if (!Number.isInteger(epoch) || epoch < 1) throw new UsageError('--epoch must be a positive integer');
    const key = loadOperatorKey(values['operator-key']);
    return withNode('ceremony abort', clientFor(requireOption(values, 'endpoint'), values), async (client) => {
      const res = await client.call<{ state: string }>('OperatorService', 'AbortCeremony', { epoch, reason: values.reason ?? '' },
        { sign: { role: 'operator', secretKey: key } });
      process.stdout.write(values.json ? JSON.stringify({ epoch, state: res.state }) + '\n' : `ceremony of epoch ${epoch}: ${res.state}\n`);
      return 0;
    });
  },
};
export default command;
