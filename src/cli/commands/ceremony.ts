// `gatekeeper ceremony abort --endpoint HOST:PORT --epoch N [--reason TEXT]`: an operator stops a ceremony.
import type { Command } from '../main.js';
import { parseCommandArgs, requireOption, UsageError } from '../args.js';
import { clientFor, TLS_OPTIONS, TLS_USAGE, withNode } from '../client-options.js';
import { loadOperatorKey } from '../operator-key.js';

const command: Command = {
  summary: 'abort a running ceremony on one node',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      endpoint: { type: 'string' }, epoch: { type: 'string' }, reason: { type: 'string' }, 'operator-key': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' }, ...TLS_OPTIONS,
    });
    if (values.help || positionals[0] !== 'abort') {
      process.stdout.write('usage: gatekeeper ceremony abort --endpoint HOST:PORT --epoch N [--reason TEXT] [--operator-key FILE] [--json]\n');
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
