// DEVELOPMENT ONLY: a test PKI shaped like AMD's SEV-SNP PKI (AMD KDS: ARK -> ASK -> VCEK, RSASSA-PSS
// SHA-384 certificates and CRL; VCEK with AMD's TCB and hwID extensions) that signs real-format
// SEV-SNP attestation reports (ABI spec 56860, versions 2-5), so the development worker can run as an
// SNP guest. Every certificate's O is "Gatekeeper DEVELOPMENT test PKI - not AMD"; CNs follow AMD's so
// the same strict verifier runs unchanged. Production never trusts this ARK: verifySnpReport trusts it
// only when it is passed explicitly as `trustedArks` (as the DCAP test root is passed as `trustedRoot`).
// Keys are RSA-2048 (AMD uses 4096) to keep start-up fast; the verifier does not depend on the size.
import { createHash, KeyObject, sign, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { concatBytes } from '../../crypto/bytes.js';
import { OID_AMD_SEV } from '../snp/vcek.js';
import { SNP_REPORT_SIZE, SNP_SIGNED_SIZE, type SnpTcb } from '../snp/report.js';
import type { SnpProduct } from '../snp/amd-roots.js';

const engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as ConstructorParameters<typeof pkijs.CryptoEngine>[0]['crypto'] });
const RSA = { name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-384' } as const;
const EC = { name: 'ECDSA', namedCurve: 'P-384' } as const;
const ORG = 'Gatekeeper DEVELOPMENT test PKI - not AMD';
const DAY = 86_400_000;

interface KeyPair { publicKey: webcrypto.CryptoKey; privateKey: webcrypto.CryptoKey }
export interface SnpTestCert { asn: pkijs.Certificate; keys: KeyPair; der: Uint8Array; pem: string; serial: string }
export interface SnpTestKeyCert extends SnpTestCert {
  kind: 'VCEK' | 'VLEK'; tcb: SnpTcb; productName: string;
  /** VCEK: the hwID in the certificate (64 bytes; 8 on Turin). */
  hwid?: Uint8Array;
  issuer: SnpTestCert;
}

/** AMD's subject layout: OU, C, L, ST, O, CN, one attribute per RDN (pkijs would put them all in one SET). */
function amdName(cn: string): pkijs.RelativeDistinguishedNames {
  const attr = (type: string, value: string) =>
    new asn1js.Set({ value: [new pkijs.AttributeTypeAndValue({ type, value: new asn1js.Utf8String({ value }) }).toSchema()] });
  const seq = new asn1js.Sequence({ value: [attr('2.5.4.11', 'Engineering'), attr('2.5.4.6', 'US'), attr('2.5.4.7', 'Santa Clara'),
    attr('2.5.4.8', 'CA'), attr('2.5.4.10', ORG), attr('2.5.4.3', cn)] });
  return pkijs.RelativeDistinguishedNames.fromBER(seq.toBER(false));
}

function ext(extnID: string, critical: boolean, value: asn1js.AsnType | Uint8Array): pkijs.Extension {
  const der = value instanceof Uint8Array ? value.slice().buffer : (value as asn1js.BaseBlock).toBER(false);
  return new pkijs.Extension({ extnID, critical, extnValue: der });
}

const toPem = (der: Uint8Array, label = 'CERTIFICATE') =>
  `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;

/** TCB_VERSION bytes for the product (Turin: FMC, BL, TEE, SNP, 0, 0, 0, UCODE; else BL, TEE, 0, 0, 0, 0, SNP, UCODE). */
export function encodeSnpTcb(t: SnpTcb, product: SnpProduct): Uint8Array {
  return product === 'Turin'
    ? Uint8Array.from([t.fmc ?? 0, t.bootloader, t.tee, t.snp, 0, 0, 0, t.microcode])
    : Uint8Array.from([t.bootloader, t.tee, 0, 0, 0, 0, t.snp, t.microcode]);
}

/** CPUID family/model/stepping of a typical part of each product (report version 3+). */
export const SNP_TEST_CPUID: Readonly<Record<SnpProduct, [number, number, number]>> = {
  Milan: [0x19, 0x01, 0x01], Genoa: [0x19, 0x11, 0x01], Turin: [0x1a, 0x02, 0x00],
};

export interface SnpReportParams {
  reportData: Uint8Array;
  measurement?: Uint8Array;
  hostData?: Uint8Array;
  idKeyDigest?: Uint8Array;
  authorKeyDigest?: Uint8Array;
  familyId?: Uint8Array;
  imageId?: Uint8Array;
  guestSvn?: number;
  /** Default 0x30000: SMT allowed, ABI 0.0, no debug, no migration agent. */
  policy?: bigint;
  vmpl?: number;
  /** Default 3. */
  version?: number;
  signatureAlgo?: number;
  /** Default: the TCB of the signing VCEK. */
  reportedTcb?: SnpTcb;
  /** Default: the signing VCEK's hwID (zero-padded to 64 bytes). */
  chipId?: Uint8Array;
  platformInfo?: bigint;
  /** Default [1, 55, 1] (major.minor.build). */
  firmware?: [number, number, number];
  /** Default: the product's SNP_TEST_CPUID. */
  cpuid?: [number, number, number];
  maskChipId?: boolean;
}

export interface SnpBuildOptions {
  /** Signing key certificate (default: the PKI's VCEK). */
  vcek?: SnpTestKeyCert;
  /** Edits the assembled bytes before signing (negative tests). */
  mutateSigned?: (bytes: Uint8Array) => void;
}

export interface SnpCrlOptions {
  thisUpdate?: Date;
  nextUpdate?: Date;
  /** Serials (hex) to list. */
  revokedSerials?: string[];
  /** Sign with this key instead of the ARK's (the issuer name stays the ARK's). */
  signWith?: SnpTestCert;
}

export interface SnpTestPki {
  product: SnpProduct;
  ark: SnpTestCert; ask: SnpTestCert; vcek: SnpTestKeyCert;
  /** Pass as verifySnpReport's `trustedArks` (development configs only). */
  trustedArks: Partial<Record<SnpProduct, Uint8Array>>;
  /** ASK then ARK, PEM (KDS cert_chain layout). */
  askArkPem: string;
  /** A fresh ARK-signed CRL (DER). */
  crl(opts?: SnpCrlOptions): Promise<Uint8Array>;
  issueVcek(opts?: { tcb?: SnpTcb; hwid?: Uint8Array; productName?: string; issuer?: SnpTestCert; notBefore?: Date; notAfter?: Date }): Promise<SnpTestKeyCert>;
  /** An ASVK (CN SEV-VLEK-<product>) under the ARK and a VLEK under it, for a cloud provider `cspId`. */
  issueVlek(opts?: { tcb?: SnpTcb; cspId?: string }): Promise<{ asvk: SnpTestCert; vlek: SnpTestKeyCert }>;
  /** An intermediate or root with any CN under any issuer (look-alike and swap tests). */
  issueCa(cn: string, issuer: SnpTestCert | 'self', opts?: { notBefore?: Date; notAfter?: Date }): Promise<SnpTestCert>;
  buildReport(params: SnpReportParams, opts?: SnpBuildOptions): Uint8Array;
}

export interface SnpTestPkiOptions {
  product?: SnpProduct;
  /** Reference time: certificates run from 1 year before to 10 years after; CRLs from 1 day before to 30 days after. */
  now?: Date;
  /** Default TCB of the VCEK. */
  tcb?: SnpTcb;
}

const DEFAULT_TCB: SnpTcb = { bootloader: 4, tee: 0, snp: 22, microcode: 213 };

/** Creates a development ARK, ASK and VCEK for `product` (default Milan). */
export async function createSnpTestPki(opts: SnpTestPkiOptions = {}): Promise<SnpTestPki> {
  const product = opts.product ?? 'Milan';
  const now = opts.now ?? new Date();
  const certNotBefore = new Date(now.getTime() - 365 * DAY);
  const certNotAfter = new Date(now.getTime() + 3650 * DAY);
  const defaultTcb: SnpTcb = { ...(opts.tcb ?? DEFAULT_TCB), ...(product === 'Turin' ? { fmc: opts.tcb?.fmc ?? 1 } : {}) };
  let serial = 0x100;

  const createCert = async (cn: string, issuer: SnpTestCert | 'self', ec: boolean, extensions: pkijs.Extension[],
    validity?: { notBefore?: Date; notAfter?: Date }): Promise<SnpTestCert> => {
    const keys = (await webcrypto.subtle.generateKey(ec ? EC : RSA, true, ['sign', 'verify'])) as KeyPair;
    const cert = new pkijs.Certificate();
    cert.version = 2;
    const sn = serial++;
    cert.serialNumber = new asn1js.Integer({ value: sn });
    cert.subject = amdName(cn);
    cert.issuer = issuer === 'self' ? cert.subject : issuer.asn.subject;
    cert.notBefore.value = validity?.notBefore ?? certNotBefore;
    cert.notAfter.value = validity?.notAfter ?? certNotAfter;
    await cert.subjectPublicKeyInfo.importKey(keys.publicKey, engine);
    cert.extensions = extensions;
    await cert.sign(issuer === 'self' ? keys.privateKey : issuer.keys.privateKey, 'SHA-384', engine);
    const der = new Uint8Array(cert.toSchema(true).toBER(false));
    return { asn: pkijs.Certificate.fromBER(der), keys, der, pem: toPem(der), serial: sn.toString(16).padStart(2, '0') };
  };
  const caExt = () => [
    ext('2.5.29.19', true, new pkijs.BasicConstraints({ cA: true }).toSchema()),
    ext('2.5.29.15', true, new asn1js.BitString({ valueHex: Uint8Array.from([0x06]).buffer, unusedBits: 1 })),
  ];
  const int = (n: number) => new asn1js.Integer({ value: n });
  const amdExt = (productName: string, tcb: SnpTcb, last: pkijs.Extension) => [
    ext(`${OID_AMD_SEV}.1`, false, int(product === 'Turin' ? 1 : 0)),
    ext(`${OID_AMD_SEV}.2`, false, new asn1js.IA5String({ value: productName })),
    ...(product === 'Turin' ? [ext(`${OID_AMD_SEV}.3.9`, false, int(tcb.fmc ?? 0))] : []),
    ext(`${OID_AMD_SEV}.3.1`, false, int(tcb.bootloader)),
    ext(`${OID_AMD_SEV}.3.2`, false, int(tcb.tee)),
    ...[4, 5, 6, 7].map((i) => ext(`${OID_AMD_SEV}.3.${i}`, false, int(0))),
    ext(`${OID_AMD_SEV}.3.3`, false, int(tcb.snp)),
    ext(`${OID_AMD_SEV}.3.8`, false, int(tcb.microcode)),
    last,
  ];
  const issueCa = (cn: string, issuer: SnpTestCert | 'self', validity?: { notBefore?: Date; notAfter?: Date }) =>
    createCert(cn, issuer, false, caExt(), validity);

  const ark = await issueCa(`ARK-${product}`, 'self');
  const ask = await issueCa(`SEV-${product}`, ark);
  const defaultProductName = product === 'Milan' ? 'Milan-B0' : product === 'Genoa' ? 'Genoa-B1' : 'Turin-C1';
  const issueVcek: SnpTestPki['issueVcek'] = async (o = {}) => {
    const tcb = o.tcb ?? defaultTcb;
    const hwid = o.hwid ?? Uint8Array.from(createHash('sha512').update(`gatekeeper dev chip ${product} ${serial}`).digest())
      .subarray(0, product === 'Turin' ? 8 : 64);
    const issuer = o.issuer ?? ask;
    const productName = o.productName ?? defaultProductName;
    const c = await createCert('SEV-VCEK', issuer, true, amdExt(productName, tcb, ext(`${OID_AMD_SEV}.4`, false, hwid)),
      { notBefore: o.notBefore, notAfter: o.notAfter });
    return { ...c, kind: 'VCEK', tcb, productName, hwid, issuer };
  };
  const vcek = await issueVcek();

  const crl = async (o: SnpCrlOptions = {}): Promise<Uint8Array> => {
    const time = (d: Date) => new pkijs.Time({ type: 0, value: d });
    const c = new pkijs.CertificateRevocationList({
      version: 1, issuer: ark.asn.subject, thisUpdate: time(o.thisUpdate ?? new Date(now.getTime() - DAY)),
      nextUpdate: time(o.nextUpdate ?? new Date(now.getTime() + 30 * DAY)),
    });
    if (o.revokedSerials && o.revokedSerials.length > 0) {
      c.revokedCertificates = o.revokedSerials.map((sn) => new pkijs.RevokedCertificate({
        userCertificate: new asn1js.Integer({ valueHex: Uint8Array.from(Buffer.from(sn.length % 2 ? '0' + sn : sn, 'hex')).buffer }),
        revocationDate: time(new Date(now.getTime() - DAY)),
      }));
    }
    await c.sign((o.signWith ?? ark).keys.privateKey, 'SHA-384', engine);
    return new Uint8Array(c.toSchema(true).toBER(false));
  };

  const buildReport = (p: SnpReportParams, o: SnpBuildOptions = {}): Uint8Array => {
    const key = o.vcek ?? vcek;
    return buildSnpReport(p, { privateKey: KeyObject.from(key.keys.privateKey), kind: key.kind, tcb: key.tcb, hwid: key.hwid }, product, o.mutateSigned);
  };

  const issueVlek: SnpTestPki['issueVlek'] = async (o = {}) => {
    const asvk = await issueCa(`SEV-VLEK-${product}`, ark);
    const tcb = o.tcb ?? defaultTcb;
    const c = await createCert('SEV-VLEK', asvk, true,
      amdExt(defaultProductName, tcb, ext(`${OID_AMD_SEV}.5`, false, new asn1js.IA5String({ value: o.cspId ?? 'gatekeeper-dev-csp' }))));
    return { asvk, vlek: { ...c, kind: 'VLEK', tcb, productName: defaultProductName, issuer: asvk } };
  };

  return {
    product, ark, ask, vcek, trustedArks: { [product]: ark.der }, askArkPem: ask.pem + ark.pem,
    crl, issueVcek, issueVlek, issueCa, buildReport,
  };
}

/** The signing side of a VCEK or VLEK: its private key and what the report must say about it. */
export interface SnpReportSigner { privateKey: KeyObject; kind: 'VCEK' | 'VLEK'; tcb: SnpTcb; hwid?: Uint8Array }

/** Assembles and signs a real-format report (ABI spec 56860, ATTESTATION_REPORT) with `key` for `product`. */
export function buildSnpReport(p: SnpReportParams, key: SnpReportSigner, product: SnpProduct, mutateSigned?: (bytes: Uint8Array) => void): Uint8Array {
  const b = new Uint8Array(SNP_REPORT_SIZE);
  const dv = new DataView(b.buffer);
  const put = (off: number, v: Uint8Array | undefined, len: number, name: string) => {
    if (v === undefined) return;
    if (v.length !== len) throw new RangeError(`${name} must be ${len} bytes, got ${v.length}`);
    b.set(v, off);
  };
  const version = p.version ?? 3;
  const tcb = encodeSnpTcb(p.reportedTcb ?? key.tcb, product);
  dv.setUint32(0x00, version, true);
  dv.setUint32(0x04, p.guestSvn ?? 0, true);
  dv.setBigUint64(0x08, p.policy ?? 0x30000n, true);
  put(0x10, p.familyId, 16, 'familyId');
  put(0x20, p.imageId, 16, 'imageId');
  dv.setUint32(0x30, p.vmpl ?? 0, true);
  dv.setUint32(0x34, p.signatureAlgo ?? 1, true);
  b.set(tcb, 0x38);
  dv.setBigUint64(0x40, p.platformInfo ?? 0x1n, true);
  dv.setUint32(0x48, (key.kind === 'VLEK' ? 1 << 2 : 0) | (p.maskChipId ? 2 : 0), true);
  put(0x50, p.reportData, 64, 'reportData');
  put(0x90, p.measurement, 48, 'measurement');
  put(0xc0, p.hostData, 32, 'hostData');
  put(0xe0, p.idKeyDigest, 48, 'idKeyDigest');
  put(0x110, p.authorKeyDigest, 48, 'authorKeyDigest');
  b.set(createHash('sha256').update(p.reportData).update('report id').digest(), 0x140);
  b.fill(0xff, 0x160, 0x180); // REPORT_ID_MA: no migration agent
  b.set(tcb, 0x180);
  if (version >= 3) b.set(p.cpuid ?? SNP_TEST_CPUID[product], 0x188);
  if (!p.maskChipId) {
    const chip = p.chipId ?? concatBytes(key.hwid ?? new Uint8Array(0), new Uint8Array(64 - (key.hwid?.length ?? 0)));
    put(0x1a0, chip, 64, 'chipId');
  }
  b.set(tcb, 0x1e0);
  const [major, minor, build] = p.firmware ?? [1, 55, 1];
  b.set([build, minor, major], 0x1e8);
  b.set([build, minor, major], 0x1ec);
  b.set(tcb, 0x1f0);
  mutateSigned?.(b);
  const sig = sign('sha384', b.subarray(0, SNP_SIGNED_SIZE), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  b.set(Uint8Array.from(sig.subarray(0, 48)).reverse(), 0x2a0);
  b.set(Uint8Array.from(sig.subarray(48, 96)).reverse(), 0x2e8);
  return b;
}

/** What a development SNP worker hands to the committee: the report and everything needed to verify it. */
export interface SnpDevAttestation {
  report: Uint8Array;
  /** VCEK, DER. */
  vcek: Uint8Array;
  /** ASK then ARK, PEM. */
  askArk: string;
  /** ARK, DER: the development root a node must name explicitly to trust it. */
  ark: Uint8Array;
  /** ARK-signed CRL, DER. */
  crl: Uint8Array;
  product: SnpProduct;
}

/**
 * The development worker's side: a signed SNP report over `reportData` (the 64-byte binding
 * SHA-512("gatekeeper/v1/worker" || worker_hpke_pk || worker_sig_pk || nonce)) with the given
 * launch measurement, plus the VCEK, ASK/ARK and a fresh CRL files of the development PKI.
 */
export async function createSnpDevAttestation(pki: SnpTestPki, params: SnpReportParams, crlOpts?: SnpCrlOptions): Promise<SnpDevAttestation> {
  if (!(params.reportData instanceof Uint8Array) || params.reportData.length !== 64) throw new RangeError('reportData must be 64 bytes');
  return {
    report: pki.buildReport(params), vcek: pki.vcek.der, askArk: pki.askArkPem, ark: pki.ark.der,
    crl: await pki.crl(crlOpts), product: pki.product,
  };
}
