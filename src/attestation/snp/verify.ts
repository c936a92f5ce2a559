// Offline verification of an AMD SEV-SNP attestation report (DESIGN §6; docs/sev-snp.md), strict:
// the ARK is pinned per product (AMD's, embedded in amd-roots.ts, unless development ARKs are passed
// explicitly), the ASK (ASVK for a VLEK) is signed by it, the VCEK/VLEK by the ASK, all with
// RSASSA-PSS SHA-384; a current ARK-signed CRL is required and must not list the ASK; every
// certificate is valid at `now`; the report is signed by the VCEK/VLEK (ECDSA P-384 SHA-384);
// REPORTED_TCB equals the key's TCB extensions; a VCEK's hwID equals CHIP_ID; the guest policy refuses
// DEBUG and MIGRATE_MA and requires a minimum ABI; the VMPL is the expected one.
//
// What depends only on the certificate and CRL bytes (parsing, chain and CRL signatures, extensions)
// is cached; dates, the report signature and every report field are checked on every call.
import { createHash, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { fail, VerificationError, type VerifyStep } from '../errors.js';
import { checkCrlDates, checkCrlSignedByRsaPss, checkIssuedByRsaPss, checkNotRevoked, checkValidity, parseCertDer,
  parseCertDerExact, parseCrlBytes, parsePemChainExact, type ParsedCert, type ParsedCrl } from '../x509.js';
import { pinnedAmdArks, pinnedAmdAsk, SNP_PRODUCTS, type SnpProduct } from './amd-roots.js';
import { decodeTcb, parseSnpReport, POLICY, productOfCpuid, SnpReportParseError, type SnpReport, type SnpSigningKey,
  type SnpTcb } from './report.js';
import { parseAmdKeyExtensions, productNameOf, type AmdKeyExtensions } from './vcek.js';
import { BoundedCache } from '../../util/bounded-cache.js';

export interface SnpVerifyOptions {
  /** Accept a guest whose policy sets DEBUG (default false: the host could read the guest's memory). */
  allowDebug?: boolean;
  /** Accept a guest whose policy allows a migration agent (default false: the MA could export the guest). */
  allowMigrateMa?: boolean;
  /** The VMPL the report must come from (default 0, the guest's most privileged level). */
  vmpl?: number;
  /**
   * Minimum ABI version the guest policy must require of the firmware (POLICY.ABI_MAJOR.ABI_MINOR).
   * Default 0.0: the real reports in fixtures/sev-snp require 0.0 (Milan) and 0.31 (Azure Genoa), and
   * the firmware itself refuses to launch a guest whose minimum ABI it does not meet.
   */
  minAbi?: { major: number; minor: number };
}

export interface SnpVerifyInput {
  /** The VCEK or VLEK certificate, DER or PEM. */
  vcek: Uint8Array | string;
  /** PEM: the ASK (or ASVK), optionally followed by the ARK, as KDS cert_chain serves it. Default: AMD's embedded ASK of the VCEK's product. */
  askArk?: Uint8Array | string;
  /** The ARK-signed CRL, DER or PEM (required: a verification without it is refused). */
  crl?: Uint8Array | string | null;
  /** Verification time: a Date or Unix seconds. */
  now: Date | number;
  /** Development only: ARKs to trust instead of AMD's pinned ones, by product. */
  trustedArks?: Partial<Record<SnpProduct, Uint8Array>>;
  cache?: SnpVerificationCache;
  options?: SnpVerifyOptions;
}

export interface SnpGuestPolicy {
  abiMajor: number; abiMinor: number; smt: boolean; migrateMa: boolean; debug: boolean; singleSocket: boolean;
  cxlAllow: boolean; memAes256Xts: boolean; raplDis: boolean; ciphertextHiding: boolean; pageSwapDisable: boolean;
  /** The 64-bit policy, hex (0x-prefixed). */
  raw: string;
}

export interface SnpAcceptedVerdict {
  ok: true; tee: 'SNP'; product: SnpProduct; reportVersion: number; signingKey: SnpSigningKey;
  /** The key certificate's productName extension as issued (e.g. "Milan-B0"). */
  productName: string;
  measurement: string; hostData: string; idKeyDigest: string; authorKeyDigest: string; reportData: string;
  familyId: string; imageId: string; guestSvn: number; vmpl: number;
  /** Guest policy DEBUG (bit 19). */
  debug: boolean;
  /** Guest policy MIGRATE_MA (bit 18). */
  migrateMa: boolean;
  policy: SnpGuestPolicy;
  reportedTcb: SnpTcb; currentTcb: SnpTcb | null; committedTcb: SnpTcb | null; launchTcb: SnpTcb | null;
  /** CHIP_ID, hex (64 bytes; zero when MASK_CHIP_ID is set, which a VCEK check refuses). */
  chipId: string;
  reportId: string; reportIdMa: string;
  platformInfo: string;
  currentVersion: string; committedVersion: string;
  cpuid?: { family: number; model: number; stepping: number };
  /** VLEK only: the cloud provider named in the VLEK. */
  cspId?: string;
}

export interface SnpRejectedVerdict {
  ok: false; tee: 'SNP'; step: VerifyStep; error: string;
  reportVersion?: number;
}

export type SnpVerdict = SnpAcceptedVerdict | SnpRejectedVerdict;

interface VerifiedChain {
  product: SnpProduct; kind: SnpSigningKey;
  ark: ParsedCert; ask: ParsedCert; vcek: ParsedCert; crl: ParsedCrl; ext: AmdKeyExtensions;
}

/** Parsed trusted ARKs and verified chains (by ARK, ASK, key certificate and CRL bytes). Entries hold no secrets. */
export class SnpVerificationCache {
  readonly arks = new BoundedCache<ParsedCert>(16);
  readonly chains = new BoundedCache<VerifiedChain>(4096);
  readonly arkSets = new WeakMap<object, TrustedArks>();
}

const defaultCache = new SnpVerificationCache();
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const sha256hex = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) { h.update(String(p.length)); h.update(':'); h.update(p); }
  return h.digest('hex');
};
const bytesOf = (v: Uint8Array | string) => (typeof v === 'string' ? Uint8Array.from(Buffer.from(v, 'latin1')) : v);
const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
const short = (s: string) => (s.length > 64 ? `${s.slice(0, 64)}...` : s);

function toMillis(now: Date | number): number {
  const ms = now instanceof Date ? now.getTime() : typeof now === 'number' ? now * 1000 : NaN;
  if (!Number.isFinite(ms)) fail('input', 'now must be a Date or a Unix time in seconds');
  return ms;
}

interface Options { allowDebug: boolean; allowMigrateMa: boolean; vmpl: number; minAbi: { major: number; minor: number } }

function optionsOf(o: SnpVerifyOptions | undefined): Options {
  const byte = (n: unknown) => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 255;
  const opts = {
    allowDebug: o?.allowDebug ?? false, allowMigrateMa: o?.allowMigrateMa ?? false, vmpl: o?.vmpl ?? 0,
    minAbi: o?.minAbi ?? { major: 0, minor: 0 },
  };
  if (typeof opts.allowDebug !== 'boolean' || typeof opts.allowMigrateMa !== 'boolean') fail('input', 'allowDebug and allowMigrateMa must be booleans');
  if (!Number.isInteger(opts.vmpl) || opts.vmpl < 0 || opts.vmpl > 3) fail('input', 'vmpl must be an integer 0..3');
  if (!byte(opts.minAbi.major) || !byte(opts.minAbi.minor)) fail('input', 'minAbi major and minor must be integers 0..255');
  return opts;
}

/** One certificate, DER or a single PEM block. */
function oneCert(v: Uint8Array | string, step: VerifyStep, what: string): ParsedCert {
  const b = bytesOf(v);
  if (!(b instanceof Uint8Array) || b.length === 0) fail(step, `${what} is missing`);
  if (b[0] === 0x30) return parseCertDerExact(Uint8Array.from(b), step, what);
  const certs = pemCertsExact(b, step, what);
  if (certs.length !== 1) fail(step, `${what} must be one certificate, got ${certs.length}`);
  return certs[0]!;
}

/** A PEM chain whose certificates have no bytes after their DER encoding. */
function pemCertsExact(b: Uint8Array | string, step: VerifyStep, what: string): ParsedCert[] {
  return parsePemChainExact(Buffer.from(bytesOf(b)).toString('latin1'), step, what);
}

interface TrustedArks { map: Map<SnpProduct, ParsedCert>; key: string; ders: (Uint8Array | undefined)[] }

function trustedArksOf(input: SnpVerifyInput, cache: SnpVerificationCache): TrustedArks {
  const given = input.trustedArks ?? pinnedAmdArks();
  if (given === null || typeof given !== 'object') fail('input', 'trustedArks must map products to DER certificates');
  const ders = SNP_PRODUCTS.map((p) => given[p]);
  const hit = cache.arkSets.get(given);
  if (hit && hit.ders.every((d, i) => d === ders[i])) return hit;
  const map = new Map<SnpProduct, ParsedCert>();
  const keys: string[] = [];
  for (const [i, product] of SNP_PRODUCTS.entries()) {
    const der = ders[i];
    if (der === undefined) continue;
    if (!(der instanceof Uint8Array) || der.length === 0) fail('input', `trusted ARK for ${product} must be a DER certificate`);
    const key = `${product}:${sha256hex(der)}`;
    let ark = cache.arks.get(key);
    if (ark === undefined) {
      ark = parseCertDerExact(Uint8Array.from(der), 'snp-ark', `trusted ARK for ${product}`);
      if (ark.subjectCn !== `ARK-${product}`) fail('snp-ark', `trusted ARK for ${product} has CN '${short(ark.subjectCn)}', expected 'ARK-${product}'`);
      checkIssuedByRsaPss(ark, ark, 'snp-ark', `trusted ARK-${product} (must be self-signed)`);
      cache.arks.set(key, ark);
    }
    map.set(product, ark);
    keys.push(key);
  }
  if (map.size === 0) fail('input', 'no trusted ARK');
  const out = { map, key: keys.join(','), ders };
  cache.arkSets.set(given, out);
  return out;
}

/** The chain's product, ARK and ASK: from the askArk file when given (its ARK must be a pinned one), else AMD's embedded ASK. */
function chainOf(input: SnpVerifyInput, arks: Map<SnpProduct, ParsedCert>, vcek: ParsedCert, kind: SnpSigningKey):
  { product: SnpProduct; ark: ParsedCert; ask: ParsedCert } {
  if (input.askArk === undefined || input.askArk === null) {
    const text = productNameOf(vcek.asn, kind);
    const product = SNP_PRODUCTS.find((p) => text === p || text.startsWith(`${p}-`));
    if (product === undefined) fail('snp-vcek', `${kind} productName '${short(text)}' is not Milan, Genoa or Turin`);
    const ark = arks.get(product);
    if (ark === undefined) fail('snp-ark', `no trusted ARK for ${product}`);
    if (input.trustedArks !== undefined || kind !== 'VCEK') fail('snp-ask', `no ASK given: pass the ${kind === 'VLEK' ? 'ASVK' : 'ASK'} and ARK chain`);
    return { product, ark, ask: parseCertDer(pinnedAmdAsk(product), 'snp-ask', `AMD ASK SEV-${product}`) };
  }
  const certs = pemCertsExact(input.askArk, 'snp-ask', 'ASK/ARK chain');
  if (certs.length > 2) fail('snp-ask', `ASK/ARK chain has ${certs.length} certificates, expected the ASK and the ARK`);
  const [ask, fileArk] = certs as [ParsedCert, ParsedCert | undefined];
  let product: SnpProduct | undefined;
  if (fileArk !== undefined) {
    // An ARK from a file is only a hint: it must be byte-identical to a trusted (pinned) ARK.
    for (const [p, a] of arks) if (sameBytes(a.der, fileArk.der)) product = p;
    if (product === undefined) fail('snp-ark', `the ARK in the chain ('${short(fileArk.subjectCn)}') is not a pinned ARK`);
  } else {
    for (const [p, a] of arks) if (ask.asn.issuer.isEqual(a.asn.subject)) product = p;
    if (product === undefined) fail('snp-ark', `the ASK's issuer is not a pinned ARK`);
  }
  return { product, ark: arks.get(product)!, ask };
}

function verifyChainStatic(input: SnpVerifyInput, trusted: TrustedArks, kind: SnpSigningKey, crlBytes: Uint8Array,
  cache: SnpVerificationCache): VerifiedChain {
  // Keyed by the trusted ARKs and the exact input bytes, so a warm call parses nothing.
  const askArkBytes = input.askArk === undefined || input.askArk === null ? new Uint8Array(0) : bytesOf(input.askArk);
  const key = `${trusted.key}|${kind}|${input.askArk === undefined || input.askArk === null ? 'embedded' : 'file'}|${sha256hex(bytesOf(input.vcek), askArkBytes, crlBytes)}`;
  const hit = cache.chains.get(key);
  if (hit) return hit;
  const arks = trusted.map;
  const vcek = oneCert(input.vcek, 'snp-vcek', kind);
  const { product, ark, ask } = chainOf(input, arks, vcek, kind);

  const askCn = kind === 'VCEK' ? `SEV-${product}` : `SEV-VLEK-${product}`;
  if (ask.subjectCn !== askCn) fail('snp-ask', `intermediate CN '${short(ask.subjectCn)}' is not '${askCn}' (${kind} chain of ${product})`);
  checkIssuedByRsaPss(ask, ark, 'snp-ask', `${askCn} not issued by ARK-${product}`);

  const crl = parseCrlBytes(crlBytes, 'snp-crl', `ARK-${product} CRL`);
  checkCrlSignedByRsaPss(crl, ark, 'snp-crl', `ARK-${product} CRL`);

  if (vcek.subjectCn !== `SEV-${kind}`) fail('snp-vcek', `${kind} certificate CN is '${short(vcek.subjectCn)}', expected 'SEV-${kind}' (report SIGNING_KEY)`);
  checkIssuedByRsaPss(vcek, ask, 'snp-vcek', `${kind} not issued by this ASK (${askCn})`);
  const spki = vcek.publicKey.asymmetricKeyDetails;
  if (vcek.publicKey.asymmetricKeyType !== 'ec' || spki?.namedCurve !== 'secp384r1') fail('snp-vcek', `${kind} key is not an ECDSA P-384 key`);
  const ext = parseAmdKeyExtensions(vcek.asn, kind, product === 'Turin');
  const extProduct = ext.productName.split('-')[0];
  if (extProduct !== product) fail('snp-product', `${kind} is for '${short(ext.productName)}' but its chain is ${product}`);
  const v: VerifiedChain = { product, kind, ark, ask, vcek, crl, ext };
  cache.chains.set(key, v);
  return v;
}

const tcbText = (t: SnpTcb) => `bl ${t.bootloader}, tee ${t.tee}, snp ${t.snp}, ucode ${t.microcode}${t.fmc !== undefined ? `, fmc ${t.fmc}` : ''}`;

function verifyInner(r: SnpReport, input: SnpVerifyInput): SnpAcceptedVerdict {
  const cache = input.cache ?? defaultCache;
  const now = toMillis(input.now);
  const opts = optionsOf(input.options);
  const isBytes = (v: unknown) => v instanceof Uint8Array || typeof v === 'string';
  if (!isBytes(input.vcek)) fail('input', `the ${r.signingKey} certificate is required (bytes or PEM text)`);
  if (input.askArk !== undefined && input.askArk !== null && !isBytes(input.askArk)) fail('input', 'askArk must be bytes or PEM text');
  if (input.crl !== undefined && input.crl !== null && !isBytes(input.crl)) fail('input', 'crl must be bytes or PEM text');
  const trusted = trustedArksOf(input, cache);
  if (input.crl === undefined || input.crl === null) fail('snp-crl', 'no CRL supplied: the ARK-signed CRL is required');
  const crlBytes = bytesOf(input.crl);
  if (!(crlBytes instanceof Uint8Array) || crlBytes.length === 0) fail('snp-crl', 'the CRL is empty');

  const c = verifyChainStatic(input, trusted, r.signingKey, crlBytes, cache);
  const { product, ark, ask, vcek, crl, ext } = c;
  checkValidity(ark, now, 'snp-ark', `ARK-${product}`);
  checkValidity(ask, now, 'snp-ask', ask.subjectCn);
  checkCrlDates(crl, now, 'snp-crl', `ARK-${product} CRL`);
  checkNotRevoked(crl, ask, 'snp-crl', ask.subjectCn);
  checkValidity(vcek, now, 'snp-vcek', r.signingKey);

  // The report signature: ECDSA P-384 over SHA-384 of bytes 0..0x2A0 (R, S little-endian in the report).
  let sigOk = false;
  try {
    sigOk = cryptoVerify('sha384', r.signed, { key: vcek.publicKey as KeyObject, dsaEncoding: 'ieee-p1363' },
      Buffer.concat([r.signatureR, r.signatureS]));
  } catch { sigOk = false; }
  if (!sigOk) fail('snp-signature', `the report signature does not verify with the ${r.signingKey}`);

  if (r.cpuid !== undefined) {
    const p = productOfCpuid(r.cpuid);
    if (p !== product) {
      fail('snp-product', `report CPUID family ${r.cpuid.family.toString(16)}h model ${r.cpuid.model.toString(16)}h is ${p ?? 'not a known product'}, the ${r.signingKey} is ${product}`);
    }
  }
  const turin = product === 'Turin';
  const reported = decodeTcb(r.reportedTcb, turin);
  if (reported === undefined) fail('snp-tcb', 'REPORTED_TCB has non-zero reserved bytes');
  const want = ext.tcb;
  for (const k of ['bootloader', 'tee', 'snp', 'microcode', 'fmc'] as const) {
    if (reported[k] !== want[k]) {
      fail('snp-tcb', `REPORTED_TCB (${tcbText(reported)}) differs from the ${r.signingKey}'s TCB (${tcbText(want)}) in ${k}`);
    }
  }
  if (r.signingKey === 'VCEK') {
    if (r.maskChipKey) fail('snp-hwid', 'MASK_CHIP_ID is set: CHIP_ID is hidden, so the VCEK cannot be bound to the chip');
    if (!sameBytes(ext.hwid!, r.chipId.subarray(0, ext.hwid!.length))) fail('snp-hwid', 'the VCEK hwID is not the report CHIP_ID');
  }

  const pol = r.policy;
  if ((pol & POLICY.RESERVED_MASK) !== 0n) fail('snp-policy', `guest policy 0x${pol.toString(16)} sets reserved bits 63:26`);
  if ((pol & POLICY.RESERVED_MUST_BE_ONE) === 0n) fail('snp-policy', `guest policy 0x${pol.toString(16)} clears bit 17, which must be one`);
  const debug = (pol & POLICY.DEBUG) !== 0n;
  const migrateMa = (pol & POLICY.MIGRATE_MA) !== 0n;
  if (debug && !opts.allowDebug) fail('snp-policy', 'guest policy allows debugging (POLICY bit 19): the host can read the guest');
  if (migrateMa && !opts.allowMigrateMa) fail('snp-policy', 'guest policy allows a migration agent (POLICY bit 18)');
  const abiMinor = Number(pol & 0xffn);
  const abiMajor = Number((pol >> 8n) & 0xffn);
  if (abiMajor < opts.minAbi.major || (abiMajor === opts.minAbi.major && abiMinor < opts.minAbi.minor)) {
    fail('snp-policy', `guest policy minimum ABI ${abiMajor}.${abiMinor} is below the required ${opts.minAbi.major}.${opts.minAbi.minor}`);
  }
  if (r.vmpl !== opts.vmpl) fail('snp-vmpl', `report is from VMPL ${r.vmpl > 3 ? `0x${r.vmpl.toString(16)}` : r.vmpl}, expected VMPL ${opts.vmpl}`);

  const bit = (m: bigint) => (pol & m) !== 0n;
  const ver = (v: { major: number; minor: number; build: number }) => `${v.major}.${v.minor}.${v.build}`;
  return {
    ok: true, tee: 'SNP', product, reportVersion: r.version, signingKey: r.signingKey, productName: ext.productName,
    measurement: hex(r.measurement), hostData: hex(r.hostData), idKeyDigest: hex(r.idKeyDigest), authorKeyDigest: hex(r.authorKeyDigest),
    reportData: hex(r.reportData), familyId: hex(r.familyId), imageId: hex(r.imageId), guestSvn: r.guestSvn, vmpl: r.vmpl,
    debug, migrateMa,
    policy: {
      abiMajor, abiMinor, smt: bit(POLICY.SMT), migrateMa, debug, singleSocket: bit(POLICY.SINGLE_SOCKET), cxlAllow: bit(POLICY.CXL_ALLOW),
      memAes256Xts: bit(POLICY.MEM_AES_256_XTS), raplDis: bit(POLICY.RAPL_DIS), ciphertextHiding: bit(POLICY.CIPHERTEXT_HIDING),
      pageSwapDisable: bit(POLICY.PAGE_SWAP_DISABLE), raw: `0x${pol.toString(16)}`,
    },
    reportedTcb: reported, currentTcb: decodeTcb(r.currentTcb, turin) ?? null, committedTcb: decodeTcb(r.committedTcb, turin) ?? null,
    launchTcb: decodeTcb(r.launchTcb, turin) ?? null,
    chipId: hex(r.chipId), reportId: hex(r.reportId), reportIdMa: hex(r.reportIdMa), platformInfo: `0x${r.platformInfo.toString(16)}`,
    currentVersion: ver(r.currentVersion), committedVersion: ver(r.committedVersion),
    ...(r.cpuid ? { cpuid: r.cpuid } : {}),
    ...(ext.cspId !== undefined ? { cspId: ext.cspId } : {}),
  };
}

/** The refusal for an error no check anticipated (a bug, never a verdict on the input). */
export const UNEXPECTED = 'unexpected error while verifying the report';

/**
 * Verifies an SEV-SNP attestation report at `input.now` against its VCEK/VLEK, the product's ASK and
 * pinned ARK, and the ARK's CRL. Never throws for bad input: a refusal is `{ ok: false, step, error }`.
 */
export function verifySnpReport(reportBytes: Uint8Array, input: SnpVerifyInput): SnpVerdict {
  let r: SnpReport;
  try {
    r = parseSnpReport(reportBytes);
  } catch (err) {
    return { ok: false, tee: 'SNP', step: 'parse', error: err instanceof SnpReportParseError ? err.message : 'report could not be parsed' };
  }
  try {
    if (input === null || typeof input !== 'object') fail('input', 'verification input is required');
    return verifyInner(r, input);
  } catch (err) {
    if (err instanceof VerificationError) return { ok: false, tee: 'SNP', step: err.step, error: err.message.slice(0, 400), reportVersion: r.version };
    // Fail closed without echoing library text; the fuzz tests check this path is never reached.
    return { ok: false, tee: 'SNP', step: 'input', error: UNEXPECTED, reportVersion: r.version };
  }
}
