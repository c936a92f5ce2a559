// DEVELOPMENT ONLY. Assembles real-format DCAP quotes (SGX v3 per the Intel SGX ECDSA Quote
// Library API, TDX v4/v5 per the Intel TDX DCAP Quote Generation Library) signed by keys of the test
// PKI. A production node never trusts the test root, so these quotes only pass where a config
// names that root explicitly.
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { concatBytes } from '../../crypto/bytes.js';
import { INTEL_QE_VENDOR_ID } from '../quote.js';

const u16 = (v: number) => { const b = new Uint8Array(2); new DataView(b.buffer).setUint16(0, v, true); return b; };
const u32 = (v: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v, true); return b; };

function fixed(v: Uint8Array | undefined, len: number, name: string): Uint8Array {
  const out = new Uint8Array(len);
  if (v === undefined) return out;
  if (v.length !== len) throw new RangeError(`${name} must be ${len} bytes, got ${v.length}`);
  out.set(v);
  return out;
}

export interface SgxReportFields {
  cpuSvn?: Uint8Array;
  miscSelect?: number;
  attributes?: Uint8Array;
  mrEnclave?: Uint8Array;
  mrSigner?: Uint8Array;
  isvProdId?: number;
  isvSvn?: number;
  reportData?: Uint8Array;
}

/** sgx_report_body_t, 384 bytes. */
export function encodeSgxReportBody(f: SgxReportFields): Uint8Array {
  return concatBytes(
    fixed(f.cpuSvn, 16, 'cpuSvn'), u32(f.miscSelect ?? 0), new Uint8Array(12), new Uint8Array(16),
    fixed(f.attributes, 16, 'attributes'), fixed(f.mrEnclave, 32, 'mrEnclave'), new Uint8Array(32),
    fixed(f.mrSigner, 32, 'mrSigner'), new Uint8Array(32), new Uint8Array(64),
    u16(f.isvProdId ?? 0), u16(f.isvSvn ?? 0), u16(0), new Uint8Array(42), new Uint8Array(16),
    fixed(f.reportData, 64, 'reportData'));
}

export interface TdReportFields {
  teeTcbSvn?: Uint8Array;
  mrSeam?: Uint8Array;
  mrSignerSeam?: Uint8Array;
  seamAttributes?: Uint8Array;
  tdAttributes?: Uint8Array;
  xfam?: Uint8Array;
  mrTd?: Uint8Array;
  mrConfigId?: Uint8Array;
  mrOwner?: Uint8Array;
  mrOwnerConfig?: Uint8Array;
  rtmrs?: Uint8Array[];
  reportData?: Uint8Array;
  /** TD report 1.5 only. */
  teeTcbSvn2?: Uint8Array;
  mrServiceTd?: Uint8Array;
}

/** TD report body 1.0, 584 bytes. */
export function encodeTdReport10(f: TdReportFields): Uint8Array {
  const rtmrs = f.rtmrs ?? [];
  if (rtmrs.length > 4) throw new RangeError('at most 4 RTMRs');
  return concatBytes(
    fixed(f.teeTcbSvn, 16, 'teeTcbSvn'), fixed(f.mrSeam, 48, 'mrSeam'), fixed(f.mrSignerSeam, 48, 'mrSignerSeam'),
    fixed(f.seamAttributes, 8, 'seamAttributes'), fixed(f.tdAttributes, 8, 'tdAttributes'), fixed(f.xfam, 8, 'xfam'),
    fixed(f.mrTd, 48, 'mrTd'), fixed(f.mrConfigId, 48, 'mrConfigId'), fixed(f.mrOwner, 48, 'mrOwner'),
    fixed(f.mrOwnerConfig, 48, 'mrOwnerConfig'),
    ...[0, 1, 2, 3].map((i) => fixed(rtmrs[i], 48, `rtmrs[${i}]`)), fixed(f.reportData, 64, 'reportData'));
}

/** TD report body 1.5, 648 bytes: 1.0 followed by TEE_TCB_SVN_2 and MRSERVICETD. */
export function encodeTdReport15(f: TdReportFields): Uint8Array {
  return concatBytes(encodeTdReport10(f), fixed(f.teeTcbSvn2, 16, 'teeTcbSvn2'), fixed(f.mrServiceTd, 48, 'mrServiceTd'));
}

export interface QuoteSigningInputs {
  /** PCK leaf private key: signs the QE report. */
  pckKey: KeyObject;
  /** PEM chain written into certification data type 5 (leaf, CA, root), NUL-terminated like the real QE. */
  pckChainPem: string;
  /** QE report fields (the builder fills report_data with the attestation-key binding). */
  qeReport: SgxReportFields;
  qeAuthData?: Uint8Array;
  qeSvn?: number;
  pceSvn?: number;
  /** Zero padding after the signature data. */
  padding?: number;
}

function rawPublicKey(key: KeyObject): Uint8Array {
  const spki = key.export({ format: 'der', type: 'spki' });
  return Uint8Array.from(spki.subarray(spki.length - 64));
}

const sig = (data: Uint8Array, key: KeyObject) => Uint8Array.from(sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' }));

/** Header, body (v5: with its body descriptor), ECDSA quote signature data (type 6 wrapper on v4/v5). */
export function assembleQuote(version: 3 | 4 | 5, body: Uint8Array, s: QuoteSigningInputs, bodyType = 3): Uint8Array {
  const att = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const attPub = rawPublicKey(att.publicKey);
  const qeAuthData = s.qeAuthData ?? new Uint8Array(32).map((_, i) => i);
  const binding = createHash('sha256').update(attPub).update(qeAuthData).digest();
  const qeReport = encodeSgxReportBody({ ...s.qeReport, reportData: concatBytes(binding, new Uint8Array(32)) });
  const qeReportSig = sig(qeReport, s.pckKey);
  const header = concatBytes(u16(version), u16(2), u32(version === 3 ? 0 : 0x81), u16(s.qeSvn ?? 8), u16(s.pceSvn ?? 13),
    Uint8Array.from(Buffer.from(INTEL_QE_VENDOR_ID, 'hex')), new Uint8Array(20));
  const signed = version === 5 ? concatBytes(header, u16(bodyType), u32(body.length), body) : concatBytes(header, body);
  const quoteSig = sig(signed, att.privateKey);
  const cert = Uint8Array.from(Buffer.from(s.pckChainPem + '\0', 'latin1'));
  const certData = concatBytes(u16(5), u32(cert.length), cert);
  const qeBlock = concatBytes(qeReport, qeReportSig, u16(qeAuthData.length), qeAuthData, certData);
  const sigData = version === 3
    ? concatBytes(quoteSig, attPub, qeBlock)
    : concatBytes(quoteSig, attPub, u16(6), u32(qeBlock.length), qeBlock);
  return concatBytes(signed, u32(sigData.length), sigData, new Uint8Array(s.padding ?? 0));
}
