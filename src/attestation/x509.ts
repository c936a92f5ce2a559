// X.509 certificates and CRLs of the Intel SGX PKI (SGX PCK Certificate and CRL Profile):
// strict PEM chain decoding, parsing once with node:crypto (signatures, validity) and pkijs
// (names, serials, extensions), issuer/signature checks, and CRL checks.
import { constants, X509Certificate, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { fail, type VerifyStep } from './errors.js';

export interface ParsedCert {
  der: Uint8Array;
  node: X509Certificate;
  asn: pkijs.Certificate;
  subjectCn: string;
  serialHex: string;
  notBefore: number;
  notAfter: number;
  publicKey: KeyObject;
}

const OID_CN = '2.5.4.3';
/** Intel's and AMD's common names are under 64 characters; longer ones are cut (they appear in errors). */
const MAX_CN_CHARS = 128;

/**
 * The CN of a name, cut to MAX_CN_CHARS with a marker: names come from input (collateral, quotes) and
 * are quoted in refusals, so they must not make an error message unbounded. Cutting only makes a
 * `includes` check on the CN fail, never pass.
 */
function commonName(rdn: pkijs.RelativeDistinguishedNames): string {
  const tv = rdn.typesAndValues.find((t) => t.type === OID_CN);
  const v = tv?.value.valueBlock as { value?: unknown } | undefined;
  const cn = typeof v?.value === 'string' ? v.value : '';
  return cn.length > MAX_CN_CHARS ? `${cn.slice(0, MAX_CN_CHARS)}…[truncated]` : cn;
}

/** Hex of a DER INTEGER's magnitude, without leading zero bytes, lower case. */
function serialOf(int: { valueBlock: { valueHexView: Uint8Array } }): string {
  return Buffer.from(int.valueBlock.valueHexView).toString('hex').replace(/^(?:00)+(?=..)/, '');
}

/** Parses one DER certificate; `what` names it in errors. */
export function parseCertDer(der: Uint8Array, step: VerifyStep, what: string): ParsedCert {
  let node: X509Certificate;
  let asn: pkijs.Certificate;
  try {
    node = new X509Certificate(der);
    asn = pkijs.Certificate.fromBER(der);
  } catch (err) {
    return fail(step, `${what} is not a valid X.509 certificate (${err instanceof Error ? err.message.slice(0, 200) : 'undecodable'})`);
  }
  // node:crypto decodes the key lazily: a key it cannot read (an EC point starting 0x05, say) throws
  // here, and that is the certificate's fault, not the verifier's.
  let publicKey: KeyObject;
  try {
    publicKey = node.publicKey;
  } catch {
    return fail(step, `${what} is not a valid X.509 certificate (its public key cannot be decoded)`);
  }
  let notBefore: number;
  let notAfter: number;
  try {
    notBefore = asn.notBefore.value.getTime();
    notAfter = asn.notAfter.value.getTime();
  } catch {
    return fail(step, `${what} is not a valid X.509 certificate (its validity dates cannot be read)`);
  }
  return {
    der, node, asn,
    subjectCn: commonName(asn.subject),
    serialHex: serialOf(asn.serialNumber),
    notBefore, notAfter, publicKey,
  };
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END CERTIFICATE-----/g;

/**
 * Decodes a PEM certificate chain strictly: only CERTIFICATE blocks separated by whitespace, one
 * optional terminating NUL (the quoting enclave writes a C string), canonical base64.
 */
export function parsePemChain(text: string, step: VerifyStep, what: string): ParsedCert[] {
  const body = text.endsWith('\0') ? text.slice(0, -1) : text;
  const certs: ParsedCert[] = [];
  let last = 0;
  for (const m of body.matchAll(PEM_BLOCK)) {
    if (!/^\s*$/.test(body.slice(last, m.index))) fail(step, `${what} contains data outside PEM certificate blocks`);
    const b64 = m[1]!.replace(/\s+/g, '');
    const der = Buffer.from(b64, 'base64');
    if (der.toString('base64') !== b64) fail(step, `${what} has invalid base64 in certificate ${certs.length + 1}`);
    certs.push(parseCertDer(Uint8Array.from(der), step, `${what} certificate ${certs.length + 1}`));
    last = m.index + m[0].length;
  }
  if (!/^\s*$/.test(body.slice(last))) fail(step, `${what} contains data outside PEM certificate blocks`);
  if (certs.length === 0) fail(step, `${what} contains no certificate`);
  return certs;
}

/** The certificate is within its validity period at `now` (ms). */
export function checkValidity(cert: ParsedCert, now: number, step: VerifyStep, what: string): void {
  if (now < cert.notBefore) fail(step, `${what} is not yet valid (notBefore ${new Date(cert.notBefore).toISOString()})`);
  if (now > cert.notAfter) fail(step, `${what} has expired (notAfter ${new Date(cert.notAfter).toISOString()})`);
}

/** `child` names `parent` as issuer and carries a valid signature by the parent's key. */
export function checkIssuedBy(child: ParsedCert, parent: ParsedCert, step: VerifyStep, what: string): void {
  if (!child.asn.issuer.isEqual(parent.asn.subject)) {
    fail(step, `${what}: issuer '${commonName(child.asn.issuer)}' is not '${parent.subjectCn}'`);
  }
  if (!parent.node.ca) fail(step, `${what}: issuer '${parent.subjectCn}' is not a CA certificate`);
  let ok = false;
  try { ok = child.node.verify(parent.publicKey); } catch { ok = false; }
  if (!ok) fail(step, `${what}: signature does not verify with the key of '${parent.subjectCn}'`);
}

export interface ParsedCrl {
  asn: pkijs.CertificateRevocationList;
  issuerCn: string;
  thisUpdate: number;
  nextUpdate: number;
  revoked: Set<string>;
}

const OID_ECDSA_SHA256 = '1.2.840.10045.4.3.2';

/** Parses a hex DER CRL; an empty string is refused (strict verification needs every CRL). */
export function parseCrlHex(hex: string, step: VerifyStep, what: string): ParsedCrl {
  if (hex.length === 0) fail(step, `${what} is missing (empty in the collateral)`);
  let asn: pkijs.CertificateRevocationList;
  try {
    asn = pkijs.CertificateRevocationList.fromBER(Uint8Array.from(Buffer.from(hex, 'hex')));
  } catch (err) {
    return fail(step, `${what} is not a valid DER CRL (${err instanceof Error ? err.message : String(err)})`);
  }
  if (asn.nextUpdate === undefined) fail(step, `${what} has no nextUpdate`);
  const revoked = new Set<string>();
  for (const r of asn.revokedCertificates ?? []) revoked.add(serialOf(r.userCertificate));
  return {
    asn, revoked,
    issuerCn: commonName(asn.issuer),
    thisUpdate: asn.thisUpdate.value.getTime(),
    nextUpdate: asn.nextUpdate!.value.getTime(),
  };
}

/** The CRL is issued and signed by `issuer` (name and ECDSA-SHA256 signature over the TBS bytes). */
export function checkCrlSignedBy(crl: ParsedCrl, issuer: ParsedCert, step: VerifyStep, what: string): void {
  if (!crl.asn.issuer.isEqual(issuer.asn.subject)) fail(step, `${what} is issued by '${crl.issuerCn}', expected '${issuer.subjectCn}'`);
  if (crl.asn.signatureAlgorithm.algorithmId !== OID_ECDSA_SHA256) fail(step, `${what} is not signed with ECDSA-SHA256`);
  let ok = false;
  try {
    ok = cryptoVerify('sha256', crl.asn.tbsView, issuer.publicKey, crl.asn.signatureValue.valueBlock.valueHexView);
  } catch { ok = false; }
  if (!ok) fail(step, `${what} signature does not verify with the key of '${issuer.subjectCn}'`);
}

/** thisUpdate <= now <= nextUpdate. */
export function checkCrlDates(crl: ParsedCrl, now: number, step: VerifyStep, what: string): void {
  if (now < crl.thisUpdate) fail(step, `${what} is not yet valid (thisUpdate ${new Date(crl.thisUpdate).toISOString()})`);
  if (now > crl.nextUpdate) fail(step, `${what} has expired (nextUpdate ${new Date(crl.nextUpdate).toISOString()} is in the past)`);
}

export function checkNotRevoked(crl: ParsedCrl, cert: ParsedCert, step: VerifyStep, what: string): void {
  if (crl.revoked.has(cert.serialHex)) fail(step, `${what} (serial ${cert.serialHex}) is revoked by the CRL of '${crl.issuerCn}'`);
}

// --- AMD SEV-SNP PKI (AMD KDS: ARK, ASK/ASVK, VCEK/VLEK and CRLs signed with RSASSA-PSS SHA-384) ---

const OID_RSASSA_PSS = '1.2.840.113549.1.1.10';
const OID_SHA384 = '2.16.840.1.101.3.4.2.2';
const OID_MGF1 = '1.2.840.113549.1.1.8';

/** The algorithm is RSASSA-PSS with SHA-384, MGF1-SHA-384 and a 48-byte salt (AMD's profile). */
export function checkRsaPssSha384(alg: pkijs.AlgorithmIdentifier, step: VerifyStep, what: string): void {
  if (alg.algorithmId !== OID_RSASSA_PSS) fail(step, `${what} is not signed with RSASSA-PSS (algorithm ${alg.algorithmId.slice(0, 40)})`);
  let params: pkijs.RSASSAPSSParams;
  try {
    params = new pkijs.RSASSAPSSParams({ schema: alg.algorithmParams });
  } catch {
    return fail(step, `${what} has malformed RSASSA-PSS parameters`);
  }
  const mgfHash = (() => {
    try { return new pkijs.AlgorithmIdentifier({ schema: params.maskGenAlgorithm.algorithmParams }).algorithmId; } catch { return ''; }
  })();
  if (params.hashAlgorithm.algorithmId !== OID_SHA384 || params.maskGenAlgorithm.algorithmId !== OID_MGF1 || mgfHash !== OID_SHA384
    || params.saltLength !== 48) {
    fail(step, `${what} is not signed with RSASSA-PSS SHA-384 (MGF1-SHA-384, salt 48)`);
  }
}

/** `child` is issued by `parent` with an RSASSA-PSS SHA-384 signature (name, CA flag, signature). */
export function checkIssuedByRsaPss(child: ParsedCert, parent: ParsedCert, step: VerifyStep, what: string): void {
  checkRsaPssSha384(child.asn.signatureAlgorithm, step, what);
  checkIssuedBy(child, parent, step, what);
}

/** The DER encoding is exactly `der` (no trailing bytes after the outer SEQUENCE). */
export function checkExactDer(der: Uint8Array, step: VerifyStep, what: string): void {
  let parsed: { offset: number };
  try { parsed = asn1js.fromBER(der); } catch { parsed = { offset: -1 }; }
  if (parsed.offset === -1 || parsed.offset !== der.length) fail(step, `${what} has ${parsed.offset === -1 ? 'invalid DER' : `${der.length - parsed.offset} bytes after its DER encoding`}`);
}

/** parseCertDer, refusing trailing bytes after the certificate and a public key node:crypto cannot decode. */
export function parseCertDerExact(der: Uint8Array, step: VerifyStep, what: string): ParsedCert {
  checkExactDer(der, step, what);
  try {
    void new X509Certificate(der).publicKey;
  } catch {
    return fail(step, `${what} is not a valid X.509 certificate (its public key cannot be decoded)`);
  }
  return parseCertDer(der, step, what);
}

/** parsePemChain with parseCertDerExact for each certificate. */
export function parsePemChainExact(text: string, step: VerifyStep, what: string): ParsedCert[] {
  const certs: ParsedCert[] = [];
  let last = 0;
  for (const m of text.matchAll(PEM_BLOCK)) {
    if (!/^\s*$/.test(text.slice(last, m.index))) fail(step, `${what} contains data outside PEM certificate blocks`);
    const b64 = m[1]!.replace(/\s+/g, '');
    const der = Buffer.from(b64, 'base64');
    if (der.toString('base64') !== b64) fail(step, `${what} has invalid base64 in certificate ${certs.length + 1}`);
    certs.push(parseCertDerExact(Uint8Array.from(der), step, `${what} certificate ${certs.length + 1}`));
    last = m.index + m[0].length;
  }
  if (!/^\s*$/.test(text.slice(last))) fail(step, `${what} contains data outside PEM certificate blocks`);
  if (certs.length === 0) fail(step, `${what} contains no certificate`);
  return certs;
}

const PEM_CRL = /^\s*-----BEGIN X509 CRL-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END X509 CRL-----\s*$/;

/** Parses one CRL given as DER or as a single PEM "X509 CRL" block; nextUpdate is required. */
export function parseCrlBytes(bytes: Uint8Array, step: VerifyStep, what: string): ParsedCrl {
  let der: Uint8Array = bytes;
  if (bytes.length > 0 && bytes[0] !== 0x30) {
    const m = PEM_CRL.exec(Buffer.from(bytes).toString('latin1'));
    if (!m) fail(step, `${what} is neither DER nor a single PEM X509 CRL block`);
    const b64 = m[1]!.replace(/\s+/g, '');
    const buf = Buffer.from(b64, 'base64');
    if (buf.toString('base64') !== b64) fail(step, `${what} has invalid base64`);
    der = Uint8Array.from(buf);
  }
  if (der.length === 0) fail(step, `${what} is empty`);
  checkExactDer(der, step, what);
  return parseCrlHex(Buffer.from(der).toString('hex'), step, what);
}

/** The CRL names `issuer` and carries its RSASSA-PSS SHA-384 signature over the TBS bytes. */
export function checkCrlSignedByRsaPss(crl: ParsedCrl, issuer: ParsedCert, step: VerifyStep, what: string): void {
  if (!crl.asn.issuer.isEqual(issuer.asn.subject)) fail(step, `${what} is issued by '${crl.issuerCn}', expected '${issuer.subjectCn}'`);
  checkRsaPssSha384(crl.asn.signatureAlgorithm, step, what);
  let ok = false;
  try {
    ok = cryptoVerify('sha384', crl.asn.tbsView, { key: issuer.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 },
      crl.asn.signatureValue.valueBlock.valueHexView);
  } catch { ok = false; }
  if (!ok) fail(step, `${what} signature does not verify with the key of '${issuer.subjectCn}'`);
}
