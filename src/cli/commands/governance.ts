// `gatekeeper governance sign|combine|show`: governance signatures on a document (a snapshot, a release
// policy or a contract key-version action; docs/election-input.md §3). Each holder signs with their own
// key file, on their own machine if they like; `combine` merges the signed copies.
import type { Command } from '../main.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { parseCommandArgs, requireOption, UsageError } from '../args.js';
import { combineDocs, readDoc, readGovernanceKey, signDoc, writeDoc } from '../governance-doc.js';

const USAGE = `usage: gatekeeper governance sign --in FILE --governance-key KEY [--governance-key ...] [--out FILE] [--json]
       gatekeeper governance combine --in FILE --in FILE [...] --out FILE [--json]
       gatekeeper governance show --in FILE [--json]

  sign     adds a signature by each key file to the document (in place unless --out)
  combine  merges copies of one document signed by different holders (the signed bytes must match)
  show     lists what the document is and who signed it (every signature is verified on reading)

Documents: \`snapshot build\`, \`policy prepare\` and \`contract prepare\` write them.
exit status: 0 done, 2 bad usage, an unreadable document, or a signature that does not verify`;

const command: Command = {
  summary: 'sign, combine or show a governance document (snapshot, policy, contract action)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      in: { type: 'string', multiple: true }, out: { type: 'string' }, 'governance-key': { type: 'string', multiple: true },
      json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    });
    const sub = positionals[0];
    if (values.help || !['sign', 'combine', 'show'].includes(sub ?? '') || positionals.length > 1) {
      process.stdout.write(USAGE + '\n');
      return values.help ? 0 : 2;
    }
    const inputs = values.in ?? [];
    if (inputs.length === 0) throw new UsageError('--in FILE is required');
    let doc;
    let target: string | undefined;
    if (sub === 'sign') {
      if (inputs.length !== 1) throw new UsageError('sign takes one --in');
      const keys = (values['governance-key'] ?? []).map(readGovernanceKey);
      if (keys.length === 0) throw new UsageError('--governance-key FILE is required');
      doc = signDoc(readDoc(inputs[0]!), keys);
      keys.forEach((k) => k.fill(0));
      target = values.out ?? inputs[0]!;
    } else if (sub === 'combine') {
      if (inputs.length < 2) throw new UsageError('combine needs at least two --in');
      doc = combineDocs(inputs.map((f) => readDoc(f)));
      target = requireOption(values, 'out');
    } else {
      if (inputs.length !== 1) throw new UsageError('show takes one --in');
      doc = readDoc(inputs[0]!);
    }
    if (target) writeDoc(target, doc);
    const view = { kind: doc.kind, file: target ?? inputs[0], signers: doc.signatures.map((s) => bytesToHex(s.key)), summary: doc.summary };
    if (values.json) process.stdout.write(JSON.stringify(view) + '\n');
    else {
      process.stdout.write(`${doc.kind} document ${view.file}: ${view.signers.length} governance signature(s)${target ? ' (written)' : ''}\n`);
      for (const k of view.signers) process.stdout.write(`  signed by ${k}\n`);
      if (sub === 'show' && doc.summary) process.stdout.write(JSON.stringify(doc.summary, null, 2) + '\n');
    }
    return 0;
  },
};
export default command;
