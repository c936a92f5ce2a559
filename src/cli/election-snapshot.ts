// The plumbing shared by `snapshot build`, `genesis submit` and `election submit`: build a snapshot from
// candidacies (files, or fetched from the nodes) and a nominations file (docs/election-input.md), run
// the election locally so the operator sees whom it elects, and hand a governance-signed snapshot to
// the committee (SubmitGenesis or SubmitElection) with the per-member table.
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { requireOption, UsageError } from './args.js';
import { checkEndpoint, clientFor, describeRpcError } from './client-options.js';
import { readCandidacy, readNominations, type CandidacyMsg, type NominationMsg } from './election-input.js';
import { fetchCandidacy, parseEpoch, parseStake } from './commands/candidacy.js';
import { fanOut, reportFanOut } from './fanout.js';
import { wireSignatures, type GovernanceDoc } from './governance-doc.js';
import { decodeMessage, encodeMessage } from '../rpc/messages.js';
import { electFromSnapshot, SnapshotError } from '../committee/snapshot.js';
import { RpcError } from '../rpc/errors.js';
import { hashOfCertificate, type RosterCertificate } from '../committee/roster.js';
import { verifyRosterChain } from '../sdk/client.js';
import { CommitteeVerificationError } from '../sdk/errors.js';

/** parseArgs options of the snapshot's contents (the candidacies' source flag is the caller's). */
export const SNAPSHOT_OPTIONS = {
  epoch: { type: 'string' }, seats: { type: 'string' }, threshold: { type: 'string' }, 'phase-timeout-ms': { type: 'string' },
  candidacy: { type: 'string', multiple: true }, 'self-stake': { type: 'string' }, nominations: { type: 'string' },
  'previous-certificate': { type: 'string' },
} as const;

export const SNAPSHOT_USAGE = `  --epoch            the epoch the snapshot elects a committee for
  --seats            committee size to elect (2..candidates)
  --threshold        signing threshold k (default 0: floor(2n/3)+1 over the elected n)
  --phase-timeout-ms per-phase ceremony deadline (default 0: each node's configured phaseTimeoutMs)
  --candidacy        a candidacy file from \`gatekeeper candidacy get\` (repeat, one per node)
  --nominations      nominators' votes (docs/election-input.md §2); without it only self stake counts
  --previous-certificate  after genesis: SHA-256 (hex) of the certificate the round follows (default: the
                     newest certificate the first node given serves)`;

export interface SnapshotSummary {
  epoch: number; seats: number; threshold: number; phaseTimeoutMs: number; candidates: number; nominations: number; snapshotHash: string;
  previousCertificateHash: string;
  elected: { nodeId: string; endpoint: string; backedStake: string }[];
}

function uint(v: string | undefined, flag: string, def: number): number {
  if (v === undefined) return def;
  if (!/^(0|[1-9][0-9]{0,9})$/.test(v) || Number(v) > 0xffffffff) throw new UsageError(`${flag} must be a non-negative integer`);
  return Number(v);
}

/**
 * Builds the unsigned snapshot document from the options (SNAPSHOT_OPTIONS) and the candidates to ask
 * (`fetchFrom`, each operator-signed GetCandidacy with --self-stake). Returns the endpoint and a
 * one-sentence error instead when a node refuses or cannot be reached; bad input throws UsageError.
 */
export async function buildSnapshot(values: Record<string, unknown>, fetchFrom: string[], fetchFlag: string):
  Promise<{ doc: GovernanceDoc; summary: SnapshotSummary } | { endpoint: string; error: string }> {
  const epoch = parseEpoch(requireOption(values, 'epoch'));
  const seats = uint(requireOption(values, 'seats'), '--seats', 0);
  const threshold = uint(values.threshold as string | undefined, '--threshold', 0);
  const phaseTimeoutMs = uint(values['phase-timeout-ms'] as string | undefined, '--phase-timeout-ms', 0);
  const endpoints = fetchFrom.map((e) => checkEndpoint(e, fetchFlag));
  const files = (values.candidacy as string[] | undefined) ?? [];
  if (files.length + endpoints.length === 0) throw new UsageError(`give the candidacies: --candidacy FILE (repeat) or ${fetchFlag} HOST:PORT (repeat) with --self-stake`);
  const candidacies: CandidacyMsg[] = files.map(readCandidacy);
  if (endpoints.length > 0) {
    const stake = parseStake(requireOption(values, 'self-stake'));
    for (const e of endpoints) {
      try { candidacies.push(await fetchCandidacy(e, values, epoch, stake)); } catch (err) {
        if (!(err instanceof RpcError)) throw err;
        return { endpoint: e, error: describeRpcError(e, err) };
      }
    }
  }
  for (const [i, c] of candidacies.entries()) {
    if (c.epoch !== epoch) throw new UsageError(`candidacy ${i + 1} (${c.endpoint}) is signed for epoch ${c.epoch}, not ${epoch}: fetch it again with --epoch ${epoch}`);
  }
  const nominations: NominationMsg[] = values.nominations ? readNominations(values.nominations as string) : [];
  let previousCertificateHash: Uint8Array = new Uint8Array(0);
  if (epoch > 1) {
    const given = values['previous-certificate'] as string | undefined;
    if (given !== undefined) {
      if (!/^[0-9a-f]{64}$/i.test(given)) throw new UsageError('--previous-certificate must be 64 hex digits (a SHA-256)');
      previousCertificateHash = hexToBytes(given.toLowerCase());
    } else {
      const from = endpoints[0];
      if (!from) throw new UsageError(`epoch ${epoch} follows a committee: give --previous-certificate HASH or ${fetchFlag} HOST:PORT of a member`);
      try {
        previousCertificateHash = await newestCertificateHash(from, values);
      } catch (err) {
        if (!(err instanceof RpcError)) throw err;
        return { endpoint: from, error: describeRpcError(from, err) };
      }
    }
  }
  const snapshot = encodeMessage('Snapshot', {
    epoch, seats, threshold, candidacies, nominations, phaseTimeoutMs: String(phaseTimeoutMs), previousCertificateHash,
  });
  const summary = summarizeSnapshot(snapshot);
  return { doc: { kind: 'snapshot', payload: snapshot, summary: summary as unknown as Record<string, unknown>, signatures: [] }, summary };
}

/**
 * The hash of the newest roster certificate a node serves (GetCommittee), after checking that its chain
 * links and verifies under the committee key it names; an election round names it (DESIGN §3.5) and the
 * governance signers vouch for it by signing the snapshot.
 */
async function newestCertificateHash(endpoint: string, values: Record<string, unknown>): Promise<Uint8Array> {
  const client = clientFor(endpoint, values);
  try {
    const view = await client.call<{ committeeKey: Uint8Array; certificates: RosterCertificate[] }>('PublicService', 'GetCommittee', {});
    const chain = view.certificates;
    const last = chain[chain.length - 1];
    if (!last) throw new UsageError(`${endpoint} serves no roster certificate yet: is the committee certified?`);
    try {
      verifyRosterChain(chain, view.committeeKey);
    } catch (err) {
      if (!(err instanceof CommitteeVerificationError)) throw err;
      throw new UsageError(`${endpoint} serves a certificate chain that does not verify: ${err.message}`);
    }
    return hashOfCertificate(last);
  } finally {
    client.close();
  }
}

/** Runs the election on a snapshot's bytes (as the nodes will) and says whom it elects; UsageError if invalid. */
export function summarizeSnapshot(snapshot: Uint8Array): SnapshotSummary {
  let outcome;
  let snap;
  try {
    outcome = electFromSnapshot(snapshot);
    snap = decodeMessage<{ seats: number; nominations: unknown[]; previousCertificateHash?: Uint8Array }>('Snapshot', snapshot);
  } catch (err) {
    if (err instanceof SnapshotError) throw new UsageError(`the snapshot is not valid: ${err.message}`);
    throw err;
  }
  return {
    epoch: outcome.epoch, seats: snap.seats, threshold: outcome.threshold, phaseTimeoutMs: outcome.phaseTimeoutMs,
    candidates: outcome.candidates.length, nominations: snap.nominations.length, snapshotHash: bytesToHex(outcome.snapshotHash),
    previousCertificateHash: bytesToHex(snap.previousCertificateHash ?? new Uint8Array(0)),
    elected: outcome.members.map((m) => ({ nodeId: bytesToHex(m.nodeId), endpoint: m.endpoint, backedStake: m.stake.toString() })),
  };
}

/** The lines that say whom a snapshot elects. */
export function electedLines(s: SnapshotSummary): string {
  return `snapshot of epoch ${s.epoch} (sha256 ${s.snapshotHash}): ${s.candidates} candidates, ${s.nominations} nominations; `
    + `elects ${s.elected.length} members, k = ${s.threshold}:\n`
    + s.elected.map((m) => `  ${m.nodeId}  ${m.endpoint}  backed ${m.backedStake}\n`).join('');
}

interface SubmitRes { epoch: number; snapshotHash: Uint8Array; elected: boolean; roster: Uint8Array[]; forwardErrors: string[] }

/**
 * Sends a governance-signed snapshot with `method` (SubmitGenesis or SubmitElection): with one endpoint
 * that node forwards it, with several each is given it. Prints the per-member table; exit 0 only if
 * every endpoint accepted it and forwarding reached everyone, 1 otherwise. Safe to repeat.
 */
export async function submitSnapshot(command: string, method: 'SubmitGenesis' | 'SubmitElection', doc: GovernanceDoc, endpoints: string[],
  values: Record<string, unknown>): Promise<number> {
  if (doc.signatures.length === 0) throw new UsageError('the snapshot has no governance signatures yet: gatekeeper governance sign --in FILE --governance-key KEY');
  if (endpoints.length === 0) throw new UsageError('--endpoint HOST:PORT is required');
  const forward = endpoints.length === 1;
  // The node elects, then forwards with its own per-peer deadline (20 s): wait longer than that.
  const results = await fanOut<SubmitRes>(endpoints, method, { snapshot: { snapshot: doc.payload, signatures: wireSignatures(doc) }, forward }, values,
    { timeoutMs: 60_000 });
  const code = reportFanOut(command, results, !!values.json, (r) => ({
    epoch: r.epoch, elected: r.elected, snapshotHash: bytesToHex(r.snapshotHash).slice(0, 16),
    ...(r.forwardErrors.length ? { forwardErrors: r.forwardErrors.join('; ').slice(0, 500) } : {}),
  }));
  const missed = [...new Set(results.flatMap((r) => (r.ok ? r.answer!.forwardErrors : []).map((e) => e.split(': ')[0]!.slice(0, 300))))];
  const forwardFailed = missed.length > 0;
  if (forwardFailed && !values.json) {
    process.stderr.write(`gatekeeper ${command}: forwarding did not reach ${missed.join(', ')}; once fixed, submit the same snapshot to them`
      + ` (a node that has it does not forward it again): ${missed.map((e) => `--endpoint ${e}`).join(' ')}\n`);
  }
  return code === 0 && forwardFailed ? 1 : code;
}
