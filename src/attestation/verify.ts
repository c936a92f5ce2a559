// Offline DCAP quote verification following Intel's Quote Verification Library (QVL)
// QuoteVerifier / TcbLevelCheck, section numbers 4.1.2.4.x of Intel's "ECDSA Quote Verification"
// flow, made strict: every CRL must be present, signed by its issuer and fresh; the root is pinned
// (never the one inside the quote); collateral is checked for issuer chain, signature over the
// exact signed bytes, id/version and dates.
//
// Everything that depends only on the collateral and the trusted root (CRL and collateral
// signatures, parsed documents) and on the PCK chain bytes (chain signatures, SGX extensions) is
// cached; what depends on `now` (every date) and on the quote (QE report, binding, quote
// signature, TCB matching) runs on every call.
import { createHash, createPublicKey, verify as cryptoVerify, X509Certificate, type KeyObject } from 'node:crypto';
import { isLoadedCollateral, loadCollateral, parseQeIdentity, parseTcbInfo, CollateralFormatError, type Collateral, type QeIdentity,
  type TcbInfo } from './collateral.js';
import { fail, VerificationError, type VerifyStep } from './errors.js';
import { parsePckExtensions, type PckExtensions } from './pck-extensions.js';
import { INTEL_QE_VENDOR_ID, parseQuote, QuoteParseError, type Quote } from './quote.js';
import { checkTcbLevel, verifyQeReportAgainstIdentity, type QuoteTcbStatus } from './tcb.js';
import { checkCrlDates, checkCrlSignedBy, checkIssuedBy, checkNotRevoked, checkValidity, parseCertDer, parseCrlHex,
  parsePemChain, type ParsedCert, type ParsedCrl } from './x509.js';
import { BoundedCache } from '../util/bounded-cache.js';

export interface VerifyOptions {
  /** Verification time: a Date or Unix seconds. */
  now: Date | number;
  /** The pinned root: the Intel SGX Root CA in production (INTEL_SGX_ROOT_CA_DER), a test root in development. */
  trustedRoot: Uint8Array | X509Certificate;
  /** Shared caches; defaults to one process-wide cache. */
  cache?: VerificationCache;
  /** Refuse TCB info / QE identity older than this TCB evaluation data number. */
  minTcbEvaluationDataNumber?: number;
}

interface VerdictCommon {
  quoteVersion: 3 | 4 | 5;
  /** Intel's TCB status after convergence with the QE (and TDX module) status. */
  status: QuoteTcbStatus;
  advisoryIds: string[];
  /** The smaller of the TCB info's and the QE identity's evaluation data numbers. */
  tcbEvaluationDataNumber: number;
  tcbDate: string;
  fmspc: string;
  /** report_data, hex (64 bytes). */
  reportData: string;
}

export interface SgxVerdict extends VerdictCommon {
  ok: true; tee: 'SGX';
  mrEnclave: string; mrSigner: string; isvProdId: number; isvSvn: number; attributes: string; miscSelect: number;
  configSvn: number; configId: string;
  /** ATTRIBUTES.DEBUG is set: the enclave's memory is readable by the host. */
  debug: boolean;
}

export interface TdxVerdict extends VerdictCommon {
  ok: true; tee: 'TDX';
  mrTd: string; rtmrs: [string, string, string, string]; tdAttributes: string; xfam: string; mrConfigId: string;
  mrOwner: string; mrOwnerConfig: string; mrSeam: string; mrSignerSeam: string; teeTcbSvn: string;
  /** TD_ATTRIBUTES.TUD.DEBUG is set. */
  debug: boolean;
  /** TD_ATTRIBUTES.SEC.SEPT_VE_DISABLE is set (EPT violations are not reflected into the TD). */
  septVeDisable: boolean;
}

export interface RejectedVerdict {
  ok: false;
  step: VerifyStep;
  error: string;
  tee?: 'SGX' | 'TDX';
  quoteVersion?: number;
}

export type AcceptedVerdict = SgxVerdict | TdxVerdict;
export type Verdict = AcceptedVerdict | RejectedVerdict;

interface VerifiedCollateral {
  rootCrl: ParsedCrl;
  tcbInfo: TcbInfo;
  tcbChain: ParsedCert[];
  qeIdentity: QeIdentity;
  qeChain: ParsedCert[];
  pckCrl: ParsedCrl;
  pckCrlCa: ParsedCert;
}

interface VerifiedPckChain { leaf: ParsedCert; ca: ParsedCert; ext: PckExtensions }

/**
 * Parsed and verified collateral per (trusted root, collateral content), i.e. per FMSPC, CA and
 * collateral version, and verified PCK chains per chain bytes. Entries hold no secrets.
 */
export class VerificationCache {
  readonly roots = new BoundedCache<ParsedCert>(8);
  readonly collateral = new BoundedCache<VerifiedCollateral>(256);
  readonly pckChains = new BoundedCache<VerifiedPckChain>(4096);
  /** QE reports whose PCK signature verified (a platform's QE report repeats across its quotes). */
  readonly qeReports = new BoundedCache<true>(4096);
  readonly attestationKeys = new BoundedCache<KeyObject>(4096);
  readonly byObject = new WeakMap<Collateral, { key: string }>();
}

const defaultCache = new VerificationCache();

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const sha256hex = (...parts: (string | Uint8Array)[]) => {
  const h = createHash('sha256');
  for (const p of parts) { h.update(p); h.update('\x00'); }
  return h.digest('hex');
};

function trustedRootOf(root: Uint8Array | X509Certificate, cache: VerificationCache): { cert: ParsedCert; fp: string } {
  const der = root instanceof X509Certificate ? Uint8Array.from(root.raw) : root;
  if (!(der instanceof Uint8Array) || der.length === 0) fail('input', 'trustedRoot must be a DER certificate');
  const fp = sha256hex(der);
  const hit = cache.roots.get(fp);
  if (hit) return { cert: hit, fp };
  const cert = parseCertDer(Uint8Array.from(der), 'trusted-root', 'trusted root');
  checkIssuedBy(cert, cert, 'trusted-root', 'trusted root (must be a self-signed CA)');
  cache.roots.set(fp, cert);
  return { cert, fp };
}

function sameDer(a: ParsedCert, b: ParsedCert): boolean {
  return Buffer.compare(Buffer.from(a.der), Buffer.from(b.der)) === 0;
}

/** An issuer chain from collateral: [signer, (root)]; a root, if present, must be the pinned one. */
function issuerChain(pem: string, root: ParsedCert, step: VerifyStep, what: string, expectCn: string): ParsedCert[] {
  const chain = parsePemChain(pem, step, `${what} issuer chain`);
  if (chain.length > 2) fail(step, `${what} issuer chain has ${chain.length} certificates, expected the signer and the root`);
  const signer = chain[0]!;
  if (chain[1] !== undefined && !sameDer(chain[1], root)) {
    fail(step, `${what} issuer chain ends in a root that is not the pinned trusted root`);
  }
  if (!signer.subjectCn.includes(expectCn)) fail(step, `${what} is signed by '${signer.subjectCn}', expected '${expectCn}'`);
  checkIssuedBy(signer, root, step, `${what} signer '${signer.subjectCn}'`);
  return [signer, root];
}

function rawSignatureOk(key: KeyObject, data: Uint8Array, sig: Uint8Array): boolean {
  if (sig.length !== 64) return false;
  try {
    return cryptoVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig);
  } catch {
    return false;
  }
}

function signedDocument<T>(text: string, sigHex: string, signer: ParsedCert, step: VerifyStep, what: string,
  parse: (t: string) => T): T {
  const sig = Uint8Array.from(Buffer.from(sigHex, 'hex'));
  if (sig.length !== 64) fail(step, `${what} signature must be 64 bytes (r||s), got ${sig.length}`);
  if (!rawSignatureOk(signer.publicKey, Buffer.from(text, 'utf8'), sig)) {
    fail(step, `${what} signature does not verify with '${signer.subjectCn}' over the exact signed text`);
  }
  try {
    return parse(text);
  } catch (err) {
    if (err instanceof CollateralFormatError) fail(step, `${what}: ${err.message}`);
    throw err;
  }
}

/** Checks of the collateral that do not depend on `now` or on the quote (cached). */
function verifyCollateralStatic(c: Collateral, root: ParsedCert): VerifiedCollateral {
  // Root CA CRL: issued and signed by the pinned root.
  const rootCrl = parseCrlHex(c.root_ca_crl, 'root-crl', 'root CA CRL');
  checkCrlSignedBy(rootCrl, root, 'root-crl', 'root CA CRL');
  // 4.1.2.4.8 TCB info and QE identity: TCB Signing chain to the pinned root, signature over the exact text.
  const tcbChain = issuerChain(c.tcb_info_issuer_chain, root, 'tcb-info', 'TCB info', 'Intel SGX TCB Signing');
  const tcbInfo = signedDocument(c.tcb_info, c.tcb_info_signature, tcbChain[0]!, 'tcb-info', 'TCB info', parseTcbInfo);
  const qeChain = issuerChain(c.qe_identity_issuer_chain, root, 'qe-identity', 'QE identity', 'Intel SGX TCB Signing');
  const qeIdentity = signedDocument(c.qe_identity, c.qe_identity_signature, qeChain[0]!, 'qe-identity', 'QE identity',
    parseQeIdentity);
  // PCK CRL: signed by the PCK CA named in its issuer chain, which itself chains to the pinned root.
  const crlChain = parsePemChain(c.pck_crl_issuer_chain, 'pck-crl', 'PCK CRL issuer chain');
  if (crlChain.length > 2) fail('pck-crl', `PCK CRL issuer chain has ${crlChain.length} certificates, expected the CA and the root`);
  const pckCrlCa = crlChain[0]!;
  if (crlChain[1] !== undefined && !sameDer(crlChain[1], root)) fail('pck-crl', 'PCK CRL issuer chain ends in a root that is not the pinned trusted root');
  checkIssuedBy(pckCrlCa, root, 'pck-crl', `PCK CRL issuer '${pckCrlCa.subjectCn}'`);
  const pckCrl = parseCrlHex(c.pck_crl, 'pck-crl', 'PCK CRL');
  checkCrlSignedBy(pckCrl, pckCrlCa, 'pck-crl', 'PCK CRL');
  return { rootCrl, tcbInfo, tcbChain, qeIdentity, qeChain, pckCrl, pckCrlCa };
}

function collateralOf(c: Collateral, root: ParsedCert, rootFp: string, cache: VerificationCache): VerifiedCollateral {
  let key = cache.byObject.get(c)?.key;
  if (key === undefined) {
    key = sha256hex(c.root_ca_crl, c.pck_crl, c.pck_crl_issuer_chain, c.tcb_info, c.tcb_info_signature,
      c.tcb_info_issuer_chain, c.qe_identity, c.qe_identity_signature, c.qe_identity_issuer_chain);
    if (isLoadedCollateral(c)) cache.byObject.set(c, { key });
  }
  const full = `${rootFp}:${key}`;
  const hit = cache.collateral.get(full);
  if (hit) return hit;
  const v = verifyCollateralStatic(c, root);
  cache.collateral.set(full, v);
  return v;
}

/** Checks of the collateral at time `now` (ms): every certificate, CRL and document date. */
function verifyCollateralAt(v: VerifiedCollateral, now: number, minEval: number | undefined): void {
  checkCrlDates(v.rootCrl, now, 'root-crl', 'root CA CRL');
  for (const [doc, chain, step, what] of [[v.tcbInfo, v.tcbChain, 'tcb-info', 'TCB info'],
    [v.qeIdentity, v.qeChain, 'qe-identity', 'QE identity']] as const) {
    const signer = chain[0]!;
    checkValidity(signer, now, step, `${what} signing certificate '${signer.subjectCn}'`);
    checkNotRevoked(v.rootCrl, signer, step, `${what} signing certificate`);
    if (now < doc.issueDate) fail(step, `${what} is not yet valid (issueDate ${new Date(doc.issueDate).toISOString()})`);
    if (now > doc.nextUpdate) fail(step, `${what} has expired (nextUpdate ${new Date(doc.nextUpdate).toISOString()} is in the past)`);
    if (minEval !== undefined && doc.tcbEvaluationDataNumber < minEval) {
      fail(step, `${what} has TCB evaluation data number ${doc.tcbEvaluationDataNumber}, below the required minimum ${minEval}`);
    }
  }
  checkValidity(v.pckCrlCa, now, 'pck-crl', `PCK CRL issuer '${v.pckCrlCa.subjectCn}'`);
  checkNotRevoked(v.rootCrl, v.pckCrlCa, 'pck-crl', `PCK CRL issuer '${v.pckCrlCa.subjectCn}'`);
  checkCrlDates(v.pckCrl, now, 'pck-crl', 'PCK CRL');
}

const PCK_CA_NAMES = ['Intel SGX PCK Platform CA', 'Intel SGX PCK Processor CA'];

/** 4.1.2.4.3-4: the PCK chain in the quote, leaf and CA, up to the pinned root (cached by chain bytes). */
function pckChainOf(q: Quote, root: ParsedCert, rootFp: string, cache: VerificationCache): VerifiedPckChain {
  const text = Buffer.from(q.certificationData).toString('latin1');
  const key = `${rootFp}:${text}`;
  const hit = cache.pckChains.get(key);
  if (hit) return hit;
  const certs = parsePemChain(text, 'pck-chain', 'PCK certificate chain in the quote');
  if (certs.length < 2 || certs.length > 3) fail('pck-chain', `PCK certificate chain has ${certs.length} certificates, expected leaf, CA and root`);
  const [leaf, ca, quotedRoot] = certs as [ParsedCert, ParsedCert, ParsedCert | undefined];
  // The quote's own root is never trusted: it must be byte-identical to the pinned root.
  if (quotedRoot !== undefined && !sameDer(quotedRoot, root)) {
    fail('trusted-root', `the root certificate inside the quote ('${quotedRoot.subjectCn}') is not the pinned trusted root`);
  }
  if (!leaf.subjectCn.includes('SGX PCK Certificate')) fail('pck-chain', `PCK leaf CN '${leaf.subjectCn}' does not contain 'SGX PCK Certificate'`);
  if (!PCK_CA_NAMES.includes(ca.subjectCn)) {
    fail('pck-chain', `PCK CA CN '${ca.subjectCn}' is not an SGX PCK Platform or Processor CA`);
  }
  checkIssuedBy(ca, root, 'pck-chain', `PCK CA '${ca.subjectCn}'`);
  checkIssuedBy(leaf, ca, 'pck-chain', 'PCK leaf certificate');
  const ext = parsePckExtensions(leaf.asn);
  const v = { leaf, ca, ext };
  cache.pckChains.set(key, v);
  return v;
}

const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

function attestationKeyOf(raw: Uint8Array, cache: VerificationCache): KeyObject {
  const k = hex(raw);
  const hit = cache.attestationKeys.get(k);
  if (hit) return hit;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.concat([P256_SPKI_PREFIX, Buffer.from([4]), raw]), format: 'der', type: 'spki' });
  } catch {
    return fail('quote-signature', 'the attestation key in the quote is not a valid P-256 public key');
  }
  cache.attestationKeys.set(k, key);
  return key;
}

function toMillis(now: Date | number): number {
  const ms = now instanceof Date ? now.getTime() : typeof now === 'number' ? now * 1000 : NaN;
  if (!Number.isFinite(ms)) fail('input', 'now must be a Date or a Unix time in seconds');
  return ms;
}

function verifyInner(collateral: Collateral, opts: VerifyOptions, q: Quote): AcceptedVerdict {
  const cache = opts.cache ?? defaultCache;
  const now = toMillis(opts.now);
  const { cert: root, fp: rootFp } = trustedRootOf(opts.trustedRoot, cache);
  checkValidity(root, now, 'trusted-root', `trusted root '${root.subjectCn}'`);
  if (hex(q.header.qeVendorId) !== INTEL_QE_VENDOR_ID) fail('header', `QE vendor ID ${hex(q.header.qeVendorId)} is not Intel's quoting enclave`);

  const col = collateralOf(collateral, root, rootFp, cache);
  verifyCollateralAt(col, now, opts.minTcbEvaluationDataNumber);

  const pck = pckChainOf(q, root, rootFp, cache);
  checkValidity(pck.ca, now, 'pck-chain', `PCK CA '${pck.ca.subjectCn}'`);
  checkValidity(pck.leaf, now, 'pck-chain', 'PCK leaf certificate');
  checkNotRevoked(col.rootCrl, pck.ca, 'pck-chain', `PCK CA '${pck.ca.subjectCn}'`);
  // 4.1.2.4.6-7: the PCK CRL is the one of this leaf's issuer, and does not list the leaf.
  if (!sameDer(pck.ca, col.pckCrlCa)) {
    fail('pck-crl', `PCK CRL is issued by '${col.pckCrlCa.subjectCn}', but the PCK leaf is issued by '${pck.ca.subjectCn}'`);
  }
  checkNotRevoked(col.pckCrl, pck.leaf, 'pck-crl', 'PCK leaf certificate');

  // 4.1.2.4.9-10: the TCB info is for this TEE, FMSPC and PCE.
  const info = col.tcbInfo;
  if (info.id !== q.tee) fail('tcb-info-mismatch', `TCB info is for ${info.id} but the quote is ${q.tee}`);
  if (info.fmspc !== pck.ext.fmspc) fail('tcb-info-mismatch', `TCB info is for FMSPC ${info.fmspc} but the PCK certificate has FMSPC ${pck.ext.fmspc}`);
  if (info.pceId !== pck.ext.pceId) fail('tcb-info-mismatch', `TCB info is for PCE-ID ${info.pceId} but the PCK certificate has PCE-ID ${pck.ext.pceId}`);

  // 4.1.2.4.12: the QE report is signed by the PCK key.
  const qeKey = `${pck.leaf.node.fingerprint256}:${hex(q.qeReportBytes)}:${hex(q.qeReportSignature)}`;
  if (cache.qeReports.get(qeKey) === undefined) {
    if (!rawSignatureOk(pck.leaf.publicKey, q.qeReportBytes, q.qeReportSignature)) {
      fail('qe-report-signature', 'the QE report signature does not verify with the PCK certificate key');
    }
    cache.qeReports.set(qeKey, true);
  }
  // 4.1.2.4.13: the QE vouches for the attestation key: report_data = SHA-256(key || auth data) || 32 zero bytes.
  const binding = createHash('sha256').update(q.attestationKey).update(q.qeAuthData).digest();
  const rd = q.qeReport.reportData;
  if (!binding.equals(rd.subarray(0, 32)) || rd.subarray(32).some((x) => x !== 0)) {
    fail('qe-report-data', 'the QE report does not bind the attestation key and QE authentication data (SHA-256 mismatch)');
  }
  // 4.1.2.4.14-15: QE identity for this TEE and match of the QE report.
  const qeId = col.qeIdentity;
  const wantQe = q.tee === 'SGX' ? 'QE' : 'TD_QE';
  if (qeId.id !== wantQe) fail('qe-identity-mismatch', `QE identity is '${qeId.id}' but a ${q.tee} quote needs '${wantQe}'`);
  const qeTcb = verifyQeReportAgainstIdentity(q.qeReport, qeId);
  // 4.1.2.4.16: the quote signature by the attestation key over header and body.
  if (!rawSignatureOk(attestationKeyOf(q.attestationKey, cache), q.signedBytes, q.signature)) {
    fail('quote-signature', 'the quote signature does not verify with the attestation key');
  }
  // 4.1.2.4.17: TCB level, TDX module, convergence.
  const tcb = checkTcbLevel(info, pck.ext, q, qeTcb);

  const common: VerdictCommon = {
    quoteVersion: q.version, status: tcb.status, advisoryIds: tcb.advisoryIds,
    tcbEvaluationDataNumber: Math.min(info.tcbEvaluationDataNumber, qeId.tcbEvaluationDataNumber),
    tcbDate: tcb.tcbDate, fmspc: info.fmspc, reportData: hex(q.report.reportData),
  };
  if (q.tee === 'SGX') {
    const r = q.report;
    return {
      ok: true, tee: 'SGX', ...common,
      mrEnclave: hex(r.mrEnclave), mrSigner: hex(r.mrSigner), isvProdId: r.isvProdId, isvSvn: r.isvSvn,
      attributes: hex(r.attributes), miscSelect: r.miscSelect, configSvn: r.configSvn, configId: hex(r.configId),
      debug: (r.attributes[0]! & 0x02) !== 0,
    };
  }
  const r = q.report;
  return {
    ok: true, tee: 'TDX', ...common,
    mrTd: hex(r.mrTd), rtmrs: [hex(r.rtmrs[0]), hex(r.rtmrs[1]), hex(r.rtmrs[2]), hex(r.rtmrs[3])],
    tdAttributes: hex(r.tdAttributes), xfam: hex(r.xfam), mrConfigId: hex(r.mrConfigId), mrOwner: hex(r.mrOwner),
    mrOwnerConfig: hex(r.mrOwnerConfig), mrSeam: hex(r.mrSeam), mrSignerSeam: hex(r.mrSignerSeam),
    teeTcbSvn: hex(r.teeTcbSvn),
    ...(r.teeTcbSvn2 && r.mrServiceTd ? { teeTcbSvn2: hex(r.teeTcbSvn2), mrServiceTd: hex(r.mrServiceTd) } : {}),
    debug: (r.tdAttributes[0]! & 0x01) !== 0,
    septVeDisable: (r.tdAttributes[3]! & 0x10) !== 0,
  };
}

/** The longest refusal text verifyQuote returns (characters); longer ones are cut with a marker. */
export const MAX_REFUSAL_CHARS = 600;
function boundRefusal(message: string): string {
  return message.length > MAX_REFUSAL_CHARS ? `${message.slice(0, MAX_REFUSAL_CHARS)} …[truncated]` : message;
}

/**
 * Verifies a DCAP quote against collateral at `opts.now`, trusting only `opts.trustedRoot`.
 * Never throws for bad quotes or collateral: a refusal is `{ ok: false, step, error }`.
 */
export function verifyQuote(quoteBytes: Uint8Array, collateral: Collateral, opts: VerifyOptions): Verdict {
  let q: Quote;
  try {
    q = parseQuote(quoteBytes);
  } catch (err) {
    return { ok: false, step: 'parse', error: err instanceof QuoteParseError ? boundRefusal(err.message) : 'quote could not be parsed' };
  }
  try {
    // Collateral from loadCollateral is frozen and already validated; anything else is validated here.
    const c = isLoadedCollateral(collateral) ? collateral : loadCollateral(collateral);
    return verifyInner(c, opts, q);
  } catch (err) {
    // Refusals quote input (names, fields): bounded here so no caller passes on an unbounded text.
    if (err instanceof VerificationError) return { ok: false, step: err.step, error: boundRefusal(err.message), tee: q.tee, quoteVersion: q.version };
    if (err instanceof CollateralFormatError) return { ok: false, step: 'collateral', error: boundRefusal(err.message), tee: q.tee, quoteVersion: q.version };
    throw err;
  }
}
