// Release policy over a verification verdict (DESIGN §6), kept apart from verification: verifyQuote
// says what the quote proves, the policy says whether that is good enough for a release. Omitted
// fields do not constrain, except that debug enclaves/TDs are refused and TDs must set
// SEPT_VE_DISABLE unless the policy explicitly allows otherwise.
import { QUOTE_TCB_STATUSES as TCB_STATUSES, type QuoteTcbStatus as TcbStatusName } from './tcb.js';
import type { Verdict } from './verify.js';

export interface AttestationPolicy {
  /** TEEs that may be released to (default: both). */
  tees?: ('SGX' | 'TDX')[];
  /** TCB statuses accepted (default: every status verification accepts). */
  allowedStatuses?: TcbStatusName[];
  /** When set, every advisory ID of the verdict must be listed. */
  allowedAdvisoryIds?: string[];
  minTcbEvaluationDataNumber?: number;
  /** Default false: a debug enclave or TD exposes its memory to the host. */
  allowDebug?: boolean;
  /** Default true: TDs must set SEPT_VE_DISABLE. */
  requireSeptVeDisable?: boolean;
  sgx?: { mrEnclave?: string[]; mrSigner?: string[]; isvProdId?: number; minIsvSvn?: number };
  /** rtmrs[i], when given, lists the accepted values of RTMR i. */
  tdx?: { mrTd?: string[]; rtmrs?: (string[] | null)[] };
  /** report_data must equal this value (hex, 64 bytes). */
  reportData?: string;
}

export type PolicyCheck = 'verification' | 'tee' | 'tcb-status' | 'advisory' | 'tcb-evaluation' | 'debug'
  | 'sept-ve-disable' | 'mr-enclave' | 'mr-signer' | 'isv-prod-id' | 'isv-svn' | 'mr-td' | 'rtmr' | 'report-data';

export type PolicyResult = { ok: true } | { ok: false; check: PolicyCheck; error: string };

/** The policy JSON is malformed. */
export class PolicyFormatError extends Error {
  override name = 'PolicyFormatError';
}

const refuse = (check: PolicyCheck, error: string): PolicyResult => ({ ok: false, check, error });

/** Applies `policy` to a verdict; the first failing check is named with an operator-readable reason. */
export function evaluatePolicy(verdict: Verdict, policy: AttestationPolicy): PolicyResult {
  if (!verdict.ok) return refuse('verification', `quote verification failed at ${verdict.step}: ${verdict.error}`);
  const v = verdict;
  if (policy.tees && !policy.tees.includes(v.tee)) return refuse('tee', `${v.tee} workers are not allowed by this policy`);
  if (policy.allowedStatuses && !policy.allowedStatuses.includes(v.status)) {
    return refuse('tcb-status', `TCB status ${v.status} is not allowed (allowed: ${policy.allowedStatuses.join(', ')})`);
  }
  if (policy.allowedAdvisoryIds) {
    const extra = v.advisoryIds.filter((a) => !policy.allowedAdvisoryIds!.includes(a));
    if (extra.length > 0) return refuse('advisory', `platform is affected by advisories not allowed by this policy: ${extra.join(', ')}`);
  }
  if (policy.minTcbEvaluationDataNumber !== undefined && v.tcbEvaluationDataNumber < policy.minTcbEvaluationDataNumber) {
    return refuse('tcb-evaluation', `collateral TCB evaluation data number ${v.tcbEvaluationDataNumber} is below the required ${policy.minTcbEvaluationDataNumber}`);
  }
  if (v.debug && policy.allowDebug !== true) {
    return refuse('debug', `the ${v.tee === 'SGX' ? 'enclave' : 'TD'} runs in debug mode: its memory is readable by the host`);
  }
  if (v.tee === 'TDX' && !v.septVeDisable && policy.requireSeptVeDisable !== false) {
    return refuse('sept-ve-disable', 'the TD does not set SEPT_VE_DISABLE (TD_ATTRIBUTES bit 28)');
  }
  if (v.tee === 'SGX' && policy.sgx) {
    const p = policy.sgx;
    if (p.mrEnclave && !p.mrEnclave.includes(v.mrEnclave)) return refuse('mr-enclave', `MRENCLAVE ${v.mrEnclave} is not in the allow-list`);
    if (p.mrSigner && !p.mrSigner.includes(v.mrSigner)) return refuse('mr-signer', `MRSIGNER ${v.mrSigner} is not in the allow-list`);
    if (p.isvProdId !== undefined && v.isvProdId !== p.isvProdId) return refuse('isv-prod-id', `ISV product id ${v.isvProdId} is not ${p.isvProdId}`);
    if (p.minIsvSvn !== undefined && v.isvSvn < p.minIsvSvn) return refuse('isv-svn', `ISV SVN ${v.isvSvn} is below the required ${p.minIsvSvn}`);
  }
  if (v.tee === 'TDX' && policy.tdx) {
    const p = policy.tdx;
    if (p.mrTd && !p.mrTd.includes(v.mrTd)) return refuse('mr-td', `MRTD ${v.mrTd} is not in the allow-list`);
    for (const [i, allowed] of (p.rtmrs ?? []).entries()) {
      if (allowed && !allowed.includes(v.rtmrs[i as 0 | 1 | 2 | 3])) return refuse('rtmr', `RTMR${i} ${v.rtmrs[i as 0]} is not in the allow-list`);
    }
  }
  if (policy.reportData !== undefined && v.reportData !== policy.reportData) {
    return refuse('report-data', 'report_data does not equal the expected value (wrong nonce or keys)');
  }
  return { ok: true };
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function hexList(v: unknown, where: string, len: number): string[] {
  if (!Array.isArray(v)) throw new PolicyFormatError(`${where} must be an array of hex strings`);
  return v.map((x, i) => hexValue(x, `${where}[${i}]`, len));
}
function hexValue(x: unknown, where: string, len: number): string {
  if (typeof x !== 'string' || !new RegExp(`^[0-9a-fA-F]{${len * 2}}$`).test(x)) throw new PolicyFormatError(`${where} must be ${len} bytes of hex`);
  return x.toLowerCase();
}
function uint(x: unknown, where: string): number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) throw new PolicyFormatError(`${where} must be a non-negative integer`);
  return x;
}
function bool(x: unknown, where: string): boolean {
  if (typeof x !== 'boolean') throw new PolicyFormatError(`${where} must be true or false`);
  return x;
}

const KNOWN = ['tees', 'allowedStatuses', 'allowedAdvisoryIds', 'minTcbEvaluationDataNumber', 'allowDebug',
  'requireSeptVeDisable', 'sgx', 'tdx', 'reportData'];

/** Validates policy JSON (object or text); hex values are normalised to lower case. */
export function parsePolicy(json: unknown): AttestationPolicy {
  let o: unknown = json;
  if (typeof json === 'string') {
    try { o = JSON.parse(json); } catch { throw new PolicyFormatError('policy is not valid JSON'); }
  }
  if (!isObj(o)) throw new PolicyFormatError('policy must be a JSON object');
  for (const k of Object.keys(o)) if (!KNOWN.includes(k)) throw new PolicyFormatError(`unknown policy field '${k}'`);
  const p: AttestationPolicy = {};
  if (o.tees !== undefined) {
    if (!Array.isArray(o.tees) || !o.tees.every((t) => t === 'SGX' || t === 'TDX')) throw new PolicyFormatError('tees must list "SGX" and/or "TDX"');
    p.tees = o.tees as ('SGX' | 'TDX')[];
  }
  if (o.allowedStatuses !== undefined) {
    if (!Array.isArray(o.allowedStatuses) || !o.allowedStatuses.every((s) => (TCB_STATUSES as readonly unknown[]).includes(s))) {
      throw new PolicyFormatError(`allowedStatuses must list Intel TCB status names (${TCB_STATUSES.join(', ')})`);
    }
    p.allowedStatuses = o.allowedStatuses as TcbStatusName[];
  }
  if (o.allowedAdvisoryIds !== undefined) {
    if (!Array.isArray(o.allowedAdvisoryIds) || !o.allowedAdvisoryIds.every((s) => typeof s === 'string')) throw new PolicyFormatError('allowedAdvisoryIds must be strings');
    p.allowedAdvisoryIds = o.allowedAdvisoryIds as string[];
  }
  if (o.minTcbEvaluationDataNumber !== undefined) p.minTcbEvaluationDataNumber = uint(o.minTcbEvaluationDataNumber, 'minTcbEvaluationDataNumber');
  if (o.allowDebug !== undefined) p.allowDebug = bool(o.allowDebug, 'allowDebug');
  if (o.requireSeptVeDisable !== undefined) p.requireSeptVeDisable = bool(o.requireSeptVeDisable, 'requireSeptVeDisable');
  if (o.reportData !== undefined) p.reportData = hexValue(o.reportData, 'reportData', 64);
  if (o.sgx !== undefined) {
    if (!isObj(o.sgx)) throw new PolicyFormatError('sgx must be an object');
    const s = o.sgx;
    p.sgx = {};
    if (s.mrEnclave !== undefined) p.sgx.mrEnclave = hexList(s.mrEnclave, 'sgx.mrEnclave', 32);
    if (s.mrSigner !== undefined) p.sgx.mrSigner = hexList(s.mrSigner, 'sgx.mrSigner', 32);
    if (s.isvProdId !== undefined) p.sgx.isvProdId = uint(s.isvProdId, 'sgx.isvProdId');
    if (s.minIsvSvn !== undefined) p.sgx.minIsvSvn = uint(s.minIsvSvn, 'sgx.minIsvSvn');
  }
  if (o.tdx !== undefined) {
    if (!isObj(o.tdx)) throw new PolicyFormatError('tdx must be an object');
    const t = o.tdx;
    p.tdx = {};
    if (t.mrTd !== undefined) p.tdx.mrTd = hexList(t.mrTd, 'tdx.mrTd', 48);
    if (t.rtmrs !== undefined) {
      if (!Array.isArray(t.rtmrs) || t.rtmrs.length > 4) throw new PolicyFormatError('tdx.rtmrs must be an array of at most 4 entries');
      p.tdx.rtmrs = t.rtmrs.map((r, i) => (r === null ? null : hexList(r, `tdx.rtmrs[${i}]`, 48)));
    }
  }
  return p;
}
