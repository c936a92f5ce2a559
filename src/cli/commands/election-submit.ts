// `gatekeeper election submit`: an election round (issue 11 item 2; DESIGN §3.3). Builds the snapshot
// from candidacies (as `snapshot build` does) or reads a snapshot document, adds the signatures of the
// governance key files it is given (a document signed and combined by separate holders needs none),
// and submits it with OperatorService.SubmitElection: to one node, which forwards it to every current
// member and every candidate, or to every endpoint given. One row per endpoint; safe to repeat.
import fs from 'node:fs';
import { parseCommandArgs, UsageError } from '../args.js';
import { TLS_OPTIONS, TLS_USAGE } from '../client-options.js';
import { readDoc, readGovernanceKey, signDoc, writeDoc, type GovernanceDoc } from '../governance-doc.js';
import { buildSnapshot, electedLines, SNAPSHOT_OPTIONS, SNAPSHOT_USAGE, submitSnapshot, summarizeSnapshot } from '../election-snapshot.js';

export const ELECTION_SUBMIT_USAGE = `usage: gatekeeper election submit --snapshot FILE [--governance-key KEY ...] --endpoint HOST:PORT [--endpoint ...]
       gatekeeper election submit --epoch N --seats S [--threshold K] [--phase-timeout-ms T]
                                  (--candidacy FILE ... | --candidate HOST:PORT ... --self-stake S) [--nominations FILE]
                                  --governance-key KEY [--governance-key ...] --out FILE --endpoint HOST:PORT [--endpoint ...]
       common: [--operator-key FILE] [--json] ${TLS_USAGE}

  --snapshot         a snapshot document (snapshot build; governance sign / combine); already signed
                     by enough holders, or signed here with --governance-key
  --governance-key   a governance key file; each adds its signature (repeat for m of the keys)
  --endpoint         one node (it forwards the snapshot to every current member and candidate) or every one
To build the snapshot here instead of --snapshot:
${SNAPSHOT_USAGE}
  --candidate        fetch this node's candidacy now (operator-signed, with --self-stake S); repeat
  --out              where the signed snapshot is kept; running the same command again resubmits
                     that file (a member votes for one snapshot per epoch, and a rebuilt one differs)

Then watch the round with \`gatekeeper ceremony status --watch --endpoint ...\`.
exit status: 0 every endpoint accepted it, 1 some refused or could not be reached, 2 bad usage`;

/** The snapshot to submit: the --snapshot file, the --out file of an earlier run for the same epoch, or a new build. */
async function snapshotDoc(values: Record<string, unknown>): Promise<{ doc: GovernanceDoc; out?: string; reused?: boolean } | { endpoint: string; error: string }> {
  const building = ['epoch', 'seats', 'candidacy', 'candidate', 'nominations', 'self-stake', 'threshold', 'phase-timeout-ms'].some((k) => values[k] !== undefined);
  if (values.snapshot !== undefined) {
    if (building) throw new UsageError('give either --snapshot FILE or the options to build one (--epoch, --seats, --candidacy/--candidate, ...), not both');
    return { doc: readDoc(values.snapshot as string, 'snapshot'), out: values.out as string | undefined };
  }
  if (!building) throw new UsageError('give --snapshot FILE, or --epoch, --seats and the candidacies to build one');
  const out = values.out as string | undefined;
  if (!out) throw new UsageError('--out FILE is required when building: the signed snapshot is kept there so the same command can be repeated');
  if (fs.existsSync(out)) {
    const doc = readDoc(out, 'snapshot');
    const epoch = summarizeSnapshot(doc.payload).epoch;
    if (String(epoch) !== values.epoch) throw new UsageError(`${out} holds the snapshot of epoch ${epoch}, not ${String(values.epoch).slice(0, 12)}: choose another --out`);
    return { doc, out, reused: true };
  }
  const built = await buildSnapshot(values, (values.candidate as string[] | undefined) ?? [], '--candidate');
  return 'error' in built ? built : { doc: built.doc, out };
}

export async function runElectionSubmit(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    snapshot: { type: 'string' }, ...SNAPSHOT_OPTIONS, candidate: { type: 'string', multiple: true }, out: { type: 'string' },
    'governance-key': { type: 'string', multiple: true }, endpoint: { type: 'string', multiple: true }, 'operator-key': { type: 'string' },
    json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, ...TLS_OPTIONS,
  });
  if (values.help || positionals[0] !== 'submit' || positionals.length !== 1) {
    process.stdout.write(ELECTION_SUBMIT_USAGE + '\n');
    return values.help ? 0 : 2;
  }
  const endpoints = values.endpoint ?? [];
  if (endpoints.length === 0) throw new UsageError('--endpoint HOST:PORT is required');
  const keys = (values['governance-key'] ?? []).map(readGovernanceKey);
  const got = await snapshotDoc(values);
  if ('error' in got) {
    keys.forEach((k) => k.fill(0));
    process.stderr.write(`gatekeeper election submit: ${got.endpoint}: ${got.error}\n`);
    return 1;
  }
  let doc = got.doc;
  if (keys.length > 0) {
    doc = signDoc(doc, keys);
    keys.forEach((k) => k.fill(0));
  }
  // Persist before sending: what was submitted is on disk for the retry (and for the record).
  if (got.out && (keys.length > 0 || !got.reused)) writeDoc(got.out, doc);
  const summary = summarizeSnapshot(doc.payload);
  if (!values.json) {
    if (got.reused) process.stdout.write(`resubmitting ${got.out} (built earlier for epoch ${summary.epoch})\n`);
    process.stdout.write(electedLines(summary));
  }
  return submitSnapshot('election submit', 'SubmitElection', doc, endpoints, values);
}
