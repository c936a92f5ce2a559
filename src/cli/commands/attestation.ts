// `gatekeeper attestation verify`: verifies an Intel DCAP quote offline against collateral
// (fixtures/dcap JSON layout) and a release policy. Exit 0 accepted, 1 rejected, 2 bad usage or
// unreadable input.
import fs from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { Command } from '../main.js';
import { parseCommandArgs, requireOption, UsageError } from '../args.js';
import { evaluateBaseline, evaluatePolicy, INTEL_SGX_ROOT_CA_DER, isIntelSgxRootCa, loadCollateral, parsePolicy, verifyQuote,
  type AttestationPolicy, type Verdict } from '../../attestation/index.js';

const USAGE = `usage: gatekeeper attestation verify --quote FILE --collateral FILE [--now UNIX_SECONDS]
                                     [--root DER_FILE] [--policy FILE] [--json]

  --quote       the raw quote (SGX v3, TDX v4 or v5)
  --collateral  collateral JSON (tcb_info, qe_identity, CRLs, issuer chains)
  --now         verification time, Unix seconds (default: the current time)
  --root        trusted root certificate, DER or PEM (default: the pinned Intel SGX Root CA;
                name a development root only on development machines)
  --policy      attestation policy JSON (docs/release-policy.md; fails closed: it must allow-list the
                quote's TEE). Without it: refuse debug enclaves/TDs and TDs without SEPT_VE_DISABLE
  --json        print one JSON object

exit status: 0 accepted, 1 rejected, 2 bad usage or unreadable input`;

function readInput(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new UsageError(`cannot read ${what} file '${file}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

function parseRoot(bytes: Buffer, file: string): Uint8Array {
  try {
    return Uint8Array.from(new X509Certificate(bytes).raw);
  } catch {
    throw new UsageError(`--root '${file}' is not an X.509 certificate (DER or PEM)`);
  }
}

interface Report {
  ok: boolean;
  tee?: 'SGX' | 'TDX';
  quoteVersion?: number;
  status?: string;
  advisoryIds?: string[];
  mrEnclave?: string;
  mrSigner?: string;
  mrTd?: string;
  reportData?: string;
  step?: string;
  error?: string;
}

function report(verdict: Verdict, policy: AttestationPolicy | undefined): Report {
  if (!verdict.ok) {
    return { ok: false, tee: verdict.tee, quoteVersion: verdict.quoteVersion, step: verdict.step, error: verdict.error };
  }
  const r: Report = { ok: true, tee: verdict.tee, quoteVersion: verdict.quoteVersion, status: verdict.status,
    advisoryIds: verdict.advisoryIds };
  if (verdict.tee === 'SGX') { r.mrEnclave = verdict.mrEnclave; r.mrSigner = verdict.mrSigner; } else { r.mrTd = verdict.mrTd; }
  r.reportData = verdict.reportData;
  const p = policy ? evaluatePolicy(verdict, policy) : evaluateBaseline(verdict);
  if (!p.ok) { r.ok = false; r.step = `policy:${p.check}`; r.error = `policy refused: ${p.error}`; }
  return r;
}

function human(r: Report): string {
  const lines = [r.ok ? 'ACCEPTED' : 'REJECTED'];
  if (r.tee) lines.push(`tee:          ${r.tee} (quote v${r.quoteVersion})`);
  if (r.status) lines.push(`tcb status:   ${r.status}`, `advisories:   ${r.advisoryIds!.length ? r.advisoryIds!.join(', ') : 'none'}`);
  if (r.mrEnclave) lines.push(`mrenclave:    ${r.mrEnclave}`, `mrsigner:     ${r.mrSigner}`);
  if (r.mrTd) lines.push(`mrtd:         ${r.mrTd}`);
  if (r.reportData) lines.push(`report_data:  ${r.reportData}`);
  if (r.error) lines.push(`failed check: ${r.step}`, `reason:       ${r.error}`);
  return lines.join('\n') + '\n';
}

const command: Command = {
  summary: 'verify an Intel SGX/TDX DCAP quote offline against collateral and a policy',
  async run(argv: string[]): Promise<number> {
    const [sub, ...rest] = argv;
    if (sub === '--help' || sub === '-h' || sub === 'help') { process.stdout.write(USAGE + '\n'); return 0; }
    if (sub !== 'verify') throw new UsageError(sub === undefined ? `missing subcommand\n${USAGE}` : `unknown subcommand '${sub}'\n${USAGE}`);
    const { values, positionals } = parseCommandArgs(rest, {
      quote: { type: 'string' }, collateral: { type: 'string' }, now: { type: 'string' }, root: { type: 'string' },
      policy: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    });
    if (values.help) { process.stdout.write(USAGE + '\n'); return 0; }
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const quoteFile = requireOption(values, 'quote');
    const collateralFile = requireOption(values, 'collateral');
    let now = Math.floor(Date.now() / 1000);
    if (values.now !== undefined) {
      if (!/^\d{1,12}$/.test(values.now)) throw new UsageError(`--now must be Unix seconds, got '${values.now}'`);
      now = Number(values.now);
    }
    const quote = readInput(quoteFile, 'quote');
    let collateral;
    try {
      collateral = loadCollateral(readInput(collateralFile, 'collateral').toString('utf8'));
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`collateral '${collateralFile}': ${err instanceof Error ? err.message : String(err)}`);
    }
    const root = values.root !== undefined ? parseRoot(readInput(values.root, 'root'), values.root) : INTEL_SGX_ROOT_CA_DER;
    let policy: AttestationPolicy | undefined;
    if (values.policy !== undefined) {
      try {
        policy = parsePolicy(readInput(values.policy, 'policy').toString('utf8'));
      } catch (err) {
        if (err instanceof UsageError) throw err;
        throw new UsageError(`policy '${values.policy}': ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (values.root !== undefined && !isIntelSgxRootCa(root)) {
      process.stderr.write('warning: trusting a root that is not the Intel SGX Root CA (development only)\n');
    }
    const r = report(verifyQuote(quote, collateral, { now, trustedRoot: root }), policy);
    process.stdout.write(values.json ? JSON.stringify(r) + '\n' : human(r));
    return r.ok ? 0 : 1;
  },
};

export default command;
