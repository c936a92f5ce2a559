// TCB evaluation as in Intel's Quote Verification Library: QE identity match
// (EnclaveReportVerifier), TCB level selection and status convergence (TcbLevelCheck:
// matchTcbLevels, isCpuSvnHigherOrEqual, isTdxTcbHigherOrEqual, checkTcbLevel,
// convergeTcbStatusWithQeTcbStatus) and the TDX module (TdxModuleCheck: findTdxModuleIdentity,
// checkTdxModuleTcbStatus, convergeTcbStatusWithTdxModuleStatus).
import type { QeIdentity, QeTcbStatusName, TcbInfo, TcbLevel, TcbStatusName, TdxModule } from './collateral.js';
import { fail } from './errors.js';
import type { PckExtensions } from './pck-extensions.js';
import type { Quote, SgxReportBody, TdReportBody } from './quote.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** A verdict's status: a TCB status, or one of the TD 1.5 relaunch statuses of Intel's TDRelaunchCheck. */
export type QuoteTcbStatus = TcbStatusName | 'TDRelaunchAdvised' | 'TDRelaunchAdvisedConfigurationNeeded';
export const QUOTE_TCB_STATUSES: readonly QuoteTcbStatus[] = ['UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded', 'TDRelaunchAdvised',
  'TDRelaunchAdvisedConfigurationNeeded'];

export interface QeTcbResult { status: QeTcbStatusName; advisoryIds: string[]; isvSvn: number }

/** EnclaveReportVerifier: the QE report matches the QE identity; returns the QE TCB level. */
export function verifyQeReportAgainstIdentity(qe: SgxReportBody, id: QeIdentity): QeTcbResult {
  const step = 'qe-identity-mismatch' as const;
  if ((qe.miscSelect & id.miscselectMask) >>> 0 !== (id.miscselect & id.miscselectMask) >>> 0) {
    fail(step, `QE MISCSELECT ${qe.miscSelect.toString(16).padStart(8, '0')} does not match the QE identity under its mask`);
  }
  for (let i = 0; i < 16; i++) {
    if ((qe.attributes[i]! & id.attributesMask[i]!) !== (id.attributes[i]! & id.attributesMask[i]!)) {
      fail(step, `QE ATTRIBUTES ${hex(qe.attributes)} do not match the QE identity under its mask`);
    }
  }
  if (hex(qe.mrSigner) !== hex(id.mrSigner)) fail(step, `QE MRSIGNER ${hex(qe.mrSigner)} is not the MRSIGNER of the QE identity`);
  if (qe.isvProdId !== id.isvProdId) fail(step, `QE ISVPRODID ${qe.isvProdId} is not ${id.isvProdId} as in the QE identity`);
  const level = id.tcbLevels.find((l) => qe.isvSvn >= l.isvSvn);
  if (level === undefined) {
    fail('tcb-level', `QE ISVSVN ${qe.isvSvn} is below every TCB level of the QE identity (Intel QVL: TCB_NOT_SUPPORTED)`);
  }
  return { status: level.status, advisoryIds: level.advisoryIds, isvSvn: level.isvSvn };
}

function isCpuSvnHigherOrEqual(pck: PckExtensions, level: TcbLevel): boolean {
  for (let i = 0; i < 16; i++) if (pck.tcbComponents[i]! < level.sgxComponents[i]!) return false;
  return true;
}

/** Components 0 and 1 describe the TDX module; with tdxModuleIdentities (svn[1] > 0) they are judged there. */
function isTdxTcbHigherOrEqual(teeTcbSvn: Uint8Array, level: TcbLevel): boolean {
  const comps = level.tdxComponents!;
  for (let i = teeTcbSvn[1]! > 0 ? 2 : 0; i < 16; i++) if (teeTcbSvn[i]! < comps[i]!) return false;
  return true;
}

/** matchTcbLevels: the first (highest) level the PCK TCB (and, for TDX, TEE_TCB_SVN) reaches. */
export function matchTcbLevels(info: TcbInfo, pck: PckExtensions, teeTcbSvn?: Uint8Array): { sgx?: TcbLevel; tdx?: TcbLevel } {
  let sgx: TcbLevel | undefined;
  for (const level of info.tcbLevels) {
    if (!isCpuSvnHigherOrEqual(pck, level) || pck.pceSvn < level.pceSvn) continue;
    if (teeTcbSvn === undefined) return { sgx: level };
    sgx ??= level;
    if (isTdxTcbHigherOrEqual(teeTcbSvn, level)) return { sgx, tdx: level };
  }
  return { sgx };
}

/**
 * The platform TCB status after a second component's status (QE identity or TDX module): OutOfDate
 * there makes an up-to-date or configuration-needed platform out of date; Revoked is terminal
 * (STATUS_TCB_REVOKED). Intel's QVL applies the same rule under two names, kept below.
 */
function convergeTcbStatus(tcb: TcbStatusName, other: TcbStatusName): TcbStatusName {
  if (other === 'OutOfDate') {
    if (tcb === 'UpToDate' || tcb === 'SWHardeningNeeded') return 'OutOfDate';
    if (tcb === 'ConfigurationNeeded' || tcb === 'ConfigurationAndSWHardeningNeeded') return 'OutOfDateConfigurationNeeded';
  }
  if (other === 'Revoked') return 'Revoked';
  return tcb;
}

export function convergeTcbStatusWithQeTcbStatus(tcb: TcbStatusName, qe: QeTcbStatusName): TcbStatusName {
  return convergeTcbStatus(tcb, qe);
}

export function convergeTcbStatusWithTdxModuleStatus(tcb: TcbStatusName, module: TcbStatusName): TcbStatusName {
  return convergeTcbStatus(tcb, module);
}

function checkModuleIdentity(td: TdReportBody, m: TdxModule, name: string): void {
  if (hex(td.mrSignerSeam) !== hex(m.mrSigner)) {
    fail('tdx-module', `MRSIGNERSEAM ${hex(td.mrSignerSeam)} is not the MRSIGNER of ${name}`);
  }
  for (let i = 0; i < 8; i++) {
    if ((td.seamAttributes[i]! & m.attributesMask[i]!) !== m.attributes[i]!) {
      fail('tdx-module', `SEAM attributes ${hex(td.seamAttributes)} do not match ${name} under its mask`);
    }
  }
}

export interface ModuleResult { status: TcbStatusName; advisoryIds: string[]; id?: string }

/**
 * TDX module identity (QuoteVerifier 4.1.2.4.11 and TdxModuleCheck): with TEE_TCB_SVN[1] (the
 * module major version) > 0 the module must be listed in tdxModuleIdentities as "TDX_<hex>" and
 * its TCB level is chosen by TEE_TCB_SVN[0]; with 0 the legacy `tdxModule` entry applies.
 */
export function checkTdxModuleTcbStatus(info: TcbInfo, td: TdReportBody): ModuleResult {
  const version = td.teeTcbSvn[1]!;
  if (version === 0) {
    checkModuleIdentity(td, info.tdxModule!, 'the TDX module of the TCB info');
    return { status: 'UpToDate', advisoryIds: [] };
  }
  const id = `TDX_${version.toString(16).padStart(2, '0').toUpperCase()}`;
  const identity = (info.tdxModuleIdentities ?? []).find((m) => m.id.toUpperCase() === id);
  if (identity === undefined) {
    fail('tdx-module', `the TCB info has no TDX module identity ${id} for TDX module major version ${version}`);
  }
  checkModuleIdentity(td, identity, `TDX module identity ${id}`);
  const level = identity.tcbLevels.find((l) => td.teeTcbSvn[0]! >= l.isvSvn);
  if (level === undefined) {
    fail('tcb-level', `TDX module ${id} SVN ${td.teeTcbSvn[0]} is below every TCB level of its identity (Intel QVL: TCB_NOT_SUPPORTED)`);
  }
  return { status: level.status, advisoryIds: level.advisoryIds, id };
}

export interface TcbResult { status: QuoteTcbStatus; advisoryIds: string[]; tcbDate: string }

const configurationNeeded = (s: TcbStatusName) =>
  s === 'ConfigurationNeeded' || s === 'OutOfDateConfigurationNeeded' || s === 'ConfigurationAndSWHardeningNeeded';

/**
 * TDRelaunchCheck (TD 1.5 only): a TD that is OutOfDate only because of its TDX module, on a
 * platform whose module has since been updated (TEE_TCB_SVN_2 reaches the latest level), is told
 * to relaunch rather than that the platform is out of date.
 */
export function checkForRelaunch(teeTcbSvn2: Uint8Array, info: TcbInfo, sgx: TcbStatusName, tdx: TcbStatusName,
  module: TcbStatusName, qe: QeTcbStatusName): QuoteTcbStatus {
  if (qe !== 'UpToDate') return tdx;
  if (sgx !== 'UpToDate' && sgx !== 'SWHardeningNeeded' && sgx !== 'ConfigurationNeeded' && sgx !== 'ConfigurationAndSWHardeningNeeded') return tdx;
  if ((tdx !== 'OutOfDate' && tdx !== 'OutOfDateConfigurationNeeded') || module !== 'OutOfDate') return tdx;
  const latest = info.tcbLevels[0]!;
  let minorLatest: number;
  if (teeTcbSvn2[1] === 0) {
    minorLatest = latest.tdxComponents![0]!;
  } else {
    const id = `TDX_${teeTcbSvn2[1]!.toString(16).padStart(2, '0').toUpperCase()}`;
    const identity = (info.tdxModuleIdentities ?? []).find((m) => m.id.toUpperCase() === id);
    if (identity === undefined) fail('tdx-module', `TEE_TCB_SVN_2 names TDX module ${id}, which the TCB info does not list`);
    if (identity.tcbLevels.length === 0) fail('tcb-level', `TDX module identity ${id} has no TCB levels (Intel QVL: TCB_NOT_SUPPORTED)`);
    minorLatest = identity.tcbLevels[0]!.isvSvn;
  }
  if (teeTcbSvn2[0]! >= minorLatest && teeTcbSvn2[2]! >= latest.tdxComponents![2]!) {
    return configurationNeeded(sgx) || configurationNeeded(tdx) ? 'TDRelaunchAdvisedConfigurationNeeded' : 'TDRelaunchAdvised';
  }
  return tdx;
}

function union(...lists: string[][]): string[] {
  const out: string[] = [];
  for (const l of lists) for (const a of l) if (!out.includes(a)) out.push(a);
  return out;
}

/**
 * checkTcbLevel: selects the platform TCB level, folds in the TDX module and QE statuses, and
 * refuses TCB_NOT_SUPPORTED and Revoked. Advisory IDs are the union over the selected platform
 * level, the TDX module level and the QE level.
 */
export function checkTcbLevel(info: TcbInfo, pck: PckExtensions, quote: Quote, qe: QeTcbResult): TcbResult {
  const td = quote.tee === 'TDX' ? quote.report : undefined;
  const { sgx, tdx } = matchTcbLevels(info, pck, td?.teeTcbSvn);
  const pckTcb = `PCK TCB components ${pck.tcbComponents.join('.')} PCESVN ${pck.pceSvn}`;
  if (sgx === undefined) fail('tcb-level', `no matching TCB level: ${pckTcb} is below every level of the TCB info (Intel QVL: TCB_NOT_SUPPORTED)`);
  let status: QuoteTcbStatus;
  let advisoryIds: string[];
  let tcbDate: string;
  if (td === undefined) {
    status = convergeTcbStatusWithQeTcbStatus(sgx.status, qe.status);
    advisoryIds = union(sgx.advisoryIds, qe.status === 'UpToDate' ? [] : qe.advisoryIds);
    tcbDate = sgx.tcbDate;
  } else {
    if (tdx === undefined) {
      fail('tcb-level', `no matching TCB level: TEE_TCB_SVN ${hex(td.teeTcbSvn)} with ${pckTcb} is below every TDX level of the TCB info (Intel QVL: TCB_NOT_SUPPORTED)`);
    }
    const module = checkTdxModuleTcbStatus(info, td);
    const tdxStatus = convergeTcbStatusWithTdxModuleStatus(tdx.status, module.status);
    status = tdxStatus;
    if (tdxStatus !== 'Revoked') {
      if (td.teeTcbSvn2 !== undefined) status = checkForRelaunch(td.teeTcbSvn2, info, sgx.status, tdxStatus, module.status, qe.status);
      // Relaunch statuses only arise with an UpToDate QE, which convergence leaves unchanged.
      if (status !== 'TDRelaunchAdvised' && status !== 'TDRelaunchAdvisedConfigurationNeeded') {
        status = convergeTcbStatusWithQeTcbStatus(status, qe.status);
      }
    }
    advisoryIds = union(tdx.advisoryIds, module.status === 'UpToDate' ? [] : module.advisoryIds,
      qe.status === 'UpToDate' ? [] : qe.advisoryIds);
    tcbDate = tdx.tcbDate;
  }
  if (status === 'Revoked') fail('tcb-status', 'the TCB level of this platform is Revoked (Intel QVL: TCB_REVOKED)');
  return { status, advisoryIds, tcbDate };
}
