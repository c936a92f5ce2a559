// DCAP collateral: the JSON layout of fixtures/dcap (field names of Phala's QuoteCollateralV3) and
// the signed documents inside it, Intel PCS API v4 "TCB Info" (v2/v3, SGX and TDX) and
// "Enclave Identity" (QE / TD_QE, v2). The signed texts are kept verbatim because the signatures
// cover those exact bytes; they are parsed separately into typed, validated structures.

/** The collateral is not in the expected layout. */
export class CollateralFormatError extends Error {
  override name = 'CollateralFormatError';
}

/** Collateral for one quote, as strings exactly as received (see fixtures/dcap/README.md). */
export interface Collateral {
  readonly pck_crl_issuer_chain: string;
  /** Hex DER of the Intel SGX Root CA CRL ("" when not available, which verification refuses). */
  readonly root_ca_crl: string;
  /** Hex DER of the PCK Platform/Processor CA CRL. */
  readonly pck_crl: string;
  readonly tcb_info_issuer_chain: string;
  /** The exact signed JSON text of `tcbInfo`. */
  readonly tcb_info: string;
  /** Hex, 64 bytes raw r||s. */
  readonly tcb_info_signature: string;
  readonly qe_identity_issuer_chain: string;
  /** The exact signed JSON text of `enclaveIdentity`. */
  readonly qe_identity: string;
  readonly qe_identity_signature: string;
}

const STRING_FIELDS = ['pck_crl_issuer_chain', 'root_ca_crl', 'pck_crl', 'tcb_info_issuer_chain', 'tcb_info',
  'tcb_info_signature', 'qe_identity_issuer_chain', 'qe_identity', 'qe_identity_signature'] as const;
const HEX_FIELDS = ['root_ca_crl', 'pck_crl', 'tcb_info_signature', 'qe_identity_signature'] as const;

const PEM_FIELDS = ['pck_crl_issuer_chain', 'tcb_info_issuer_chain', 'qe_identity_issuer_chain'] as const;

const LOADED = new WeakSet<object>();

// The block syntax parsePemChain (x509.ts) accepts; only text it would accept is rewritten.
const PEM_BLOCK = /-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END CERTIFICATE-----/g;

/**
 * A PEM chain in one canonical layout (base64 in 64-character lines, one newline after each block, no
 * trailing NUL), so that chains differing only in whitespace share one cache key. Text the strict
 * parser would refuse is returned unchanged, so it is still refused.
 */
export function canonicalPemChain(text: string): string {
  const body = text.endsWith('\0') ? text.slice(0, -1) : text;
  let out = '';
  let last = 0;
  for (const m of body.matchAll(PEM_BLOCK)) {
    if (!/^\s*$/.test(body.slice(last, m.index))) return text;
    const b64 = m[1]!.replace(/\s+/g, '');
    if (b64.length === 0 || Buffer.from(b64, 'base64').toString('base64') !== b64) return text;
    out += `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
    last = m.index + m[0].length;
  }
  if (out === '' || !/^\s*$/.test(body.slice(last))) return text;
  return out;
}

/** True for objects returned by loadCollateral (validated and frozen). */
export function isLoadedCollateral(c: unknown): c is Collateral {
  return typeof c === 'object' && c !== null && LOADED.has(c);
}

/**
 * Validates collateral JSON (a parsed object or its text) and returns a frozen Collateral.
 * Only the layout is checked here; signatures, chains and dates are checked by verifyQuote.
 */
export function loadCollateral(json: unknown): Collateral {
  let obj: unknown = json;
  if (typeof json === 'string') {
    try { obj = JSON.parse(json); } catch (err) {
      throw new CollateralFormatError(`collateral is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new CollateralFormatError('collateral must be a JSON object');
  const rec = obj as Record<string, unknown>;
  const out: Record<string, string> = {};
  for (const f of STRING_FIELDS) {
    const v = rec[f];
    if (typeof v !== 'string') throw new CollateralFormatError(`collateral field '${f}' must be a string`);
    out[f] = v;
  }
  for (const f of HEX_FIELDS) {
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(out[f]!)) throw new CollateralFormatError(`collateral field '${f}' must be hex`);
    out[f] = out[f]!.toLowerCase();
  }
  // Same certificates, same text: whitespace in a PEM chain must not make a new verification cache key.
  for (const f of PEM_FIELDS) out[f] = canonicalPemChain(out[f]!);
  const frozen = Object.freeze(out as unknown as Collateral);
  LOADED.add(frozen);
  return frozen;
}

export type TcbStatusName = 'UpToDate' | 'SWHardeningNeeded' | 'ConfigurationNeeded' | 'ConfigurationAndSWHardeningNeeded'
  | 'OutOfDate' | 'OutOfDateConfigurationNeeded' | 'Revoked';
export const TCB_STATUSES: readonly TcbStatusName[] = ['UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded', 'Revoked'];

export interface TcbLevel {
  sgxComponents: number[];
  pceSvn: number;
  /** TDX TCB info only. */
  tdxComponents?: number[];
  tcbDate: string;
  status: TcbStatusName;
  advisoryIds: string[];
}

export interface TdxModule { mrSigner: Uint8Array; attributes: Uint8Array; attributesMask: Uint8Array }
export interface TdxModuleIdentity extends TdxModule {
  id: string;
  tcbLevels: { isvSvn: number; tcbDate: string; status: TcbStatusName; advisoryIds: string[] }[];
}

export interface TcbInfo {
  id: 'SGX' | 'TDX';
  version: number;
  issueDate: number;
  nextUpdate: number;
  fmspc: string;
  pceId: string;
  tcbType: number;
  tcbEvaluationDataNumber: number;
  tdxModule?: TdxModule;
  tdxModuleIdentities?: TdxModuleIdentity[];
  tcbLevels: TcbLevel[];
}

export type QeTcbStatusName = 'UpToDate' | 'OutOfDate' | 'Revoked';
export interface QeIdentity {
  id: 'QE' | 'TD_QE';
  version: number;
  issueDate: number;
  nextUpdate: number;
  tcbEvaluationDataNumber: number;
  miscselect: number;
  miscselectMask: number;
  attributes: Uint8Array;
  attributesMask: Uint8Array;
  mrSigner: Uint8Array;
  isvProdId: number;
  tcbLevels: { isvSvn: number; tcbDate: string; status: QeTcbStatusName; advisoryIds: string[] }[];
}

type J = Record<string, unknown>;

function obj(v: unknown, where: string): J {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CollateralFormatError(`${where} must be an object`);
  return v as J;
}
function int(v: unknown, where: string, max = 0xffff): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new CollateralFormatError(`${where} must be an integer in [0, ${max}]`);
  return v;
}
function str(v: unknown, where: string): string {
  if (typeof v !== 'string') throw new CollateralFormatError(`${where} must be a string`);
  return v;
}
function hexBytes(v: unknown, where: string, len: number): Uint8Array {
  const s = str(v, where);
  if (s.length !== len * 2 || !/^[0-9a-fA-F]*$/.test(s)) throw new CollateralFormatError(`${where} must be ${len} bytes of hex`);
  return Uint8Array.from(Buffer.from(s, 'hex'));
}
function date(v: unknown, where: string): number {
  const s = str(v, where);
  // PCS dates are ISO 8601 UTC ("2025-06-19T10:56:11Z"); refuse anything Date.parse would guess at.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$/.test(s)) throw new CollateralFormatError(`${where} must be an ISO 8601 UTC date`);
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new CollateralFormatError(`${where} is not a valid date`);
  return t;
}
function arr(v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) throw new CollateralFormatError(`${where} must be an array`);
  return v;
}
function advisories(v: unknown, where: string): string[] {
  if (v === undefined) return [];
  return arr(v, where).map((a, i) => str(a, `${where}[${i}]`));
}
function status<T extends string>(v: unknown, where: string, allowed: readonly T[]): T {
  const s = str(v, where);
  if (!(allowed as readonly string[]).includes(s)) throw new CollateralFormatError(`${where} '${s}' is not a recognised TCB status`);
  return s as T;
}
function parseJson(text: string, what: string): J {
  let v: unknown;
  try { v = JSON.parse(text); } catch { throw new CollateralFormatError(`${what} is not valid JSON`); }
  return obj(v, what);
}
function components(v: unknown, where: string): number[] {
  const a = arr(v, where);
  if (a.length !== 16) throw new CollateralFormatError(`${where} must have 16 components`);
  return a.map((c, i) => int(obj(c, `${where}[${i}]`).svn, `${where}[${i}].svn`, 255));
}
function tdxModuleFields(m: J, where: string): TdxModule {
  return {
    mrSigner: hexBytes(m.mrsigner, `${where}.mrsigner`, 48),
    attributes: hexBytes(m.attributes, `${where}.attributes`, 8),
    attributesMask: hexBytes(m.attributesMask, `${where}.attributesMask`, 8),
  };
}

/** Parses the signed `tcbInfo` text (Intel PCS API v4, TCB Info v2 or v3). */
export function parseTcbInfo(text: string): TcbInfo {
  const t = parseJson(text, 'TCB info');
  const version = int(t.version, 'tcbInfo.version');
  if (version !== 2 && version !== 3) throw new CollateralFormatError(`TCB info version ${version} is not supported (2 or 3)`);
  const id = version === 2 ? 'SGX' : str(t.id, 'tcbInfo.id');
  if (id !== 'SGX' && id !== 'TDX') throw new CollateralFormatError(`TCB info id '${id}' is not SGX or TDX`);
  const tcbType = int(t.tcbType, 'tcbInfo.tcbType');
  if (tcbType !== 0) throw new CollateralFormatError(`TCB info tcbType ${tcbType} is not supported (0)`);
  const fmspc = Buffer.from(hexBytes(t.fmspc, 'tcbInfo.fmspc', 6)).toString('hex');
  const pceId = Buffer.from(hexBytes(t.pceId, 'tcbInfo.pceId', 2)).toString('hex');
  const levels = arr(t.tcbLevels, 'tcbInfo.tcbLevels');
  if (levels.length === 0) throw new CollateralFormatError('TCB info has no TCB levels');
  const tcbLevels = levels.map((lv, i): TcbLevel => {
    const w = `tcbInfo.tcbLevels[${i}]`;
    const l = obj(lv, w);
    const tcb = obj(l.tcb, `${w}.tcb`);
    let sgxComponents: number[];
    let tdxComponents: number[] | undefined;
    if (version === 2) {
      sgxComponents = Array.from({ length: 16 }, (_, k) => {
        const key = `sgxtcbcomp${String(k + 1).padStart(2, '0')}svn`;
        return int(tcb[key], `${w}.tcb.${key}`, 255);
      });
    } else {
      sgxComponents = components(tcb.sgxtcbcomponents, `${w}.tcb.sgxtcbcomponents`);
      if (id === 'TDX') tdxComponents = components(tcb.tdxtcbcomponents, `${w}.tcb.tdxtcbcomponents`);
    }
    return {
      sgxComponents, tdxComponents,
      pceSvn: int(tcb.pcesvn, `${w}.tcb.pcesvn`),
      tcbDate: str(l.tcbDate, `${w}.tcbDate`),
      status: status(l.tcbStatus, `${w}.tcbStatus`, TCB_STATUSES),
      advisoryIds: advisories(l.advisoryIDs, `${w}.advisoryIDs`),
    };
  });
  const info: TcbInfo = {
    id, version, tcbType, fmspc, pceId, tcbLevels,
    issueDate: date(t.issueDate, 'tcbInfo.issueDate'),
    nextUpdate: date(t.nextUpdate, 'tcbInfo.nextUpdate'),
    tcbEvaluationDataNumber: int(t.tcbEvaluationDataNumber, 'tcbInfo.tcbEvaluationDataNumber', 0xffffffff),
  };
  if (id === 'TDX') {
    if (version !== 3) throw new CollateralFormatError('TDX TCB info must be version 3');
    info.tdxModule = tdxModuleFields(obj(t.tdxModule, 'tcbInfo.tdxModule'), 'tcbInfo.tdxModule');
    if (t.tdxModuleIdentities !== undefined) {
      info.tdxModuleIdentities = arr(t.tdxModuleIdentities, 'tcbInfo.tdxModuleIdentities').map((mv, i) => {
        const w = `tcbInfo.tdxModuleIdentities[${i}]`;
        const m = obj(mv, w);
        return {
          id: str(m.id, `${w}.id`),
          ...tdxModuleFields(m, w),
          tcbLevels: arr(m.tcbLevels, `${w}.tcbLevels`).map((lv, k) => {
            const l = obj(lv, `${w}.tcbLevels[${k}]`);
            return {
              isvSvn: int(obj(l.tcb, `${w}.tcbLevels[${k}].tcb`).isvsvn, `${w}.tcbLevels[${k}].tcb.isvsvn`, 255),
              tcbDate: str(l.tcbDate, `${w}.tcbLevels[${k}].tcbDate`),
              status: status(l.tcbStatus, `${w}.tcbLevels[${k}].tcbStatus`, TCB_STATUSES),
              advisoryIds: advisories(l.advisoryIDs, `${w}.tcbLevels[${k}].advisoryIDs`),
            };
          }),
        };
      });
    }
  }
  return info;
}

/** Parses the signed `enclaveIdentity` text (Intel PCS API v4, Enclave Identity v2, id QE or TD_QE). */
export function parseQeIdentity(text: string): QeIdentity {
  const q = parseJson(text, 'QE identity');
  const id = str(q.id, 'enclaveIdentity.id');
  if (id !== 'QE' && id !== 'TD_QE') throw new CollateralFormatError(`QE identity id '${id}' is not QE or TD_QE`);
  const version = int(q.version, 'enclaveIdentity.version');
  if (version !== 2) throw new CollateralFormatError(`QE identity version ${version} is not supported (2)`);
  const levels = arr(q.tcbLevels, 'enclaveIdentity.tcbLevels');
  if (levels.length === 0) throw new CollateralFormatError('QE identity has no TCB levels');
  const u32 = (v: unknown, w: string) => Buffer.from(hexBytes(v, w, 4)).readUInt32BE(0);
  return {
    id, version,
    issueDate: date(q.issueDate, 'enclaveIdentity.issueDate'),
    nextUpdate: date(q.nextUpdate, 'enclaveIdentity.nextUpdate'),
    tcbEvaluationDataNumber: int(q.tcbEvaluationDataNumber, 'enclaveIdentity.tcbEvaluationDataNumber', 0xffffffff),
    miscselect: u32(q.miscselect, 'enclaveIdentity.miscselect'),
    miscselectMask: u32(q.miscselectMask, 'enclaveIdentity.miscselectMask'),
    attributes: hexBytes(q.attributes, 'enclaveIdentity.attributes', 16),
    attributesMask: hexBytes(q.attributesMask, 'enclaveIdentity.attributesMask', 16),
    mrSigner: hexBytes(q.mrsigner, 'enclaveIdentity.mrsigner', 32),
    isvProdId: int(q.isvprodid, 'enclaveIdentity.isvprodid'),
    tcbLevels: levels.map((lv, i) => {
      const w = `enclaveIdentity.tcbLevels[${i}]`;
      const l = obj(lv, w);
      return {
        isvSvn: int(obj(l.tcb, `${w}.tcb`).isvsvn, `${w}.tcb.isvsvn`),
        tcbDate: str(l.tcbDate, `${w}.tcbDate`),
        status: status(l.tcbStatus, `${w}.tcbStatus`, ['UpToDate', 'OutOfDate', 'Revoked'] as const),
        advisoryIds: advisories(l.advisoryIDs, `${w}.advisoryIDs`),
      };
    }),
  };
}
