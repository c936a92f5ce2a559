// `gatekeeper attestation verify`: verifies an Intel DCAP quote offline against collateral
// (fixtures/dcap JSON layout) and a release policy, or an AMD SEV-SNP report against its VCEK, the
// ASK/ARK chain and the ARK's CRL (--snp-report). Exit 0 accepted, 1 rejected, 2 bad usage or
// unreadable input.
import fs from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { Command } from '../main.js';
import { parseCommandArgs, requireOption, UsageError } from '../args.js';
import { amdArkProduct, evaluateBaseline, evaluatePolicy, INTEL_SGX_ROOT_CA_DER, isIntelSgxRootCa, loadCollateral, parsePolicy,
  SNP_PRODUCTS, snpVerifyOptionsFor, verifyQuote, verifySnpReport, type AttestationPolicy, type SnpProduct, type SnpVerdict,
  type Verdict } from '../../attestation/index.js';

const USAGE = `usage: gatekeeper attestation verify --quote FILE --collateral FILE [--now UNIX_SECONDS]
                                     [--root DER_FILE] [--policy FILE] [--json]
       gatekeeper attestation verify --snp-report FILE --vcek FILE [--ask-ark FILE] --crl FILE
                                     [--now UNIX_SECONDS] [--root ARK_FILE] [--policy FILE] [--json]

  --quote       the raw quote (SGX v3, TDX v4 or v5)
  --collateral  collateral JSON (tcb_info, qe_identity, CRLs, issuer chains)
  --now         verification time, Unix seconds (default: the current time)
  --root        trusted root certificate, DER or PEM (default: the pinned Intel SGX Root CA;
                name a development root only on development machines)
  --policy      an attestation policy: the "attestation" block of a release policy, with the
                namespace's "sgx"/"tdx" measurements beside it (fields tees, allowedStatuses,
                allowedAdvisoryIds, minTcbEvaluationDataNumber, allowDebug, requireSeptVeDisable,
                reportData, sgx, tdx; docs/release-policy.md). Not a whole release policy (no id,
                serial or namespaces). Fails closed: "tees" must list the quote's TEE.
                Without it: refuse debug enclaves/TDs and TDs without SEPT_VE_DISABLE
  --json        print one JSON object

  AMD SEV-SNP (docs/sev-snp.md):
  --snp-report  the raw attestation report (1184 bytes, versions 2 to 5)
  --vcek        the VCEK or VLEK certificate (DER or PEM)
  --ask-ark     ASK (or ASVK) then ARK, PEM (default: AMD's embedded ASK of the VCEK's product)
  --crl         the ARK-signed CRL (DER or PEM), required
  --root        a development ARK (DER or PEM) to trust instead of AMD's pinned ARKs
  --policy      the same attestation policy JSON (docs/release-policy.md), with an "snp" block: it must
                allow-list the report's measurement (fails closed); allowDebug, snp.allowMigrateMa,
                snp.vmpl and snp.minAbi ("MAJOR.MINOR") set the verifier's checks. Without it: debug
                and migration agent refused, VMPL 0, ABI 0.0, any measurement

exit status: 0 accepted, 1 rejected, 2 bad usage or unreadable input`;

function readInput(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new UsageError(`cannot read ${what} file '${file}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** The attestation policy JSON (docs/release-policy.md), the same for DCAP quotes and SNP reports. */
function readPolicy(file: string): AttestationPolicy {
  const text = readInput(file, 'policy').toString('utf8');
  try {
    return parsePolicy(text);
  } catch (err) {
    throw new UsageError(`policy '${file}': ${err instanceof Error ? err.message : String(err)}`);
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

interface SnpReportOut {
  ok: boolean; tee: 'SNP'; product?: string; reportVersion?: number; signingKey?: string; measurement?: string; hostData?: string;
  reportData?: string; reportedTcb?: object; chipId?: string; vmpl?: number; debug?: boolean; migrateMa?: boolean; guestPolicy?: string;
  step?: string; error?: string;
}

function snpOut(v: SnpVerdict): SnpReportOut {
  if (!v.ok) return { ok: false, tee: 'SNP', ...(v.reportVersion !== undefined ? { reportVersion: v.reportVersion } : {}), step: v.step, error: v.error };
  return { ok: true, tee: 'SNP', product: v.product, reportVersion: v.reportVersion, signingKey: v.signingKey, measurement: v.measurement,
    hostData: v.hostData, reportData: v.reportData, reportedTcb: v.reportedTcb, chipId: v.chipId, vmpl: v.vmpl, debug: v.debug,
    migrateMa: v.migrateMa, guestPolicy: v.policy.raw };
}

function snpHuman(r: SnpReportOut): string {
  const lines = [r.ok ? 'ACCEPTED' : 'REJECTED'];
  if (r.measurement !== undefined) {
    const t = r.reportedTcb as Record<string, number>;
    lines.push(`tee:          SNP ${r.product} (report v${r.reportVersion}, ${r.signingKey})`, `measurement:  ${r.measurement}`,
      `host_data:    ${r.hostData}`, `report_data:  ${r.reportData}`,
      `reported tcb: ${Object.entries(t).map(([k, x]) => `${k} ${x}`).join(', ')}`, `guest policy: ${r.guestPolicy} (vmpl ${r.vmpl})`);
  } else if (r.reportVersion !== undefined) {
    lines.push(`tee:          SNP (report v${r.reportVersion})`);
  }
  if (!r.ok) lines.push(`failed check: ${r.step}`, `reason:       ${r.error}`);
  return lines.join('\n') + '\n';
}

function parseDevArk(bytes: Buffer, file: string): [SnpProduct, Uint8Array] {
  let der: Uint8Array;
  let cn = '';
  try {
    const c = new X509Certificate(bytes);
    der = Uint8Array.from(c.raw);
    cn = /(?:^|\n)CN=([^\n]*)/.exec(c.subject)?.[1] ?? '';
  } catch {
    throw new UsageError(`--root '${file}' is not an X.509 certificate (DER or PEM)`);
  }
  const product = SNP_PRODUCTS.find((p) => cn === `ARK-${p}`);
  if (product === undefined) throw new UsageError(`--root '${file}' is not an ARK (CN must be ARK-Milan, ARK-Genoa or ARK-Turin)`);
  return [product, der];
}

function runSnp(values: Record<string, string | boolean | undefined>, now: number): number {
  const str = (k: string) => values[k] as string | undefined;
  for (const k of ['quote', 'collateral']) if (values[k] !== undefined) throw new UsageError(`--${k} is for DCAP quotes, not with --snp-report`);
  const reportFile = requireOption(values, 'snp-report');
  const vcekFile = requireOption(values, 'vcek');
  const crlFile = requireOption(values, 'crl');
  const report = readInput(reportFile, 'SNP report');
  const vcek = readInput(vcekFile, 'VCEK');
  const crl = readInput(crlFile, 'CRL');
  const askArk = str('ask-ark') !== undefined ? readInput(str('ask-ark')!, 'ASK/ARK') : undefined;
  const policy = str('policy') !== undefined ? readPolicy(str('policy')!) : undefined;
  let trustedArks: Partial<Record<SnpProduct, Uint8Array>> | undefined;
  if (str('root') !== undefined) {
    const [product, der] = parseDevArk(readInput(str('root')!, 'root'), str('root')!);
    trustedArks = { [product]: der };
    if (amdArkProduct(der) === undefined) process.stderr.write(`warning: trusting an ARK-${product} that is not AMD's (development only)\n`);
  }
  const verdict = verifySnpReport(report, { vcek, askArk, crl, now, options: snpVerifyOptionsFor(policy), ...(trustedArks ? { trustedArks } : {}) });
  const r = snpOut(verdict);
  if (verdict.ok) {
    const p = policy ? evaluatePolicy(verdict, policy) : evaluateBaseline(verdict);
    if (!p.ok) { r.ok = false; r.step = `policy:${p.check}`; r.error = `policy refused: ${p.error}`; }
  }
  process.stdout.write(values.json ? JSON.stringify(r) + '\n' : snpHuman(r));
  return r.ok ? 0 : 1;
}

const command: Command = {
  summary: 'verify an Intel SGX/TDX DCAP quote or an AMD SEV-SNP report offline against collateral and a policy',
  async run(argv: string[]): Promise<number> {
    const [sub, ...rest] = argv;
    if (sub === '--help' || sub === '-h' || sub === 'help') { process.stdout.write(USAGE + '\n'); return 0; }
    if (sub !== 'verify') throw new UsageError(sub === undefined ? `missing subcommand\n${USAGE}` : `unknown subcommand '${sub}'\n${USAGE}`);
    const { values, positionals } = parseCommandArgs(rest, {
      quote: { type: 'string' }, collateral: { type: 'string' }, now: { type: 'string' }, root: { type: 'string' },
      policy: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      'snp-report': { type: 'string' }, vcek: { type: 'string' }, 'ask-ark': { type: 'string' }, crl: { type: 'string' },
    });
    if (values.help) { process.stdout.write(USAGE + '\n'); return 0; }
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    let now = Math.floor(Date.now() / 1000);
    if (values.now !== undefined) {
      if (!/^\d{1,12}$/.test(values.now)) throw new UsageError(`--now must be Unix seconds, got '${values.now.slice(0, 40)}'`);
      now = Number(values.now);
    }
    if (values['snp-report'] !== undefined) return runSnp(values, now);
    for (const k of ['vcek', 'ask-ark', 'crl'] as const) if (values[k] !== undefined) throw new UsageError(`--${k} is for SEV-SNP reports (--snp-report)`);
    const quoteFile = requireOption(values, 'quote');
    const collateralFile = requireOption(values, 'collateral');
    const quote = readInput(quoteFile, 'quote');
    let collateral;
    try {
      collateral = loadCollateral(readInput(collateralFile, 'collateral').toString('utf8'));
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`collateral '${collateralFile}': ${err instanceof Error ? err.message : String(err)}`);
    }
    const root = values.root !== undefined ? parseRoot(readInput(values.root, 'root'), values.root) : INTEL_SGX_ROOT_CA_DER;
    const policy = values.policy !== undefined ? readPolicy(values.policy) : undefined;
    if (values.root !== undefined && !isIntelSgxRootCa(root)) {
      process.stderr.write('warning: trusting a root that is not the Intel SGX Root CA (development only)\n');
    }
    const r = report(verifyQuote(quote, collateral, { now, trustedRoot: root }), policy);
    process.stdout.write(values.json ? JSON.stringify(r) + '\n' : human(r));
    return r.ok ? 0 : 1;
  },
};

export default command;
