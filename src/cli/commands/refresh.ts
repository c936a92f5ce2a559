// `gatekeeper refresh --endpoint HOST:PORT ... [--epoch N]`: proactive share refresh (issue 11 item 6;
// DESIGN §3.4): a hand-off from the current committee to the same roster, which gives every member new
// shares of the same secrets (committee key and contract keys unchanged). OperatorService.RefreshShares
// goes to every member given; the epoch defaults to the active committee's epoch + 1 (read with
// Status). One row per member; the same request again changes nothing, so it is safe to repeat.
import type { Command } from '../main.js';
import { parseCommandArgs, UsageError } from '../args.js';
import { TLS_OPTIONS, TLS_USAGE } from '../client-options.js';
import { fanOut, reportFanOut } from '../fanout.js';
import { parseEpoch } from './candidacy.js';

const USAGE = `usage: gatekeeper refresh --endpoint HOST:PORT --endpoint ... [--epoch N] [--operator-key FILE] [--json] ${TLS_USAGE}

  --endpoint  every member of the active committee (repeat)
  --epoch     the refresh's epoch: the active committee's epoch + 1 (default: read from the members' Status)

Then watch it with \`gatekeeper ceremony status --watch --endpoint ...\`.
exit status: 0 every member started (or had already started) it, 1 some refused or could not be reached, 2 bad usage`;

interface RefreshRes { epoch: number; roster: Uint8Array[]; forwardErrors: string[] }

const command: Command = {
  summary: 'refresh every member\'s key shares (same roster, same committee key) on every member',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      endpoint: { type: 'string', multiple: true }, epoch: { type: 'string' }, 'operator-key': { type: 'string' },
      json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, ...TLS_OPTIONS,
    });
    if (values.help || positionals.length > 0) {
      process.stdout.write(USAGE + '\n');
      return values.help ? 0 : 2;
    }
    const endpoints = values.endpoint ?? [];
    if (endpoints.length === 0) throw new UsageError('--endpoint HOST:PORT is required, once per member');
    let epoch: number;
    if (values.epoch !== undefined) epoch = parseEpoch(values.epoch);
    else {
      const views = await fanOut<{ epoch: number }>(endpoints, 'Status', {}, values, { sign: false, timeoutMs: 10_000 });
      const answered = views.filter((v) => v.ok);
      if (answered.length === 0) {
        for (const v of views) process.stderr.write(`gatekeeper refresh: ${v.endpoint}: ${v.error}\n`);
        process.stderr.write('gatekeeper refresh: no member answered Status; give --epoch N to send the refresh anyway\n');
        return 1;
      }
      const active = Math.max(...answered.map((v) => v.answer!.epoch));
      if (active === 0) {
        process.stderr.write('gatekeeper refresh: no committee is active yet (epoch 0); run genesis first\n');
        return 1;
      }
      epoch = active + 1;
      if (!values.json) process.stdout.write(`active committee: epoch ${active}; refreshing as epoch ${epoch}\n`);
    }
    const results = await fanOut<RefreshRes>(endpoints, 'RefreshShares', { epoch }, values);
    return reportFanOut('refresh', results, !!values.json, (r) => ({ epoch: r.epoch, members: r.roster.length }));
  },
};
export default command;
