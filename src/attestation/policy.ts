// Release policy over a verification verdict (DESIGN §6), kept apart from verification: verifyQuote
// (or the SEV-SNP report verifier) says what the evidence proves, the policy says whether that is good
// enough for a release. It fails closed: a TEE type is admitted only through a non-empty allow-list
// for that type (sgx, tdx or snp block), a TD must pin its runtime (RTMR0-3) and host-chosen TD fields
// (MRCONFIGID, MROWNER, MROWNERCONFIG) default to all-zero, debug enclaves, TDs and guests are refused,
// TDs must set SEPT_VE_DISABLE and SNP guests must run at VMPL 0 without a migration agent unless
// the policy explicitly says otherwise. The reference is docs/release-policy.md.
import { QUOTE_TCB_STATUSES as TCB_STATUSES, type QuoteTcbStatus as TcbStatusName } from './tcb.js';
import type { Verdict } from './verify.js';

export type PolicyTee = 'SGX' | 'TDX' | 'SNP';
const TEES: readonly PolicyTee[] = ['SGX', 'TDX', 'SNP'];

/**
 * What an accepted AMD SEV-SNP attestation report proves (the SNP verifier's accepted verdict carries
 * these fields; SEV-SNP ABI spec 56860, Table 22 ATTESTATION_REPORT). Hex is lower case.
 */
export interface SnpEvidence {
  ok: true; tee: 'SNP';
  measurement: string;      // 48 bytes, lower-case hex
  hostData: string;         // 32 bytes hex
  idKeyDigest: string;      // 48 bytes hex
  authorKeyDigest: string;  // 48 bytes hex
  reportData: string;       // 64 bytes hex (REPORT_DATA)
  guestSvn: number;
  vmpl: number;
  debug: boolean;           // guest policy DEBUG bit
  migrateMa: boolean;       // guest policy MIGRATE_MA bit
  reportedTcb: { bootloader: number; tee: number; snp: number; microcode: number; fmc?: number };
}

/** A refused SNP report, as the SNP verifier returns it. */
export interface RejectedSnpEvidence { ok: false; tee: 'SNP'; step: string; error: string }

/** Everything evaluatePolicy takes: a DCAP verdict or SNP evidence, accepted or refused. */
export type PolicyInput = Verdict | SnpEvidence | RejectedSnpEvidence;

export interface SgxPolicy {
  mrEnclave?: string[];
  mrSigner?: string[];
  /** Required with mrSigner: one signer key signs many products. */
  isvProdId?: number;
  minIsvSvn?: number;
}

export interface TdxPolicy {
  /** MRTD: the TD firmware (TDVF) as loaded. */
  mrTd: string[];
  /** Accepted values of RTMR0 (firmware config), RTMR1 (OS loader, kernel), RTMR2 (command line, initrd), RTMR3 (runtime). */
  rtmrs: [string[], string[], string[], string[]];
  /** Host-chosen at TD creation; when omitted each must be all zero. */
  mrConfigId?: string[];
  mrOwner?: string[];
  mrOwnerConfig?: string[];
  /** TDX module measurement and signer (optional pins). */
  mrSeam?: string[];
  mrSignerSeam?: string[];
}

export interface SnpTcb { bootloader?: number; tee?: number; snp?: number; microcode?: number; fmc?: number }

export interface SnpPolicy {
  /** MEASUREMENT: the launch digest of the guest's initial memory and VMSAs. */
  measurement: string[];
  /** HOST_DATA accepted (32 bytes each); when omitted HOST_DATA must be all zero. */
  hostData?: string[];
  idKeyDigest?: string[];
  authorKeyDigest?: string[];
  /** Minimum REPORTED_TCB per component. */
  minTcb?: SnpTcb;
  minGuestSvn?: number;
  /** The VMPL the report must come from (default 0). */
  vmpl?: number;
  /** Default false: a migration agent can export the guest's memory. */
  allowMigrateMa?: boolean;
  /** Minimum ABI the guest policy must require of the firmware, "MAJOR.MINOR" (default "0.0"; checked by the verifier). */
  minAbi?: string;
}

export interface AttestationPolicy {
  /** Restricts the TEEs further; a TEE is admitted only if the policy also has its allow-list block. */
  tees?: PolicyTee[];
  /** Intel TCB statuses accepted (default: every status verification accepts). SGX and TDX only. */
  allowedStatuses?: TcbStatusName[];
  /** When set, every advisory ID of the verdict must be listed. SGX and TDX only. */
  allowedAdvisoryIds?: string[];
  /** SGX and TDX only. */
  minTcbEvaluationDataNumber?: number;
  /** Default false: a debug enclave, TD or guest exposes its memory to the host. */
  allowDebug?: boolean;
  /** Default true: TDs must set SEPT_VE_DISABLE. */
  requireSeptVeDisable?: boolean;
  sgx?: SgxPolicy;
  tdx?: TdxPolicy;
  snp?: SnpPolicy;
  /** report_data must equal this value (hex, 64 bytes). */
  reportData?: string;
}

export type PolicyCheck = 'verification' | 'tee' | 'tcb-status' | 'advisory' | 'tcb-evaluation' | 'debug'
  | 'sept-ve-disable' | 'mr-enclave' | 'mr-signer' | 'isv-prod-id' | 'isv-svn' | 'mr-td' | 'rtmr'
  | 'mr-config-id' | 'mr-owner' | 'mr-owner-config' | 'mr-seam' | 'mr-signer-seam'
  | 'measurement' | 'host-data' | 'id-key-digest' | 'author-key-digest' | 'snp-tcb' | 'guest-svn' | 'vmpl'
  | 'migrate-ma' | 'report-data';

export type PolicyResult = { ok: true } | { ok: false; check: PolicyCheck; error: string };

/** The policy JSON is malformed. */
export class PolicyFormatError extends Error {
  override name = 'PolicyFormatError';
}

/** `s` made printable (JSON escapes) and cut to `max` characters, for error messages that quote input. */
export function boundedText(s: unknown, max = 64): string {
  const t = JSON.stringify(String(s)).slice(1, -1);
  return t.length > max ? `${t.slice(0, max)}...` : t;
}

const refuse = (check: PolicyCheck, error: string): PolicyResult => ({ ok: false, check, error: error.length > 400 ? `${error.slice(0, 400)}...` : error });
const ZERO48 = '00'.repeat(48);
const ZERO32 = '00'.repeat(32);

/** The policy's allow-list block for `tee`, or why there is none (fail closed). */
function admission(tee: PolicyTee, policy: AttestationPolicy): string | undefined {
  if (tee === 'SGX') {
    const s = policy.sgx;
    if (!s || !(s.mrEnclave?.length || s.mrSigner?.length)) return 'the policy has no sgx allow-list (mrEnclave or mrSigner): SGX workers are refused';
  } else if (tee === 'TDX') {
    if (!policy.tdx?.mrTd?.length) return 'the policy has no tdx allow-list (mrTd): TDX workers are refused';
  } else if (!policy.snp?.measurement?.length) {
    return 'the policy has no snp allow-list (measurement): SNP workers are refused';
  }
  return undefined;
}

/**
 * Applies `policy` to a verdict or SNP evidence; the first failing check is named with an
 * operator-readable reason. The one entry point release code calls for every TEE.
 */
export function evaluatePolicy(verdict: PolicyInput, policy: AttestationPolicy): PolicyResult {
  return evaluate(verdict, policy, true);
}

/**
 * The checks that hold without any allow-list (verification, debug, SEPT_VE_DISABLE, SNP
 * MIGRATE_MA and VMPL 0), for diagnostics such as `gatekeeper attestation verify` without a
 * policy. It admits any measurement: never use it to decide a release.
 */
export function evaluateBaseline(verdict: PolicyInput): PolicyResult {
  return evaluate(verdict, {}, false);
}

function evaluate(verdict: PolicyInput, policy: AttestationPolicy, allowListed: boolean): PolicyResult {
  if (verdict.ok !== true) {
    return refuse('verification', `${verdict.tee === 'SNP' ? 'report' : 'quote'} verification failed at ${boundedText(verdict.step)}: ${boundedText(verdict.error, 300)}`);
  }
  const tee = verdict.tee as unknown;
  if (!TEES.includes(tee as PolicyTee)) return refuse('tee', `unknown TEE type '${boundedText(tee, 16)}'`);
  if (policy.tees && !policy.tees.includes(verdict.tee)) {
    return refuse('tee', `${verdict.tee} workers are not allowed by this policy (it admits ${policy.tees.join(', ') || 'no TEE'})`);
  }
  if (verdict.tee === 'SNP') return evaluateSnp(verdict, policy, allowListed);
  const v = verdict;
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
  if (!allowListed) return { ok: true };
  const closed = admission(v.tee, policy);
  if (closed) return refuse('tee', closed);
  if (v.tee === 'SGX') {
    const p = policy.sgx!;
    if (p.mrEnclave?.length && !p.mrEnclave.includes(v.mrEnclave)) return refuse('mr-enclave', `MRENCLAVE ${v.mrEnclave} is not in the allow-list`);
    if (p.mrSigner?.length && !p.mrSigner.includes(v.mrSigner)) return refuse('mr-signer', `MRSIGNER ${v.mrSigner} is not in the allow-list`);
    if (p.mrSigner !== undefined && p.isvProdId === undefined) return refuse('isv-prod-id', 'the policy pins mrSigner without isvProdId: every product of that signer would pass');
    if (p.isvProdId !== undefined && v.isvProdId !== p.isvProdId) return refuse('isv-prod-id', `ISV product id ${v.isvProdId} is not ${p.isvProdId}`);
    if (p.minIsvSvn !== undefined && v.isvSvn < p.minIsvSvn) return refuse('isv-svn', `ISV SVN ${v.isvSvn} is below the required ${p.minIsvSvn}`);
  } else {
    const p = policy.tdx!;
    if (!p.mrTd.includes(v.mrTd)) return refuse('mr-td', `MRTD ${v.mrTd} is not in the allow-list`);
    for (const i of [0, 1, 2, 3] as const) {
      const allowed = p.rtmrs?.[i];
      if (!allowed?.length) return refuse('rtmr', `the policy does not pin RTMR${i}: the TD's runtime would be unchecked`);
      if (!allowed.includes(v.rtmrs[i])) return refuse('rtmr', `RTMR${i} ${v.rtmrs[i]} is not in the allow-list`);
    }
    const hostChosen = [['mr-config-id', 'MRCONFIGID', p.mrConfigId, v.mrConfigId], ['mr-owner', 'MROWNER', p.mrOwner, v.mrOwner],
      ['mr-owner-config', 'MROWNERCONFIG', p.mrOwnerConfig, v.mrOwnerConfig]] as const;
    for (const [check, name, allowed, value] of hostChosen) {
      if (allowed === undefined ? value !== ZERO48 : !allowed.includes(value)) {
        return refuse(check, `${name} ${value} is not ${allowed === undefined ? 'all zero (the policy does not list it)' : 'in the allow-list'}`);
      }
    }
    if (p.mrSeam && !p.mrSeam.includes(v.mrSeam)) return refuse('mr-seam', `MRSEAM ${v.mrSeam} is not in the allow-list`);
    if (p.mrSignerSeam && !p.mrSignerSeam.includes(v.mrSignerSeam)) return refuse('mr-signer-seam', `MRSIGNERSEAM ${v.mrSignerSeam} is not in the allow-list`);
  }
  if (policy.reportData !== undefined && v.reportData !== policy.reportData) {
    return refuse('report-data', 'report_data does not equal the expected value (wrong nonce or keys)');
  }
  return { ok: true };
}

const isHex = (x: unknown, len: number): x is string => typeof x === 'string' && x.length === len * 2 && /^[0-9a-fA-F]*$/.test(x);
const isUint = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;

/** Shape of SNP evidence from another module: a malformed one is refused, never trusted or thrown on. */
function malformedSnp(e: SnpEvidence): string | undefined {
  const t = e.reportedTcb as unknown as Record<string, unknown> | undefined;
  if (!isHex(e.measurement, 48) || !isHex(e.hostData, 32) || !isHex(e.idKeyDigest, 48) || !isHex(e.authorKeyDigest, 48)
    || !isHex(e.reportData, 64) || !isUint(e.guestSvn) || !isUint(e.vmpl) || typeof e.debug !== 'boolean' || typeof e.migrateMa !== 'boolean'
    || typeof t !== 'object' || t === null || !['bootloader', 'tee', 'snp', 'microcode'].every((k) => isUint(t[k]))
    || (t.fmc !== undefined && !isUint(t.fmc))) {
    return 'the SNP evidence is malformed';
  }
  return undefined;
}

const SNP_TCB: (keyof SnpTcb)[] = ['bootloader', 'tee', 'snp', 'microcode', 'fmc'];

function evaluateSnp(e: SnpEvidence, policy: AttestationPolicy, allowListed: boolean): PolicyResult {
  const bad = malformedSnp(e);
  if (bad) return refuse('verification', bad);
  if (e.debug && policy.allowDebug !== true) return refuse('debug', 'the guest policy allows debugging: its memory is readable by the host');
  if (e.migrateMa && policy.snp?.allowMigrateMa !== true) {
    return refuse('migrate-ma', 'the guest policy allows a migration agent (MIGRATE_MA), which can export its memory');
  }
  const vmpl = policy.snp?.vmpl ?? 0;
  if (e.vmpl !== vmpl) return refuse('vmpl', `the report comes from VMPL ${e.vmpl}, the policy requires VMPL ${vmpl}`);
  if (!allowListed) return { ok: true };
  const closed = admission('SNP', policy);
  if (closed) return refuse('tee', closed);
  const p = policy.snp!;
  const measurement = e.measurement.toLowerCase();
  if (!p.measurement.includes(measurement)) return refuse('measurement', `MEASUREMENT ${measurement} is not in the allow-list`);
  const hostData = e.hostData.toLowerCase();
  if (p.hostData === undefined ? hostData !== ZERO32 : !p.hostData.includes(hostData)) {
    return refuse('host-data', `HOST_DATA ${hostData} is not ${p.hostData === undefined ? 'all zero (the policy does not list it)' : 'in the allow-list'}`);
  }
  if (p.idKeyDigest && !p.idKeyDigest.includes(e.idKeyDigest.toLowerCase())) return refuse('id-key-digest', `ID_KEY_DIGEST ${e.idKeyDigest.toLowerCase()} is not in the allow-list`);
  if (p.authorKeyDigest && !p.authorKeyDigest.includes(e.authorKeyDigest.toLowerCase())) {
    return refuse('author-key-digest', `AUTHOR_KEY_DIGEST ${e.authorKeyDigest.toLowerCase()} is not in the allow-list`);
  }
  for (const c of SNP_TCB) {
    const min = p.minTcb?.[c];
    if (min === undefined) continue;
    const have = e.reportedTcb[c];
    if (have === undefined) return refuse('snp-tcb', `the policy requires ${c} SVN ${min} but the report has no ${c} component`);
    if (have < min) return refuse('snp-tcb', `reported TCB ${c} SVN ${have} is below the required ${min}`);
  }
  if (p.minGuestSvn !== undefined && e.guestSvn < p.minGuestSvn) return refuse('guest-svn', `GUEST_SVN ${e.guestSvn} is below the required ${p.minGuestSvn}`);
  if (policy.reportData !== undefined && e.reportData.toLowerCase() !== policy.reportData) {
    return refuse('report-data', 'REPORT_DATA does not equal the expected value (wrong nonce or keys)');
  }
  return { ok: true };
}

// ---- parsing ----

/** Longest allow-list accepted (keeps policy evaluation and its storage bounded). */
const MAX_LIST = 256;

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function onlyFields(o: Record<string, unknown>, known: readonly string[], where: string): void {
  for (const k of Object.keys(o)) if (!known.includes(k)) throw new PolicyFormatError(`unknown policy field '${where}${boundedText(k)}'`);
}
function hexList(v: unknown, where: string, len: number): string[] {
  if (!Array.isArray(v)) throw new PolicyFormatError(`${where} must be an array of hex strings`);
  if (v.length > MAX_LIST) throw new PolicyFormatError(`${where} lists more than ${MAX_LIST} values`);
  return v.map((x, i) => hexValue(x, `${where}[${i}]`, len));
}
function nonEmptyHexList(v: unknown, where: string, len: number): string[] {
  const l = hexList(v, where, len);
  if (l.length === 0) throw new PolicyFormatError(`${where} must list at least one value`);
  return l;
}
function hexValue(x: unknown, where: string, len: number): string {
  if (!isHex(x, len)) throw new PolicyFormatError(`${where} must be ${len} bytes of hex`);
  return x.toLowerCase();
}
function uint(x: unknown, where: string, max = 0xffffffff): number {
  if (!isUint(x) || x > max) throw new PolicyFormatError(`${where} must be an integer from 0 to ${max}`);
  return x;
}
function bool(x: unknown, where: string): boolean {
  if (typeof x !== 'boolean') throw new PolicyFormatError(`${where} must be true or false`);
  return x;
}
function block(x: unknown, where: string, known: readonly string[]): Record<string, unknown> {
  if (!isObj(x)) throw new PolicyFormatError(`${where} must be an object`);
  onlyFields(x, known, `${where}.`);
  return x;
}

const KNOWN = ['tees', 'allowedStatuses', 'allowedAdvisoryIds', 'minTcbEvaluationDataNumber', 'allowDebug',
  'requireSeptVeDisable', 'sgx', 'tdx', 'snp', 'reportData'] as const;

function parseSgx(x: unknown): SgxPolicy {
  const s = block(x, 'sgx', ['mrEnclave', 'mrSigner', 'isvProdId', 'minIsvSvn']);
  const p: SgxPolicy = {};
  if (s.mrEnclave !== undefined) p.mrEnclave = nonEmptyHexList(s.mrEnclave, 'sgx.mrEnclave', 32);
  if (s.mrSigner !== undefined) p.mrSigner = nonEmptyHexList(s.mrSigner, 'sgx.mrSigner', 32);
  if (s.isvProdId !== undefined) p.isvProdId = uint(s.isvProdId, 'sgx.isvProdId', 0xffff);
  if (s.minIsvSvn !== undefined) p.minIsvSvn = uint(s.minIsvSvn, 'sgx.minIsvSvn', 0xffff);
  if (!p.mrEnclave && !p.mrSigner) throw new PolicyFormatError('sgx must allow-list mrEnclave or mrSigner');
  if (p.mrSigner && p.isvProdId === undefined) throw new PolicyFormatError('sgx.mrSigner requires sgx.isvProdId (one signer signs many products)');
  return p;
}

function parseTdx(x: unknown): TdxPolicy {
  const t = block(x, 'tdx', ['mrTd', 'rtmrs', 'mrConfigId', 'mrOwner', 'mrOwnerConfig', 'mrSeam', 'mrSignerSeam']);
  if (t.mrTd === undefined) throw new PolicyFormatError('tdx must allow-list mrTd');
  const mrTd = nonEmptyHexList(t.mrTd, 'tdx.mrTd', 48);
  // MRTD measures only the TD firmware; the kernel, command line and workload are in RTMR0-3.
  if (!Array.isArray(t.rtmrs) || t.rtmrs.length !== 4) {
    throw new PolicyFormatError('tdx.rtmrs must pin all four RTMRs (an array of 4 allow-lists): MRTD alone does not measure the kernel or workload');
  }
  const rtmrs = t.rtmrs.map((r, i) => nonEmptyHexList(r, `tdx.rtmrs[${i}]`, 48)) as TdxPolicy['rtmrs'];
  const p: TdxPolicy = { mrTd, rtmrs };
  for (const k of ['mrConfigId', 'mrOwner', 'mrOwnerConfig', 'mrSeam', 'mrSignerSeam'] as const) {
    if (t[k] !== undefined) p[k] = nonEmptyHexList(t[k], `tdx.${k}`, 48);
  }
  return p;
}

function parseSnp(x: unknown): SnpPolicy {
  const s = block(x, 'snp', ['measurement', 'hostData', 'idKeyDigest', 'authorKeyDigest', 'minTcb', 'minGuestSvn', 'vmpl', 'allowMigrateMa', 'minAbi']);
  if (s.measurement === undefined) throw new PolicyFormatError('snp must allow-list measurement');
  const p: SnpPolicy = { measurement: nonEmptyHexList(s.measurement, 'snp.measurement', 48) };
  if (s.hostData !== undefined) p.hostData = nonEmptyHexList(s.hostData, 'snp.hostData', 32);
  if (s.idKeyDigest !== undefined) p.idKeyDigest = nonEmptyHexList(s.idKeyDigest, 'snp.idKeyDigest', 48);
  if (s.authorKeyDigest !== undefined) p.authorKeyDigest = nonEmptyHexList(s.authorKeyDigest, 'snp.authorKeyDigest', 48);
  if (s.minTcb !== undefined) {
    const m = block(s.minTcb, 'snp.minTcb', SNP_TCB);
    p.minTcb = {};
    for (const c of SNP_TCB) if (m[c] !== undefined) p.minTcb[c] = uint(m[c], `snp.minTcb.${c}`, 0xff);
  }
  if (s.minGuestSvn !== undefined) p.minGuestSvn = uint(s.minGuestSvn, 'snp.minGuestSvn');
  if (s.vmpl !== undefined) p.vmpl = uint(s.vmpl, 'snp.vmpl', 3);
  if (s.allowMigrateMa !== undefined) p.allowMigrateMa = bool(s.allowMigrateMa, 'snp.allowMigrateMa');
  if (s.minAbi !== undefined) {
    const m = typeof s.minAbi === 'string' ? /^(\d{1,3})\.(\d{1,3})$/.exec(s.minAbi) : null;
    if (!m || Number(m[1]) > 255 || Number(m[2]) > 255) throw new PolicyFormatError('snp.minAbi must be "MAJOR.MINOR" (0..255 each)');
    p.minAbi = `${Number(m[1])}.${Number(m[2])}`;
  }
  return p;
}

/** Validates policy JSON (object or text); hex values are normalised to lower case. */
export function parsePolicy(json: unknown): AttestationPolicy {
  let o: unknown = json;
  if (typeof json === 'string') {
    try { o = JSON.parse(json); } catch { throw new PolicyFormatError('policy is not valid JSON'); }
  }
  if (!isObj(o)) throw new PolicyFormatError('policy must be a JSON object');
  onlyFields(o, KNOWN, '');
  const p: AttestationPolicy = {};
  if (o.tees !== undefined) {
    if (!Array.isArray(o.tees) || o.tees.length > TEES.length || !o.tees.every((t) => TEES.includes(t as PolicyTee))) {
      throw new PolicyFormatError('tees must list "SGX", "TDX" and/or "SNP"');
    }
    p.tees = o.tees as PolicyTee[];
  }
  if (o.allowedStatuses !== undefined) {
    if (!Array.isArray(o.allowedStatuses) || o.allowedStatuses.length > MAX_LIST
      || !o.allowedStatuses.every((s) => (TCB_STATUSES as readonly unknown[]).includes(s))) {
      throw new PolicyFormatError(`allowedStatuses must list Intel TCB status names (${TCB_STATUSES.join(', ')})`);
    }
    p.allowedStatuses = o.allowedStatuses as TcbStatusName[];
  }
  if (o.allowedAdvisoryIds !== undefined) {
    if (!Array.isArray(o.allowedAdvisoryIds) || o.allowedAdvisoryIds.length > MAX_LIST
      || !o.allowedAdvisoryIds.every((s) => typeof s === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(s))) {
      throw new PolicyFormatError('allowedAdvisoryIds must be advisory IDs such as "INTEL-SA-00615"');
    }
    p.allowedAdvisoryIds = o.allowedAdvisoryIds as string[];
  }
  if (o.minTcbEvaluationDataNumber !== undefined) p.minTcbEvaluationDataNumber = uint(o.minTcbEvaluationDataNumber, 'minTcbEvaluationDataNumber');
  if (o.allowDebug !== undefined) p.allowDebug = bool(o.allowDebug, 'allowDebug');
  if (o.requireSeptVeDisable !== undefined) p.requireSeptVeDisable = bool(o.requireSeptVeDisable, 'requireSeptVeDisable');
  if (o.reportData !== undefined) p.reportData = hexValue(o.reportData, 'reportData', 64);
  if (o.sgx !== undefined) p.sgx = parseSgx(o.sgx);
  if (o.tdx !== undefined) p.tdx = parseTdx(o.tdx);
  if (o.snp !== undefined) p.snp = parseSnp(o.snp);
  return p;
}
