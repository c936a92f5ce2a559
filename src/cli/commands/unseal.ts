// `gatekeeper unseal --endpoint HOST:PORT [--share TEXT | --share-file FILE]`: gives a node one share.
import fs from 'node:fs';
import type { Command } from '../main.js';
import { parseCommandArgs, requireOption, UsageError } from '../args.js';
import { clientFor, TLS_OPTIONS, TLS_USAGE, withNode } from '../client-options.js';

const command: Command = {
  summary: 'give a sealed node one unseal share',
  async run(argv) {
    const { values } = parseCommandArgs(argv, {
      endpoint: { type: 'string' }, share: { type: 'string' }, 'share-file': { type: 'string' }, reset: { type: 'boolean' }, help: { type: 'boolean' }, ...TLS_OPTIONS,
    });
    if (values.help) {
      process.stdout.write(`usage: gatekeeper unseal --endpoint HOST:PORT (--share TEXT | --share-file FILE | --reset) ${TLS_USAGE}\n\nPrefer --share-file or GATEKEEPER_UNSEAL_SHARE so the share stays out of shell history.\n`);
      return 0;
    }
    const endpoint = requireOption(values, 'endpoint');
    let share = values.share ?? process.env.GATEKEEPER_UNSEAL_SHARE;
    if (values['share-file']) {
      try { share = fs.readFileSync(values['share-file'], 'utf8').trim(); } catch { throw new UsageError(`cannot read ${values['share-file']}`); }
    }
    if (!share && !values.reset) throw new UsageError('a share is required: --share, --share-file or GATEKEEPER_UNSEAL_SHARE');
    return withNode('unseal', clientFor(endpoint, values), async (client) => {
      const res = await client.call<{ sealed: boolean; progress: number; threshold: number }>('OperatorService', 'Unseal', { share: share ?? '', reset: !!values.reset });
      process.stdout.write(res.sealed ? `sealed: ${res.progress} of ${res.threshold} shares given\n` : 'unsealed\n');
      return 0;
    });
  },
};
export default command;
