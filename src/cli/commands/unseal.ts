// `gatekeeper unseal --endpoint HOST:PORT [--share TEXT | --share-file FILE]`: gives a node one share.
import fs from 'node:fs';
import type { Command } from '../main.js';
import { parseCommandArgs, requireOption, UsageError } from '../args.js';
import { checkEndpoint, clientFor, TLS_OPTIONS, TLS_USAGE, withNode } from '../client-options.js';
import { loadOperatorKey } from '../operator-key.js';
import { isLoopback } from '../../node/config.js';

const command: Command = {
  summary: 'give a sealed node one unseal share',
  async run(argv) {
    const { values } = parseCommandArgs(argv, {
      endpoint: { type: 'string' }, share: { type: 'string' }, 'share-file': { type: 'string' }, reset: { type: 'boolean' },
      'operator-key': { type: 'string' }, insecure: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' }, ...TLS_OPTIONS,
    });
    if (values.help) {
      process.stdout.write([
        `usage: gatekeeper unseal --endpoint HOST:PORT (--share TEXT | --share-file FILE | --reset [--operator-key FILE]) [--insecure] [--json] ${TLS_USAGE}`,
        '',
        'Prefer --share-file or GATEKEEPER_UNSEAL_SHARE so the share stays out of shell history.',
        'A share is sent in plaintext only to a loopback endpoint: give --tls-ca, or --insecure on purpose.',
        '--reset (forget the shares given so far) is an operator call: signed with --operator-key FILE or',
        'GATEKEEPER_OPERATOR_KEY, or made with an operator client certificate (--tls-cert/--tls-key).',
        '',
      ].join('\n'));
      return 0;
    }
    const endpoint = checkEndpoint(requireOption(values, 'endpoint'));
    if (values['tls-ca'] === undefined && !values.insecure && !isLoopback(endpoint)) {
      throw new UsageError(`${endpoint} is not a loopback address: an unseal share must not cross the network in plaintext; give --tls-ca PEM (or --insecure on purpose)`);
    }
    let share = values.share ?? process.env.GATEKEEPER_UNSEAL_SHARE;
    if (values['share-file']) {
      try { share = fs.readFileSync(values['share-file'], 'utf8').trim(); } catch { throw new UsageError(`cannot read ${values['share-file']}`); }
    }
    if (!share && !values.reset) throw new UsageError('a share is required: --share, --share-file or GATEKEEPER_UNSEAL_SHARE');
    return withNode('unseal', clientFor(endpoint, values), async (client) => {
      const req = { share: values.reset ? '' : share ?? '', reset: !!values.reset };
      const sign = values.reset && values['tls-cert'] === undefined
        ? { sign: { role: 'operator' as const, secretKey: loadOperatorKey(values['operator-key']) } } : {};
      const res = await client.call<{ sealed: boolean; progress: number; threshold: number }>('OperatorService', 'Unseal', req, sign);
      if (values.json) process.stdout.write(JSON.stringify(res) + '\n');
      else process.stdout.write(res.sealed ? `sealed: ${res.progress} of ${res.threshold} shares given\n` : 'unsealed\n');
      return 0;
    });
  },
};
export default command;
