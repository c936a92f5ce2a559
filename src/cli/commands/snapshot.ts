// `gatekeeper snapshot build`: the election input of an epoch (docs/election-input.md): the nodes'
// signed candidacies (candidacy files, or fetched from the nodes) and a nominations file, encoded as
// the Snapshot message and written as an unsigned governance document. The election is run locally
// so the operator sees the committee the snapshot will elect before anyone signs it.
import type { Command } from '../main.js';
import { parseCommandArgs, requireOption } from '../args.js';
import { TLS_OPTIONS, TLS_USAGE } from '../client-options.js';
import { writeDoc } from '../governance-doc.js';
import { buildSnapshot, electedLines, SNAPSHOT_OPTIONS, SNAPSHOT_USAGE } from '../election-snapshot.js';

const USAGE = `usage: gatekeeper snapshot build --epoch N --seats S [--threshold K] [--phase-timeout-ms T]
                               (--candidacy FILE ... | --endpoint HOST:PORT ... --self-stake S)
                               [--nominations FILE] --out FILE [--operator-key FILE] [--json] ${TLS_USAGE}

${SNAPSHOT_USAGE}
  --endpoint         or fetch each node's candidacy now (operator-signed), each with --self-stake S
  --out              the unsigned snapshot document; governance signs it with \`gatekeeper governance sign\`

Prints the committee this snapshot elects (the nodes run the same election on the same bytes).
\`gatekeeper election submit\` builds, signs and submits in one step when the governance keys are at hand.
exit status: 0 written, 1 a node could not be reached or refused, 2 bad usage or an invalid snapshot`;

const command: Command = {
  summary: 'build an election snapshot from candidacies and a nominations file (for governance to sign)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      ...SNAPSHOT_OPTIONS, endpoint: { type: 'string', multiple: true }, out: { type: 'string' }, 'operator-key': { type: 'string' },
      json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, ...TLS_OPTIONS,
    });
    if (values.help || positionals[0] !== 'build' || positionals.length > 1) {
      process.stdout.write(USAGE + '\n');
      return values.help ? 0 : 2;
    }
    const out = requireOption(values, 'out');
    const built = await buildSnapshot(values, values.endpoint ?? [], '--endpoint');
    if ('error' in built) {
      process.stderr.write(`gatekeeper snapshot build: ${built.endpoint}: ${built.error}\n`);
      return 1;
    }
    const { doc, summary } = built;
    writeDoc(out, doc);
    if (values.json) process.stdout.write(JSON.stringify({ file: out, ...summary }) + '\n');
    else {
      process.stdout.write(`written to ${out}: ${electedLines(summary)}`);
      process.stdout.write('Next: governance signs it (gatekeeper governance sign --in FILE --governance-key KEY), then gatekeeper genesis submit (epoch 1) or election submit.\n');
    }
    return 0;
  },
};
export default command;
