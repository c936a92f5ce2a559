// A worker's attestation evidence on a member (DESIGN §5.2-5.3, §6; docs/provisioning.md §2): an Intel
// DCAP quote with its collateral, or an AMD SEV-SNP report with its VCEK, ASK/ARK chain and CRL (the
// `evidence` oneof of ProvisionContractKeyRequest). Split in the order a member runs it, cheapest
// first: shape and size caps; the claimed report_data / REPORT_DATA from the parsed, still unverified
// bytes (so a request that does not bind the caller is refused before any signature work); then the
// full verification against the pinned root or ARKs, and the release policy through evaluatePolicy.
import { hexToBytes } from '@noble/hashes/utils.js';
import {
  evaluatePolicy, loadCollateral, parseQuote, parseSnpReport, QuoteParseError, SnpReportParseError, snpVerifyOptionsFor,
  verifyQuote, verifySnpReport, type AcceptedVerdict, type AttestationPolicy, type PolicyTee, type SnpProduct,
  type SnpVerificationCache, type VerificationCache,
} from '../attestation/index.js';
import { invalidArgument, permissionDenied } from '../rpc/errors.js';

/** Request size caps, checked before anything is parsed (real quotes are ~5 KiB, real collateral ~20 KiB). */
export const MAX_QUOTE_BYTES = 16 * 1024;
export const MAX_COLLATERAL_BYTES = 64 * 1024;
/** SNP caps: a report is 1184 bytes, a VCEK ~1.4 KiB DER, ASK and ARK ~2.3 KiB PEM each, AMD's CRLs ~1 KiB. */
export const MAX_SNP_REPORT_BYTES = 4 * 1024;
export const MAX_SNP_VCEK_BYTES = 8 * 1024;
export const MAX_SNP_ASK_ARK_BYTES = 16 * 1024;
export const MAX_SNP_CRL_BYTES = 64 * 1024;

/** The proto's evidence oneof as proto-loader decodes it (`evidence` names the member that is set). */
export interface EvidenceWire {
  evidence?: string | null;
  dcap?: { quote?: Uint8Array; collateralJson?: string } | null;
  snp?: { report?: Uint8Array; vcek?: Uint8Array; askArkPem?: string; crl?: Uint8Array } | null;
}

export type WorkerEvidence =
  | { kind: 'dcap'; quote: Uint8Array; collateralJson: string }
  | { kind: 'snp'; report: Uint8Array; vcek: Uint8Array; askArkPem: string; crl: Uint8Array };

/** What a member's verification established: the TEE, what a measurement revocation names, and audit details. */
export interface VerifiedEvidence {
  tee: PolicyTee;
  /** MRENCLAVE (SGX), MRTD (TDX) or MEASUREMENT (SNP). */
  measurement: Uint8Array;
  /** DCAP TCB status, or the SNP product and signing key. */
  detail: string;
}

/** What the member trusts and caches, from its config. */
export interface EvidenceTrust {
  now: Date;
  dcapRoot: Uint8Array;
  dcapCache: VerificationCache;
  /** undefined: AMD's pinned ARKs. */
  snpArks: Partial<Record<SnpProduct, Uint8Array>> | undefined;
  snpCache: SnpVerificationCache;
}

function bytesField(v: unknown, name: string, max: number, required: boolean): Uint8Array {
  if (v !== undefined && v !== null && !(v instanceof Uint8Array)) throw invalidArgument(`${name} must be bytes`);
  const b = (v as Uint8Array | undefined) ?? new Uint8Array();
  if (required && b.length === 0) throw invalidArgument(`${name} is required`);
  if (b.length > max) throw invalidArgument(`${name} is larger than ${max} bytes`);
  return b;
}

function textField(v: unknown, name: string, max: number, required: boolean): string {
  if (v !== undefined && v !== null && typeof v !== 'string') throw invalidArgument(`${name} must be text`);
  const s = (v as string | undefined) ?? '';
  if (required && s.length === 0) throw invalidArgument(`${name} is required`);
  // String length counts UTF-16 units; the byte length is at least that, so check both cheaply.
  if (s.length > max || Buffer.byteLength(s, 'utf8') > max) throw invalidArgument(`${name} is larger than ${max} bytes`);
  return s;
}

/** The evidence oneof, its sizes capped: nothing is parsed yet. */
export function checkEvidenceShape(req: EvidenceWire): WorkerEvidence {
  const kind = req.evidence ?? (req.dcap ? 'dcap' : req.snp ? 'snp' : undefined);
  if (kind === 'dcap' && req.dcap) {
    return { kind, quote: bytesField(req.dcap.quote, 'dcap.quote', MAX_QUOTE_BYTES, true),
      collateralJson: textField(req.dcap.collateralJson, 'dcap.collateral_json', MAX_COLLATERAL_BYTES, true) };
  }
  if (kind === 'snp' && req.snp) {
    return { kind, report: bytesField(req.snp.report, 'snp.report', MAX_SNP_REPORT_BYTES, true),
      vcek: bytesField(req.snp.vcek, 'snp.vcek', MAX_SNP_VCEK_BYTES, true),
      askArkPem: textField(req.snp.askArkPem, 'snp.ask_ark_pem', MAX_SNP_ASK_ARK_BYTES, false),
      crl: bytesField(req.snp.crl, 'snp.crl', MAX_SNP_CRL_BYTES, true) };
  }
  throw invalidArgument('evidence is required: a DCAP quote with collateral (dcap) or an SEV-SNP report with its certificates (snp)');
}

/** The 64 bytes the evidence claims to bind, read from the parsed but unverified quote or report. */
export function claimedReportData(e: WorkerEvidence): Uint8Array {
  if (e.kind === 'dcap') {
    try {
      return parseQuote(e.quote).report.reportData;
    } catch (err) {
      throw permissionDenied(`the quote does not verify (parse): ${err instanceof QuoteParseError ? err.message.slice(0, 200) : 'quote could not be parsed'}`);
    }
  }
  try {
    return parseSnpReport(e.report).reportData;
  } catch (err) {
    throw permissionDenied(`the SNP report does not verify (parse): ${err instanceof SnpReportParseError ? err.message.slice(0, 200) : 'report could not be parsed'}`);
  }
}

/**
 * The costly part: signatures, chains, CRLs and collateral against what this member trusts, then the
 * release policy (one evaluatePolicy for every TEE). `policy` is the namespace's attestation policy
 * with the expected report_data (attestationPolicyFor), so a verdict that binds other bytes is refused.
 * `onVerified` is told whether the full verification accepted (the member's counter).
 */
export function verifyEvidence(e: WorkerEvidence, policy: AttestationPolicy, trust: EvidenceTrust,
  onVerified: (accepted: boolean) => void): VerifiedEvidence {
  if (e.kind === 'dcap') {
    let collateral;
    try { collateral = loadCollateral(e.collateralJson); } catch (err) {
      throw invalidArgument(`dcap.collateral_json: ${err instanceof Error ? err.message.slice(0, 200) : String(err)}`);
    }
    const verdict = verifyQuote(e.quote, collateral, {
      now: trust.now, trustedRoot: trust.dcapRoot, cache: trust.dcapCache, minTcbEvaluationDataNumber: policy.minTcbEvaluationDataNumber,
    });
    onVerified(verdict.ok);
    if (!verdict.ok) throw permissionDenied(`the quote does not verify (${verdict.step}): ${verdict.error}`);
    checkBinding(verdict.reportData, policy, 'quote', 'report_data');
    const result = evaluatePolicy(verdict, policy);
    if (!result.ok) throw permissionDenied(`the release policy refuses this worker (${result.check}): ${result.error}`);
    return { tee: verdict.tee, measurement: dcapMeasurement(verdict), detail: verdict.status };
  }
  // Fail closed before any certificate work: a namespace without an snp allow-list refuses SNP workers.
  if ((policy.tees !== undefined && !policy.tees.includes('SNP')) || !policy.snp?.measurement?.length) {
    throw permissionDenied('the release policy refuses this worker (tee): SNP workers are not allowed by this namespace (it has no snp allow-list)');
  }
  const verdict = verifySnpReport(e.report, {
    vcek: e.vcek, askArk: e.askArkPem === '' ? undefined : e.askArkPem, crl: e.crl, now: trust.now,
    ...(trust.snpArks ? { trustedArks: trust.snpArks } : {}), cache: trust.snpCache, options: snpVerifyOptionsFor(policy),
  });
  onVerified(verdict.ok);
  if (!verdict.ok) throw permissionDenied(`the SNP report does not verify (${verdict.step}): ${verdict.error}`);
  checkBinding(verdict.reportData, policy, 'SNP report', 'REPORT_DATA');
  const result = evaluatePolicy(verdict, policy);
  if (!result.ok) throw permissionDenied(`the release policy refuses this worker (${result.check}): ${result.error}`);
  return { tee: 'SNP', measurement: hexToBytes(verdict.measurement), detail: `${verdict.productName} ${verdict.signingKey}` };
}

function checkBinding(reportData: string, policy: AttestationPolicy, what: string, field: string): void {
  if (policy.reportData === undefined || reportData !== policy.reportData) {
    throw permissionDenied(`the ${what}'s ${field} does not bind the worker's keys and the challenge nonce`);
  }
}

/** MRENCLAVE (SGX) or MRTD (TDX): what a measurement revocation names. */
function dcapMeasurement(v: AcceptedVerdict): Uint8Array {
  return hexToBytes(v.tee === 'SGX' ? v.mrEnclave : v.mrTd);
}
