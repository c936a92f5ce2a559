// DEVELOPMENT ONLY: a test PKI shaped like Intel's SGX PKI (SGX PCK Certificate and CRL Profile;
// Intel PCS API v4 TCB info and QE identity), for development workers and tests. Every
// certificate's O is "Gatekeeper DEVELOPMENT test PKI - not Intel"; CNs follow Intel's so the
// same strict verifier runs unchanged. Production never trusts this root: a node trusts it only
// when its config names the root explicitly (verifyQuote's `trustedRoot`).
import { KeyObject, sign, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { Collateral, TcbStatusName } from '../collateral.js';
import { loadCollateral } from '../collateral.js';
import { OID_SGX_EXTENSIONS } from '../pck-extensions.js';
import { assembleQuote, encodeSgxReportBody, encodeTdReport10, encodeTdReport15, type SgxReportFields,
  type TdReportFields } from './quote-builder.js';

const engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as ConstructorParameters<typeof pkijs.CryptoEngine>[0]['crypto'] });
const ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ORG = 'Gatekeeper DEVELOPMENT test PKI - not Intel';
const DAY = 86_400_000;

export const TEST_QE_MRSIGNER = 'd1ce0de1ce0de1ce0de1ce0de1ce0de1ce0de1ce0de1ce0de1ce0de1ce0de1c0';
export const TEST_QE_ATTRIBUTES = '11000000000000000000000000000000';
export const TEST_QE_ATTRIBUTES_MASK = 'FBFFFFFFFFFFFFFF0000000000000000';
/** TD_ATTRIBUTES with only SEC.SEPT_VE_DISABLE (bit 28) set. */
export const TD_ATTRIBUTES_SEPT_VE_DISABLE = Uint8Array.from([0, 0, 0, 0x10, 0, 0, 0, 0]);
/** SGX ATTRIBUTES of a production (non-debug) 64-bit enclave: INIT | MODE64BIT. */
export const SGX_ATTRIBUTES_PRODUCTION = Uint8Array.from([0x05, 0, 0, 0, 0, 0, 0, 0, 0x03, 0, 0, 0, 0, 0, 0, 0]);

interface KeyPair { publicKey: webcrypto.CryptoKey; privateKey: webcrypto.CryptoKey }
const newKeys = async () => (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as KeyPair;

export interface TestCert { asn: pkijs.Certificate; keys: KeyPair; der: Uint8Array; pem: string; serial: string }

/** Intel's subject layout: CN, O, L, ST, C. */
function intelStyleName(cn: string): pkijs.RelativeDistinguishedNames {
  const attr = (type: string, value: asn1js.BaseStringBlock) => new pkijs.AttributeTypeAndValue({ type, value });
  return new pkijs.RelativeDistinguishedNames({ typesAndValues: [
    attr('2.5.4.3', new asn1js.Utf8String({ value: cn })),
    attr('2.5.4.10', new asn1js.Utf8String({ value: ORG })),
    attr('2.5.4.7', new asn1js.Utf8String({ value: 'Santa Clara' })),
    attr('2.5.4.8', new asn1js.Utf8String({ value: 'CA' })),
    attr('2.5.4.6', new asn1js.PrintableString({ value: 'US' })),
  ] });
}

function ext(extnID: string, critical: boolean, value: asn1js.AsnType | ArrayBuffer): pkijs.Extension {
  const der = value instanceof ArrayBuffer ? value : (value as asn1js.BaseBlock).toBER(false);
  return new pkijs.Extension({ extnID, critical, extnValue: der });
}

function keyUsage(bits: number): asn1js.BitString {
  // KeyUsage bits are numbered from the most significant bit of the first byte.
  return new asn1js.BitString({ valueHex: Uint8Array.from([bits]).buffer, unusedBits: 0 });
}

const toPem = (der: Uint8Array) =>
  `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----`;

export interface TestPckLeafOptions {
  fmspc?: string;
  pceId?: string;
  /** SGX TCB component SVNs 1..16 (default all 2). */
  tcbComponents?: number[];
  pceSvn?: number;
  /** Issue under another CA (e.g. a look-alike chain). */
  issuer?: TestCert;
}
export interface TestPckLeaf extends TestCert { fmspc: string; pceId: string; tcbComponents: number[]; pceSvn: number; issuer: TestCert }

export interface TestTcbLevel {
  sgxComponents?: number[];
  pceSvn?: number;
  tdxComponents?: number[];
  status: TcbStatusName;
  advisoryIds?: string[];
  tcbDate?: string;
}
export interface TestModuleIdentity { version: number; mrSigner?: string; levels: { isvSvn: number; status: TcbStatusName; advisoryIds?: string[] }[] }

export interface TestCollateralOptions {
  tee: 'SGX' | 'TDX';
  fmspc?: string;
  pceId?: string;
  /** TCB info and QE identity validity; CRL validity too unless given separately. */
  issueDate?: Date;
  nextUpdate?: Date;
  crlThisUpdate?: Date;
  crlNextUpdate?: Date;
  tcbEvaluationDataNumber?: number;
  /** Default: one UpToDate level at the default leaf's TCB (TDX components all 0). */
  tcbLevels?: TestTcbLevel[];
  /** Default: ISVSVN 8 UpToDate. */
  qeTcbLevels?: { isvSvn: number; status: 'UpToDate' | 'OutOfDate' | 'Revoked'; advisoryIds?: string[] }[];
  /** TDX: entries of tdxModuleIdentities; omitted when undefined. */
  tdxModuleIdentities?: TestModuleIdentity[];
  /** Serials (hex) listed in the PCK CRL. */
  revokedPckSerials?: string[];
  /** List the PCK CA in the root CA CRL. */
  revokePckCa?: boolean;
}

export interface SgxQuoteParams {
  mrEnclave: Uint8Array; mrSigner: Uint8Array; isvProdId: number; isvSvn: number; reportData: Uint8Array;
  /** Default SGX_ATTRIBUTES_PRODUCTION. */
  attributes?: Uint8Array;
  cpuSvn?: Uint8Array;
}
export interface TdxQuoteParams {
  mrTd: Uint8Array; reportData: Uint8Array;
  rtmrs?: Uint8Array[];
  /** Default TD_ATTRIBUTES_SEPT_VE_DISABLE. */
  tdAttributes?: Uint8Array;
  /** Default [3, 0, 0...]: TDX module minor SVN 3, major version 0 (legacy tdxModule). */
  teeTcbSvn?: Uint8Array;
  mrSignerSeam?: Uint8Array;
  seamAttributes?: Uint8Array;
  xfam?: Uint8Array;
  mrConfigId?: Uint8Array; mrOwner?: Uint8Array; mrOwnerConfig?: Uint8Array;
}
export interface TdxQuoteV5Params extends TdxQuoteParams {
  /** TD report 1.5: TEE_TCB_SVN_2 (the module the TD would get on relaunch); default equal to teeTcbSvn. */
  teeTcbSvn2?: Uint8Array;
  mrServiceTd?: Uint8Array;
}
/** Knobs for negative tests: which leaf signs, what the QE report says, what the chain carries. */
export interface QuoteBuildOptions {
  leaf?: TestPckLeaf;
  qe?: SgxReportFields;
  /** Certificates appended after leaf and CA (default: the test root). */
  chainTail?: TestCert[];
  padding?: number;
}

export interface TestPki {
  /** DER of the test root: pass as `trustedRoot` (development configs only). */
  rootDer: Uint8Array;
  root: TestCert;
  pckCa: TestCert;
  tcbSigner: TestCert;
  defaultLeaf: TestPckLeaf;
  issuePckLeaf(opts?: TestPckLeafOptions): Promise<TestPckLeaf>;
  collateral(opts: TestCollateralOptions): Promise<Collateral>;
  buildSgxQuoteV3(params: SgxQuoteParams, opts?: QuoteBuildOptions): Uint8Array;
  buildTdxQuoteV4(params: TdxQuoteParams, opts?: QuoteBuildOptions): Uint8Array;
  /** TDX quote v5 with a TD report 1.5 body (body type 3). */
  buildTdxQuoteV5(params: TdxQuoteV5Params, opts?: QuoteBuildOptions): Uint8Array;
  /** Another self-signed root with the same subject as this one (for look-alike tests). */
  createLookAlikeRoot(): Promise<TestCert>;
  /** A PCK CA under `root` with Intel's CA name. */
  createPckCa(root: TestCert): Promise<TestCert>;
}

export interface TestPkiOptions {
  /** Reference time for validity periods (default: now). Certificates run from 1 year before to 10 years after. */
  now?: Date;
  fmspc?: string;
  pceId?: string;
}

function sgxExtension(leaf: { fmspc: string; pceId: string; tcbComponents: number[]; pceSvn: number }): pkijs.Extension {
  const oid = (s: string) => new asn1js.ObjectIdentifier({ value: s });
  const entry = (id: string, v: asn1js.AsnType) => new asn1js.Sequence({ value: [oid(id), v as asn1js.BaseBlock] });
  const octets = (hex: string) => new asn1js.OctetString({ valueHex: Uint8Array.from(Buffer.from(hex, 'hex')) });
  const tcb = [
    ...leaf.tcbComponents.map((svn, i) => entry(`${OID_SGX_EXTENSIONS}.2.${i + 1}`, new asn1js.Integer({ value: svn }))),
    entry(`${OID_SGX_EXTENSIONS}.2.17`, new asn1js.Integer({ value: leaf.pceSvn })),
    entry(`${OID_SGX_EXTENSIONS}.2.18`, new asn1js.OctetString({ valueHex: Uint8Array.from(leaf.tcbComponents) })),
  ];
  const body = new asn1js.Sequence({ value: [
    entry(`${OID_SGX_EXTENSIONS}.1`, octets('00'.repeat(16))),
    entry(`${OID_SGX_EXTENSIONS}.2`, new asn1js.Sequence({ value: tcb })),
    entry(`${OID_SGX_EXTENSIONS}.3`, octets(leaf.pceId)),
    entry(`${OID_SGX_EXTENSIONS}.4`, octets(leaf.fmspc)),
    entry(`${OID_SGX_EXTENSIONS}.5`, new asn1js.Enumerated({ value: 0 })),
  ] });
  return ext(OID_SGX_EXTENSIONS, false, body);
}

const ts = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Creates a fresh development PKI (root, PCK Platform CA, TCB Signing) with a default PCK leaf. */
export async function createTestPki(opts: TestPkiOptions = {}): Promise<TestPki> {
  const now = opts.now ?? new Date();
  const notBefore = new Date(now.getTime() - 365 * DAY);
  const notAfter = new Date(now.getTime() + 3650 * DAY);
  let serial = 0x10;
  const createCert = async (subject: string, issuer: { name: pkijs.RelativeDistinguishedNames; key: webcrypto.CryptoKey } | 'self',
    extensions: pkijs.Extension[]): Promise<TestCert> => {
    const keys = await newKeys();
    const cert = new pkijs.Certificate();
    cert.version = 2;
    const sn = serial++;
    cert.serialNumber = new asn1js.Integer({ value: sn });
    cert.subject = intelStyleName(subject);
    cert.issuer = issuer === 'self' ? cert.subject : issuer.name;
    cert.notBefore.value = notBefore;
    cert.notAfter.value = notAfter;
    await cert.subjectPublicKeyInfo.importKey(keys.publicKey, engine);
    const skid = new Uint8Array(await webcrypto.subtle.digest('SHA-1', cert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView));
    cert.extensions = [...extensions, ext('2.5.29.14', false, new asn1js.OctetString({ valueHex: skid.buffer }))];
    await cert.sign(issuer === 'self' ? keys.privateKey : issuer.key, 'SHA-256', engine);
    const der = new Uint8Array(cert.toSchema(true).toBER(false));
    return { asn: pkijs.Certificate.fromBER(der), keys, der, pem: toPem(der), serial: sn.toString(16).padStart(2, '0') };
  };
  const caExt = (pathLen: number) => [
    ext('2.5.29.19', true, new pkijs.BasicConstraints({ cA: true, pathLenConstraint: pathLen }).toSchema()),
    ext('2.5.29.15', true, keyUsage(0x06)),
  ];
  const leafExt = () => [
    ext('2.5.29.19', true, new pkijs.BasicConstraints({ cA: false }).toSchema()),
    ext('2.5.29.15', true, keyUsage(0xc0)),
  ];
  const makeRoot = () => createCert('Intel SGX Root CA', 'self', caExt(1));
  const issue = (issuer: TestCert, cn: string, ca: boolean, extra: pkijs.Extension[] = []) =>
    createCert(cn, { name: issuer.asn.subject, key: issuer.keys.privateKey }, [...(ca ? caExt(0) : leafExt()), ...extra]);

  const root = await makeRoot();
  const createPckCa = (r: TestCert) => issue(r, 'Intel SGX PCK Platform CA', true);
  const pckCa = await createPckCa(root);
  const tcbSigner = await issue(root, 'Intel SGX TCB Signing', false);
  const defaultFmspc = (opts.fmspc ?? '00906ed50000').toLowerCase();
  const defaultPceId = (opts.pceId ?? '0000').toLowerCase();

  const issuePckLeaf = async (o: TestPckLeafOptions = {}): Promise<TestPckLeaf> => {
    const fields = {
      fmspc: (o.fmspc ?? defaultFmspc).toLowerCase(), pceId: (o.pceId ?? defaultPceId).toLowerCase(),
      tcbComponents: o.tcbComponents ?? new Array<number>(16).fill(2), pceSvn: o.pceSvn ?? 13,
    };
    if (fields.tcbComponents.length !== 16) throw new RangeError('tcbComponents must have 16 entries');
    const issuer = o.issuer ?? pckCa;
    const c = await issue(issuer, 'Intel SGX PCK Certificate', false, [sgxExtension(fields)]);
    return { ...c, ...fields, issuer };
  };
  const defaultLeaf = await issuePckLeaf();
  const tcbKey = KeyObject.from(tcbSigner.keys.privateKey);
  const signJson = (text: string) => sign('sha256', Buffer.from(text, 'utf8'), { key: tcbKey, dsaEncoding: 'ieee-p1363' }).toString('hex');

  const collateral = async (o: TestCollateralOptions): Promise<Collateral> => {
    const issueDate = o.issueDate ?? new Date(now.getTime() - DAY);
    const nextUpdate = o.nextUpdate ?? new Date(now.getTime() + 30 * DAY);
    const evalNum = o.tcbEvaluationDataNumber ?? 17;
    const comps = (svns: number[]) => svns.map((svn) => ({ svn }));
    const levels = o.tcbLevels ?? [{ status: 'UpToDate' as const }];
    const tcbInfo: Record<string, unknown> = {
      id: o.tee, version: 3, issueDate: ts(issueDate), nextUpdate: ts(nextUpdate),
      fmspc: (o.fmspc ?? defaultFmspc).toUpperCase(), pceId: (o.pceId ?? defaultPceId).toUpperCase(), tcbType: 0,
      tcbEvaluationDataNumber: evalNum,
    };
    if (o.tee === 'TDX') {
      tcbInfo.tdxModule = { mrsigner: '00'.repeat(48), attributes: '0000000000000000', attributesMask: 'FFFFFFFFFFFFFFFF' };
      if (o.tdxModuleIdentities) {
        tcbInfo.tdxModuleIdentities = o.tdxModuleIdentities.map((m) => ({
          id: `TDX_${m.version.toString(16).padStart(2, '0').toUpperCase()}`, mrsigner: m.mrSigner ?? '00'.repeat(48),
          attributes: '0000000000000000', attributesMask: 'FFFFFFFFFFFFFFFF',
          tcbLevels: m.levels.map((l) => ({ tcb: { isvsvn: l.isvSvn }, tcbDate: '2024-01-01T00:00:00Z', tcbStatus: l.status,
            ...(l.advisoryIds ? { advisoryIDs: l.advisoryIds } : {}) })),
        }));
      }
    }
    tcbInfo.tcbLevels = levels.map((l) => ({
      tcb: {
        sgxtcbcomponents: comps(l.sgxComponents ?? defaultLeaf.tcbComponents),
        pcesvn: l.pceSvn ?? defaultLeaf.pceSvn,
        ...(o.tee === 'TDX' ? { tdxtcbcomponents: comps(l.tdxComponents ?? new Array<number>(16).fill(0)) } : {}),
      },
      tcbDate: l.tcbDate ?? '2024-01-01T00:00:00Z', tcbStatus: l.status,
      ...(l.advisoryIds ? { advisoryIDs: l.advisoryIds } : {}),
    }));
    const qeIdentity = {
      id: o.tee === 'SGX' ? 'QE' : 'TD_QE', version: 2, issueDate: ts(issueDate), nextUpdate: ts(nextUpdate),
      tcbEvaluationDataNumber: evalNum, miscselect: '00000000', miscselectMask: 'FFFFFFFF',
      attributes: TEST_QE_ATTRIBUTES, attributesMask: TEST_QE_ATTRIBUTES_MASK, mrsigner: TEST_QE_MRSIGNER.toUpperCase(),
      isvprodid: o.tee === 'SGX' ? 1 : 2,
      tcbLevels: (o.qeTcbLevels ?? [{ isvSvn: 8, status: 'UpToDate' as const }]).map((l) => ({
        tcb: { isvsvn: l.isvSvn }, tcbDate: '2024-01-01T00:00:00Z', tcbStatus: l.status,
        ...(l.advisoryIds ? { advisoryIDs: l.advisoryIds } : {}) })),
    };
    const tcbText = JSON.stringify(tcbInfo);
    const qeText = JSON.stringify(qeIdentity);
    const crl = async (issuer: TestCert, serials: string[]) => {
      const time = (d: Date) => new pkijs.Time({ type: 0, value: d });
      const c = new pkijs.CertificateRevocationList({
        version: 1, issuer: issuer.asn.subject, thisUpdate: time(o.crlThisUpdate ?? issueDate),
        nextUpdate: time(o.crlNextUpdate ?? nextUpdate),
      });
      if (serials.length > 0) {
        c.revokedCertificates = serials.map((sn) => new pkijs.RevokedCertificate({
          userCertificate: new asn1js.Integer({ valueHex: Uint8Array.from(Buffer.from(sn.length % 2 ? '0' + sn : sn, 'hex')).buffer }),
          revocationDate: time(issueDate),
        }));
      }
      await c.sign(issuer.keys.privateKey, 'SHA-256', engine);
      return Buffer.from(c.toSchema(true).toBER(false)).toString('hex');
    };
    const chain = tcbSigner.pem + '\n' + root.pem + '\n';
    return loadCollateral({
      pck_crl_issuer_chain: pckCa.pem + '\n' + root.pem + '\n',
      root_ca_crl: await crl(root, o.revokePckCa ? [pckCa.serial] : []),
      pck_crl: await crl(pckCa, o.revokedPckSerials ?? []),
      tcb_info_issuer_chain: chain, tcb_info: tcbText, tcb_info_signature: signJson(tcbText),
      qe_identity_issuer_chain: chain, qe_identity: qeText, qe_identity_signature: signJson(qeText),
    });
  };

  const signing = (tee: 'SGX' | 'TDX', o: QuoteBuildOptions = {}) => {
    const leaf = o.leaf ?? defaultLeaf;
    const tail = o.chainTail ?? [root];
    return {
      pckKey: KeyObject.from(leaf.keys.privateKey),
      pckChainPem: [leaf, leaf.issuer, ...tail].map((c) => c.pem).join('\n') + '\n',
      qeReport: {
        cpuSvn: Uint8Array.from(leaf.tcbComponents), attributes: Uint8Array.from(Buffer.from(TEST_QE_ATTRIBUTES, 'hex')),
        mrEnclave: new Uint8Array(32).fill(0x0e), mrSigner: Uint8Array.from(Buffer.from(TEST_QE_MRSIGNER, 'hex')),
        isvProdId: tee === 'SGX' ? 1 : 2, isvSvn: 8, ...o.qe,
      },
      pceSvn: leaf.pceSvn,
      padding: o.padding,
    };
  };

  return {
    rootDer: root.der, root, pckCa, tcbSigner, defaultLeaf, issuePckLeaf, collateral, createPckCa,
    createLookAlikeRoot: makeRoot,
    buildSgxQuoteV3(p, o) {
      const leaf = o?.leaf ?? defaultLeaf;
      const body = encodeSgxReportBody({
        cpuSvn: p.cpuSvn ?? Uint8Array.from(leaf.tcbComponents), attributes: p.attributes ?? SGX_ATTRIBUTES_PRODUCTION,
        mrEnclave: p.mrEnclave, mrSigner: p.mrSigner, isvProdId: p.isvProdId, isvSvn: p.isvSvn, reportData: p.reportData,
      });
      return assembleQuote(3, body, signing('SGX', o));
    },
    buildTdxQuoteV4(p, o) {
      return assembleQuote(4, encodeTdReport10(tdFields(p)), signing('TDX', o));
    },
    buildTdxQuoteV5(p, o) {
      const f = tdFields(p);
      return assembleQuote(5, encodeTdReport15({ ...f, teeTcbSvn2: p.teeTcbSvn2 ?? f.teeTcbSvn, mrServiceTd: p.mrServiceTd }), signing('TDX', o));
    },
  };
}

function tdFields(p: TdxQuoteParams): TdReportFields {
  return {
    teeTcbSvn: p.teeTcbSvn ?? Uint8Array.from([3, ...new Array<number>(15).fill(0)]),
    mrSignerSeam: p.mrSignerSeam, seamAttributes: p.seamAttributes,
    tdAttributes: p.tdAttributes ?? TD_ATTRIBUTES_SEPT_VE_DISABLE, xfam: p.xfam, mrTd: p.mrTd, rtmrs: p.rtmrs,
    mrConfigId: p.mrConfigId, mrOwner: p.mrOwner, mrOwnerConfig: p.mrOwnerConfig, reportData: p.reportData,
  };
}

