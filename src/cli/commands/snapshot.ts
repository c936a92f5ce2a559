// `gatekeeper snapshot build`: the election input of an epoch (docs/election-input.md): the nodes'
// signed candidacies (candidacy files, or fetched from the nodes) and a nominations file, encoded as
// the Snapshot message and written as an unsigned governance document. The election is run locally
// so the operator sees the committee the snapshot will elect before anyone signs it.
import type { Command } from '../main.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { parseCommandArgs, requireOption, UsageError } from '../args.js';
import { checkEndpoint, describeRpcError, TLS_OPTIONS, TLS_USAGE } from '../client-options.js';
import { readCandidacy, readNominations, type CandidacyMsg, type NominationMsg } from '../election-input.js';
import { fetchCandidacy, parseEpoch, parseStake } from './candidacy.js';
import { writeDoc, type GovernanceDoc } from '../governance-doc.js';
import { encodeMessage } from '../../rpc/messages.js';
import { electFromSnapshot, SnapshotError } from '../../committee/snapshot.js';
import { RpcError } from '../../rpc/errors.js';

const USAGE = `usage: gatekeeper snapshot build --epoch N --seats S [--threshold K] [--phase-timeout-ms T]
                               (--candidacy FILE ... | --endpoint HOST:PORT ... --self-stake S)
                               [--nominations FILE] --out FILE [--operator-key FILE] [--json] ${TLS_USAGE}

  --candidacy        a candidacy file from \`gatekeeper candidacy get\` (repeat, one per node)
  --endpoint         or fetch each node's candidacy now (operator-signed), each with --self-stake S
  --nominations      nominators' votes (docs/election-input.md §2); without it only self stake counts
  --seats            committee size to elect (2..candidates)
  --threshold        signing threshold k (default 0: floor(2n/3)+1 over the elected n)
  --phase-timeout-ms per-phase ceremony deadline (default 0: each node's configured phaseTimeoutMs)
  --out              the unsigned snapshot document; governance signs it with \`gatekeeper governance sign\`

Prints the committee this snapshot elects (the nodes run the same election on the same bytes).
exit status: 0 written, 1 a node could not be reached or refused, 2 bad usage or an invalid snapshot`;

function uint(v: string | undefined, flag: string, def: number): number {
  if (v === undefined) return def;
  if (!/^(0|[1-9][0-9]{0,9})$/.test(v) || Number(v) > 0xffffffff) throw new UsageError(`${flag} must be a non-negative integer`);
  return Number(v);
}

const command: Command = {
  summary: 'build an election snapshot from candidacies and a nominations file (for governance to sign)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      epoch: { type: 'string' }, seats: { type: 'string' }, threshold: { type: 'string' }, 'phase-timeout-ms': { type: 'string' },
      candidacy: { type: 'string', multiple: true }, endpoint: { type: 'string', multiple: true }, 'self-stake': { type: 'string' },
      nominations: { type: 'string' }, out: { type: 'string' }, 'operator-key': { type: 'string' }, json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' }, ...TLS_OPTIONS,
    });
    if (values.help || positionals[0] !== 'build' || positionals.length > 1) {
      process.stdout.write(USAGE + '\n');
      return values.help ? 0 : 2;
    }
    const epoch = parseEpoch(requireOption(values, 'epoch'));
    const seats = uint(requireOption(values, 'seats'), '--seats', 0);
    const threshold = uint(values.threshold, '--threshold', 0);
    const phaseTimeoutMs = uint(values['phase-timeout-ms'], '--phase-timeout-ms', 0);
    const out = requireOption(values, 'out');
    const endpoints = (values.endpoint ?? []).map((e) => checkEndpoint(e));
    const files = values.candidacy ?? [];
    if (files.length + endpoints.length === 0) throw new UsageError('give the candidacies: --candidacy FILE (repeat) or --endpoint HOST:PORT (repeat) with --self-stake');
    const candidacies: CandidacyMsg[] = files.map(readCandidacy);
    if (endpoints.length > 0) {
      const stake = parseStake(requireOption(values, 'self-stake'));
      for (const e of endpoints) {
        try { candidacies.push(await fetchCandidacy(e, values, epoch, stake)); } catch (err) {
          if (!(err instanceof RpcError)) throw err;
          process.stderr.write(`gatekeeper snapshot build: ${e}: ${describeRpcError(e, err)}\n`);
          return 1;
        }
      }
    }
    for (const [i, c] of candidacies.entries()) {
      if (c.epoch !== epoch) throw new UsageError(`candidacy ${i + 1} (${c.endpoint}) is signed for epoch ${c.epoch}, not ${epoch}: fetch it again with --epoch ${epoch}`);
    }
    const nominations: NominationMsg[] = values.nominations ? readNominations(values.nominations) : [];
    const snapshot = encodeMessage('Snapshot', { epoch, seats, threshold, candidacies, nominations, phaseTimeoutMs: String(phaseTimeoutMs) });
    let outcome;
    try { outcome = electFromSnapshot(snapshot); } catch (err) {
      if (err instanceof SnapshotError) throw new UsageError(`the snapshot is not valid: ${err.message}`);
      throw err;
    }
    const summary = {
      epoch, seats, threshold: outcome.threshold, phaseTimeoutMs, candidates: outcome.candidates.length, nominations: nominations.length,
      snapshotHash: bytesToHex(outcome.snapshotHash),
      elected: outcome.members.map((m) => ({ nodeId: bytesToHex(m.nodeId), endpoint: m.endpoint, backedStake: m.stake.toString() })),
    };
    const doc: GovernanceDoc = { kind: 'snapshot', payload: snapshot, summary, signatures: [] };
    writeDoc(out, doc);
    if (values.json) process.stdout.write(JSON.stringify({ file: out, ...summary }) + '\n');
    else {
      process.stdout.write(`snapshot of epoch ${epoch} (sha256 ${summary.snapshotHash}) written to ${out}\n`);
      process.stdout.write(`${summary.candidates} candidates, ${summary.nominations} nominations; elects ${summary.elected.length} members, k = ${summary.threshold}:\n`);
      for (const m of summary.elected) process.stdout.write(`  ${m.nodeId}  ${m.endpoint}  backed ${m.backedStake}\n`);
      process.stdout.write('Next: governance signs it (gatekeeper governance sign --in FILE --governance-key KEY), then gatekeeper genesis submit.\n');
    }
    return 0;
  },
};
export default command;
