// Intel DCAP ECDSA quote parsing: SGX quote v3 (Intel SGX ECDSA Quote Library API, appendix
// "Quote Format"), TDX quote v4 and v5 (Intel TDX DCAP Quote Generation Library and Quote
// Verification Library, "Quote Format" / TD report 1.0 and 1.5 bodies).
//
// Parsing is strict and total: every length is checked against the buffer and against the
// enclosing length field, `sig_data_len` must equal the nested lengths exactly, only
// certification data type 5 (PCK chain) is accepted (wrapped in type 6 "QE report certification
// data" on v4/v5), and bytes after the signature data are tolerated only when all zero (real TDX
// buffers carry zero padding). Any defect throws QuoteParseError and nothing else.

/** The quote bytes are malformed or use a format this verifier does not support. */
export class QuoteParseError extends Error {
  override name = 'QuoteParseError';
}

export const QUOTE_HEADER_LEN = 48;
export const SGX_REPORT_BODY_LEN = 384;
export const TD_REPORT10_LEN = 584;
export const TD_REPORT15_LEN = 648;
export const ECDSA_SIG_LEN = 64;
export const ECDSA_P256_KEY_LEN = 64;

export const ATTESTATION_KEY_TYPE_ECDSA_P256 = 2;
export const TEE_TYPE_SGX = 0x00000000;
export const TEE_TYPE_TDX = 0x00000081;
/** Body types of the v5 "Quote Body Descriptor". */
export const BODY_SGX_ENCLAVE_REPORT = 1;
export const BODY_TD_REPORT10 = 2;
export const BODY_TD_REPORT15 = 3;
/** Certification data types (Intel SGX ECDSA Quote Library API, table "Certification Data Type"). */
export const CERT_TYPE_PCK_CHAIN = 5;
export const CERT_TYPE_QE_REPORT = 6;
/** QE vendor ID of the Intel quoting enclave. */
export const INTEL_QE_VENDOR_ID = '939a7233f79c4ca9940a0db3957f0607';

export interface QuoteHeader {
  version: number;
  attestationKeyType: number;
  teeType: number;
  qeSvn: number;
  pceSvn: number;
  qeVendorId: Uint8Array;
  userData: Uint8Array;
}

/** SGX enclave report body (sgx_report_body_t), also the layout of the QE report. */
export interface SgxReportBody {
  cpuSvn: Uint8Array;
  miscSelect: number;
  isvExtProdId: Uint8Array;
  attributes: Uint8Array;
  mrEnclave: Uint8Array;
  mrSigner: Uint8Array;
  configId: Uint8Array;
  isvProdId: number;
  isvSvn: number;
  configSvn: number;
  isvFamilyId: Uint8Array;
  reportData: Uint8Array;
}

/** TD report body 1.0 (v4, v5 type 2) and 1.5 (v5 type 3: adds teeTcbSvn2 and mrServiceTd). */
export interface TdReportBody {
  teeTcbSvn: Uint8Array;
  mrSeam: Uint8Array;
  mrSignerSeam: Uint8Array;
  seamAttributes: Uint8Array;
  tdAttributes: Uint8Array;
  xfam: Uint8Array;
  mrTd: Uint8Array;
  mrConfigId: Uint8Array;
  mrOwner: Uint8Array;
  mrOwnerConfig: Uint8Array;
  rtmrs: [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  reportData: Uint8Array;
  teeTcbSvn2?: Uint8Array;
  mrServiceTd?: Uint8Array;
}

interface QuoteCommon {
  /** The whole quote as parsed (a private copy of the input, without trailing padding). */
  raw: Uint8Array;
  header: QuoteHeader;
  version: 3 | 4 | 5;
  bodyType: number;
  /** Header and body (with the v5 body descriptor): the bytes the quote signature covers. */
  signedBytes: Uint8Array;
  signature: Uint8Array;
  attestationKey: Uint8Array;
  qeReportBytes: Uint8Array;
  qeReport: SgxReportBody;
  qeReportSignature: Uint8Array;
  qeAuthData: Uint8Array;
  certificationDataType: number;
  /** Certification data of type 5: the PCK certificate chain in PEM, leaf first. */
  certificationData: Uint8Array;
  /** Number of all-zero bytes that followed the signature data. */
  paddingLength: number;
}

export interface SgxQuote extends QuoteCommon { tee: 'SGX'; report: SgxReportBody }
export interface TdxQuote extends QuoteCommon { tee: 'TDX'; report: TdReportBody }
export type Quote = SgxQuote | TdxQuote;

class Reader {
  off = 0;
  constructor(private readonly b: Uint8Array, private readonly view: DataView) {}
  need(n: number, what: string): void {
    if (n < 0 || this.off + n > this.b.length) {
      throw new QuoteParseError(
        `quote truncated: ${what} needs ${n} bytes at offset ${this.off}, only ${this.b.length - this.off} left`);
    }
  }
  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.b.subarray(this.off, this.off + n);
    this.off += n;
    return out;
  }
  u16(what: string): number { this.need(2, what); const v = this.view.getUint16(this.off, true); this.off += 2; return v; }
  u32(what: string): number { this.need(4, what); const v = this.view.getUint32(this.off, true); this.off += 4; return v; }
}

function parseHeader(r: Reader): QuoteHeader {
  const version = r.u16('header.version');
  const attestationKeyType = r.u16('header.att_key_type');
  const teeType = r.u32('header.tee_type');
  const qeSvn = r.u16('header.qe_svn');
  const pceSvn = r.u16('header.pce_svn');
  const qeVendorId = r.bytes(16, 'header.qe_vendor_id');
  const userData = r.bytes(20, 'header.user_data');
  return { version, attestationKeyType, teeType, qeSvn, pceSvn, qeVendorId, userData };
}

/** Parses a 384-byte SGX report body (sgx_report_body_t). */
export function parseSgxReportBody(b: Uint8Array): SgxReportBody {
  if (b.length !== SGX_REPORT_BODY_LEN) throw new QuoteParseError(`SGX report body must be 384 bytes, got ${b.length}`);
  const r = new Reader(b, new DataView(b.buffer, b.byteOffset, b.byteLength));
  const cpuSvn = r.bytes(16, 'cpu_svn');
  const miscSelect = r.u32('misc_select');
  r.bytes(12, 'reserved1');
  const isvExtProdId = r.bytes(16, 'isv_ext_prod_id');
  const attributes = r.bytes(16, 'attributes');
  const mrEnclave = r.bytes(32, 'mr_enclave');
  r.bytes(32, 'reserved2');
  const mrSigner = r.bytes(32, 'mr_signer');
  r.bytes(32, 'reserved3');
  const configId = r.bytes(64, 'config_id');
  const isvProdId = r.u16('isv_prod_id');
  const isvSvn = r.u16('isv_svn');
  const configSvn = r.u16('config_svn');
  r.bytes(42, 'reserved4');
  const isvFamilyId = r.bytes(16, 'isv_family_id');
  const reportData = r.bytes(64, 'report_data');
  return { cpuSvn, miscSelect, isvExtProdId, attributes, mrEnclave, mrSigner, configId, isvProdId, isvSvn,
    configSvn, isvFamilyId, reportData };
}

function parseTdReport(b: Uint8Array, v15: boolean): TdReportBody {
  const r = new Reader(b, new DataView(b.buffer, b.byteOffset, b.byteLength));
  const teeTcbSvn = r.bytes(16, 'tee_tcb_svn');
  const mrSeam = r.bytes(48, 'mr_seam');
  const mrSignerSeam = r.bytes(48, 'mr_signer_seam');
  const seamAttributes = r.bytes(8, 'seam_attributes');
  const tdAttributes = r.bytes(8, 'td_attributes');
  const xfam = r.bytes(8, 'xfam');
  const mrTd = r.bytes(48, 'mr_td');
  const mrConfigId = r.bytes(48, 'mr_config_id');
  const mrOwner = r.bytes(48, 'mr_owner');
  const mrOwnerConfig = r.bytes(48, 'mr_owner_config');
  const rtmrs: [Uint8Array, Uint8Array, Uint8Array, Uint8Array] =
    [r.bytes(48, 'rtmr0'), r.bytes(48, 'rtmr1'), r.bytes(48, 'rtmr2'), r.bytes(48, 'rtmr3')];
  const reportData = r.bytes(64, 'report_data');
  const body: TdReportBody = { teeTcbSvn, mrSeam, mrSignerSeam, seamAttributes, tdAttributes, xfam, mrTd,
    mrConfigId, mrOwner, mrOwnerConfig, rtmrs, reportData };
  if (v15) {
    body.teeTcbSvn2 = r.bytes(16, 'tee_tcb_svn_2');
    body.mrServiceTd = r.bytes(48, 'mr_servicetd');
  }
  return body;
}

/**
 * Parses an SGX v3 or TDX v4/v5 ECDSA-P256 quote. Throws QuoteParseError (and nothing else) on
 * any malformed, truncated, over-long or unsupported input.
 */
export function parseQuote(input: Uint8Array): Quote {
  try {
    return parseQuoteInner(input);
  } catch (err) {
    if (err instanceof QuoteParseError) throw err;
    // Defensive: a bug above must still surface as a parse failure, never as a crash.
    throw new QuoteParseError(`quote could not be parsed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function parseQuoteInner(input: Uint8Array): Quote {
  if (!(input instanceof Uint8Array)) throw new QuoteParseError('quote must be a byte array');
  const b = Uint8Array.from(input);
  const r = new Reader(b, new DataView(b.buffer, b.byteOffset, b.byteLength));
  const header = parseHeader(r);
  const { version, teeType } = header;
  if (version !== 3 && version !== 4 && version !== 5) {
    throw new QuoteParseError(`unsupported quote version ${version} (supported: SGX v3, TDX v4 and v5)`);
  }
  if (header.attestationKeyType !== ATTESTATION_KEY_TYPE_ECDSA_P256) {
    throw new QuoteParseError(`unsupported attestation key type ${header.attestationKeyType} (only 2 = ECDSA-256 with P-256)`);
  }
  let tee: 'SGX' | 'TDX';
  let bodyType: number;
  let body: Uint8Array;
  if (version === 3) {
    if (teeType !== TEE_TYPE_SGX) throw new QuoteParseError(`quote v3 must be SGX (tee_type 0), got 0x${teeType.toString(16)}`);
    tee = 'SGX';
    bodyType = BODY_SGX_ENCLAVE_REPORT;
    body = r.bytes(SGX_REPORT_BODY_LEN, 'SGX report body');
  } else {
    if (teeType !== TEE_TYPE_TDX) {
      throw new QuoteParseError(`quote v${version} with tee_type 0x${teeType.toString(16)} is not supported (only TDX, 0x81)`);
    }
    tee = 'TDX';
    if (version === 4) {
      bodyType = BODY_TD_REPORT10;
      body = r.bytes(TD_REPORT10_LEN, 'TD report body');
    } else {
      bodyType = r.u16('body_type');
      const bodySize = r.u32('body_size');
      const want = bodyType === BODY_TD_REPORT10 ? TD_REPORT10_LEN : bodyType === BODY_TD_REPORT15 ? TD_REPORT15_LEN : -1;
      if (want < 0) throw new QuoteParseError(`unsupported v5 quote body type ${bodyType} (supported: 2 = TD report 1.0, 3 = TD report 1.5)`);
      if (bodySize !== want) throw new QuoteParseError(`v5 body type ${bodyType} must be ${want} bytes, body_size says ${bodySize}`);
      body = r.bytes(bodySize, 'TD report body');
    }
  }
  const signedLen = r.off;
  const sigDataLen = r.u32('sig_data_len');
  const sigStart = r.off;
  r.need(sigDataLen, 'signature data');

  const signature = r.bytes(ECDSA_SIG_LEN, 'quote signature');
  const attestationKey = r.bytes(ECDSA_P256_KEY_LEN, 'attestation key');
  let certTypeOuter: number | undefined;
  let outerEnd = -1;
  if (version >= 4) {
    certTypeOuter = r.u16('certification data type');
    if (certTypeOuter !== CERT_TYPE_QE_REPORT) {
      throw new QuoteParseError(`unsupported certification data type ${certTypeOuter} on quote v${version} (expected 6, QE report certification data)`);
    }
    const outerSize = r.u32('certification data size');
    r.need(outerSize, 'QE report certification data');
    outerEnd = r.off + outerSize;
  }
  const qeReportBytes = r.bytes(SGX_REPORT_BODY_LEN, 'QE report');
  const qeReportSignature = r.bytes(ECDSA_SIG_LEN, 'QE report signature');
  const authLen = r.u16('QE auth data size');
  const qeAuthData = r.bytes(authLen, 'QE auth data');
  const certificationDataType = r.u16('certification data type');
  if (certificationDataType !== CERT_TYPE_PCK_CHAIN) {
    throw new QuoteParseError(`unsupported certification data type ${certificationDataType} (only 5, the PCK certificate chain, is supported; the quote carries no PCK chain)`);
  }
  const certSize = r.u32('certification data size');
  const certificationData = r.bytes(certSize, 'PCK certificate chain');
  if (outerEnd >= 0 && r.off !== outerEnd) {
    throw new QuoteParseError(`QE report certification data (type 6) declares ${outerEnd - sigStart - 134} bytes but its contents are ${r.off - sigStart - 134} bytes`);
  }
  if (r.off - sigStart !== sigDataLen) {
    throw new QuoteParseError(`sig_data_len is ${sigDataLen} but the nested signature data is ${r.off - sigStart} bytes`);
  }
  const end = r.off;
  for (let i = end; i < b.length; i++) {
    if (b[i] !== 0) throw new QuoteParseError(`non-zero byte at offset ${i} after the end of the signature data (offset ${end})`);
  }
  const common = {
    raw: b.subarray(0, end),
    header, version: version as 3 | 4 | 5, bodyType,
    signedBytes: b.subarray(0, signedLen),
    signature, attestationKey, qeReportBytes, qeReport: parseSgxReportBody(qeReportBytes), qeReportSignature,
    qeAuthData, certificationDataType, certificationData, paddingLength: b.length - end,
  };
  if (tee === 'SGX') return { ...common, tee, report: parseSgxReportBody(body) };
  return { ...common, tee, report: parseTdReport(body, bodyType === BODY_TD_REPORT15) };
}
