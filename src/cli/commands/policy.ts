// `gatekeeper policy prepare|set`: a governance-signed release policy (docs/release-policy.md),
// installed on every member. `prepare` checks the policy JSON and writes it as an unsigned governance
// document (for holders who sign separately); `set` sends a signed document, or signs with the key
// files given, to every member. Installing the same policy and serial again changes nothing.
import fs from 'node:fs';
import type { Command } from '../main.js';
import { parseCommandArgs, requireOption, UsageError } from '../args.js';
import { TLS_OPTIONS, TLS_USAGE } from '../client-options.js';
import { fanOut, reportFanOut } from '../fanout.js';
import { readDoc, readGovernanceKey, signDoc, wireSignatures, writeDoc, type GovernanceDoc } from '../governance-doc.js';
import { parseReleasePolicy, ReleasePolicyError } from '../../keys/release-policy.js';

const USAGE = `usage: gatekeeper policy prepare --policy POLICY.json --out FILE [--json]
       gatekeeper policy set (--signed FILE | --policy POLICY.json --governance-key KEY [...])
                             --endpoint HOST:PORT [--endpoint ...] [--operator-key FILE] [--json] ${TLS_USAGE}

  prepare  checks the release policy and writes it as a governance document to sign
           (gatekeeper governance sign; holders may sign copies and combine them)
  set      installs it on every member given (each checks the governance signatures itself);
           a replacement needs a higher "serial"

exit status: 0 every member installed it, 1 some member refused or could not be reached, 2 bad usage`;

function policyDoc(file: string): GovernanceDoc {
  let bytes: Uint8Array;
  try { bytes = new Uint8Array(fs.readFileSync(file)); } catch (err) {
    throw new UsageError(`cannot read --policy ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    const p = parseReleasePolicy(bytes);
    return { kind: 'policy', payload: bytes, summary: { id: p.id, serial: p.serial, namespaces: Object.keys(p.namespaces) }, signatures: [] };
  } catch (err) {
    if (err instanceof ReleasePolicyError) throw new UsageError(`--policy ${file}: ${err.message}`);
    throw err;
  }
}

const command: Command = {
  summary: 'prepare or install a governance-signed release policy on every member',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      policy: { type: 'string' }, signed: { type: 'string' }, out: { type: 'string' }, 'governance-key': { type: 'string', multiple: true },
      endpoint: { type: 'string', multiple: true }, 'operator-key': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, ...TLS_OPTIONS,
    });
    const sub = positionals[0];
    if (values.help || (sub !== 'prepare' && sub !== 'set') || positionals.length > 1) {
      process.stdout.write(USAGE + '\n');
      return values.help ? 0 : 2;
    }
    if (sub === 'prepare') {
      const doc = policyDoc(requireOption(values, 'policy'));
      const out = requireOption(values, 'out');
      writeDoc(out, doc);
      process.stdout.write(values.json ? JSON.stringify({ file: out, ...doc.summary }) + '\n' : `policy '${String(doc.summary!.id)}' serial ${String(doc.summary!.serial)} written to ${out} for governance to sign\n`);
      return 0;
    }
    if ((values.signed === undefined) === (values.policy === undefined)) throw new UsageError('give exactly one of --signed FILE and --policy FILE');
    let doc: GovernanceDoc;
    if (values.signed !== undefined) {
      doc = readDoc(values.signed, 'policy');
    } else {
      const keys = (values['governance-key'] ?? []).map(readGovernanceKey);
      if (keys.length === 0) throw new UsageError('--policy needs --governance-key FILE (or sign separately and give --signed)');
      doc = signDoc(policyDoc(values.policy!), keys);
      keys.forEach((k) => k.fill(0));
    }
    if (doc.signatures.length === 0) throw new UsageError('the policy has no governance signatures');
    const endpoints = values.endpoint ?? [];
    if (endpoints.length === 0) throw new UsageError('--endpoint HOST:PORT is required (give every member)');
    const results = await fanOut<{ id: string; serial: number }>(endpoints, 'SetReleasePolicy', { policyJson: doc.payload, signatures: wireSignatures(doc) }, values);
    return reportFanOut('policy set', results, !!values.json, (r) => ({ policy: r.id, serial: r.serial }));
  },
};
export default command;
