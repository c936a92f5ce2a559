// DEVELOPMENT ONLY. Saves a test PKI (src/attestation/test-pki) to one file so that a development
// worker process can make real-format DCAP quotes that verify against that PKI's root, and node
// configs can name the root; with an SEV-SNP development PKI (test-pki/snp.ts) in it too, SNP
// reports that verify against its ARK. The file holds the PCK leaf's and the VCEK's private keys: it
// is written 0600 and must never be used where production evidence is expected (production nodes
// pin Intel's root and AMD's ARKs).
import fs from 'node:fs';
import path from 'node:path';
import { KeyObject, X509Certificate, createPrivateKey } from 'node:crypto';
import { loadCollateral, type Collateral } from '../attestation/collateral.js';
import {
  SGX_ATTRIBUTES_PRODUCTION, TD_ATTRIBUTES_SEPT_VE_DISABLE, TEST_QE_ATTRIBUTES, TEST_QE_MRSIGNER,
  type SgxQuoteParams, type TdxQuoteParams, type TestPki,
} from '../attestation/test-pki/index.js';
import { assembleQuote, encodeSgxReportBody, encodeTdReport10, type QuoteSigningInputs } from '../attestation/test-pki/quote-builder.js';
import { buildSnpReport, type SnpReportParams, type SnpTestPki } from '../attestation/test-pki/snp.js';
import { SNP_PRODUCTS, type SnpProduct } from '../attestation/snp/amd-roots.js';
import type { SnpTcb } from '../attestation/snp/report.js';

export const TEST_PKI_FILE_FORMAT = 'gatekeeper-development-test-pki/1';

/** The DCAP TEEs (collateral per TEE). */
export type Tee = 'SGX' | 'TDX';

/** The file is not a saved test PKI. */
export class TestPkiFileError extends Error {
  override name = 'TestPkiFileError';
}

interface TestPkiFile {
  format: string;
  warning: string;
  rootPem: string;
  pckCaPem: string;
  pckLeaf: { pem: string; privateKeyPkcs8Pem: string; tcbComponents: number[]; pceSvn: number; fmspc: string; pceId: string };
  /** Collateral per TEE in the fixtures' JSON layout (valid 30 days from creation). */
  collateral: Record<Tee, Collateral>;
  /** The SEV-SNP development PKI, when saved with one. */
  snp?: {
    product: SnpProduct; arkPem: string; askPem: string;
    vcek: { pem: string; privateKeyPkcs8Pem: string; tcb: SnpTcb; hwid: string };
    /** ARK-signed CRL, DER base64 (valid 30 days from creation). */
    crl: string;
  };
}

/** What a development SNP worker needs: reports signed by the VCEK, and the files that verify them. */
export interface LoadedSnpPki {
  product: SnpProduct;
  arkDer: Uint8Array;
  vcekDer: Uint8Array;
  /** ASK then ARK, PEM (AMD KDS cert_chain layout). */
  askArkPem: string;
  crlDer: Uint8Array;
  buildReport(params: SnpReportParams): Uint8Array;
}

/** What a development worker needs of a test PKI once loaded from its file. */
export interface LoadedTestPki {
  rootDer: Uint8Array;
  collateralJson(tee: Tee): string;
  buildSgxQuoteV3(params: SgxQuoteParams): Uint8Array;
  buildTdxQuoteV4(params: TdxQuoteParams): Uint8Array;
  /** Present when the file carries an SEV-SNP development PKI. */
  snp?: LoadedSnpPki;
}

/**
 * Writes the PKI's root, PCK chain, PCK leaf key (PKCS#8 PEM) and SGX/TDX collateral to `file`, mode
 * 0600; with `snp`, also the SEV-SNP development ARK, ASK, VCEK and its key, and a fresh CRL.
 */
export async function saveTestPki(pki: TestPki, file: string, snp?: SnpTestPki): Promise<void> {
  const leaf = pki.defaultLeaf;
  const body: TestPkiFile = {
    format: TEST_PKI_FILE_FORMAT,
    warning: 'DEVELOPMENT ONLY: a test PKI shaped like Intel SGX (and AMD SEV-SNP), not Intel or AMD. Holds private keys. Never trust in production.',
    rootPem: pki.root.pem,
    pckCaPem: leaf.issuer.pem,
    pckLeaf: {
      pem: leaf.pem,
      privateKeyPkcs8Pem: KeyObject.from(leaf.keys.privateKey).export({ type: 'pkcs8', format: 'pem' }).toString(),
      tcbComponents: leaf.tcbComponents, pceSvn: leaf.pceSvn, fmspc: leaf.fmspc, pceId: leaf.pceId,
    },
    collateral: { SGX: await pki.collateral({ tee: 'SGX' }), TDX: await pki.collateral({ tee: 'TDX' }) },
    ...(snp ? { snp: {
      product: snp.product, arkPem: snp.ark.pem, askPem: snp.ask.pem,
      vcek: { pem: snp.vcek.pem, privateKeyPkcs8Pem: KeyObject.from(snp.vcek.keys.privateKey).export({ type: 'pkcs8', format: 'pem' }).toString(),
        tcb: snp.vcek.tcb, hwid: Buffer.from(snp.vcek.hwid ?? new Uint8Array()).toString('hex') },
      crl: Buffer.from(await snp.crl()).toString('base64'),
    } } : {}),
  };
  // Written beside the target with O_EXCL and 0600, then renamed, so the key is never readable by others.
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(body, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  fs.renameSync(tmp, file);
}

function readFile(file: string): TestPkiFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new TestPkiFileError(`cannot read test PKI file '${file}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let obj: TestPkiFile;
  try {
    obj = JSON.parse(text) as TestPkiFile;
  } catch {
    throw new TestPkiFileError(`test PKI file '${file}' is not JSON`);
  }
  if (obj?.format !== TEST_PKI_FILE_FORMAT) throw new TestPkiFileError(`'${file}' is not a saved test PKI (format ${TEST_PKI_FILE_FORMAT})`);
  const l = obj.pckLeaf;
  if (typeof obj.rootPem !== 'string' || typeof obj.pckCaPem !== 'string' || typeof l?.pem !== 'string'
    || typeof l.privateKeyPkcs8Pem !== 'string' || !Array.isArray(l.tcbComponents) || l.tcbComponents.length !== 16
    || !Number.isInteger(l.pceSvn) || !obj.collateral?.SGX || !obj.collateral?.TDX) {
    throw new TestPkiFileError(`test PKI file '${file}' is incomplete`);
  }
  return obj;
}

function derOf(pem: string, file: string): Uint8Array {
  try {
    return Uint8Array.from(new X509Certificate(pem).raw);
  } catch {
    throw new TestPkiFileError(`test PKI file '${file}': a certificate does not parse`);
  }
}

/** The DER of the saved PKI's root, for a development node config's trusted root. */
export function testPkiRootDer(file: string): Uint8Array {
  return derOf(readFile(file).rootPem, file);
}

/** The DER of the saved SEV-SNP development ARK, for a development node config's attestation.snpArkFiles. */
export function testPkiSnpArkDer(file: string): Uint8Array {
  const f = readFile(file);
  if (!f.snp) throw new TestPkiFileError(`test PKI file '${file}' has no SEV-SNP development PKI`);
  return derOf(f.snp.arkPem, file);
}

function loadSnp(s: NonNullable<TestPkiFile['snp']>, file: string): LoadedSnpPki {
  const bad = () => new TestPkiFileError(`test PKI file '${file}': its SEV-SNP part is incomplete`);
  if (!SNP_PRODUCTS.includes(s.product) || typeof s.arkPem !== 'string' || typeof s.askPem !== 'string' || typeof s.vcek?.pem !== 'string'
    || typeof s.vcek.privateKeyPkcs8Pem !== 'string' || typeof s.crl !== 'string' || typeof s.vcek.hwid !== 'string' || typeof s.vcek.tcb !== 'object') {
    throw bad();
  }
  const arkDer = derOf(s.arkPem, file);
  derOf(s.askPem, file);
  const vcekDer = derOf(s.vcek.pem, file);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(s.vcek.privateKeyPkcs8Pem);
  } catch {
    throw new TestPkiFileError(`test PKI file '${file}': the VCEK key does not parse`);
  }
  const signer = { privateKey, kind: 'VCEK' as const, tcb: s.vcek.tcb, hwid: Uint8Array.from(Buffer.from(s.vcek.hwid, 'hex')) };
  return {
    product: s.product, arkDer, vcekDer, askArkPem: s.askPem.trim() + '\n' + s.arkPem.trim() + '\n',
    crlDer: Uint8Array.from(Buffer.from(s.crl, 'base64')),
    buildReport: (params) => buildSnpReport(params, signer, s.product),
  };
}

/** Loads a saved test PKI: quotes built from it verify against its root with its collateral. */
export function loadTestPki(file: string): LoadedTestPki {
  const f = readFile(file);
  const rootDer = derOf(f.rootPem, file);
  derOf(f.pckCaPem, file);
  derOf(f.pckLeaf.pem, file);
  let pckKey: KeyObject;
  try {
    pckKey = createPrivateKey(f.pckLeaf.privateKeyPkcs8Pem);
  } catch {
    throw new TestPkiFileError(`test PKI file '${file}': the PCK leaf key does not parse`);
  }
  const collateral = { SGX: loadCollateral(f.collateral.SGX), TDX: loadCollateral(f.collateral.TDX) };
  const tcb = Uint8Array.from(f.pckLeaf.tcbComponents);
  const chain = [f.pckLeaf.pem, f.pckCaPem, f.rootPem].map((p) => p.trim()).join('\n') + '\n';
  // The same QE report and chain as TestPki's own builder (src/attestation/test-pki/index.ts).
  const signing = (tee: Tee): QuoteSigningInputs => ({
    pckKey, pckChainPem: chain, pceSvn: f.pckLeaf.pceSvn,
    qeReport: {
      cpuSvn: tcb, attributes: Uint8Array.from(Buffer.from(TEST_QE_ATTRIBUTES, 'hex')), mrEnclave: new Uint8Array(32).fill(0x0e),
      mrSigner: Uint8Array.from(Buffer.from(TEST_QE_MRSIGNER, 'hex')), isvProdId: tee === 'SGX' ? 1 : 2, isvSvn: 8,
    },
  });
  return {
    rootDer,
    ...(f.snp ? { snp: loadSnp(f.snp, file) } : {}),
    collateralJson: (tee) => JSON.stringify(collateral[tee]),
    buildSgxQuoteV3: (p) => assembleQuote(3, encodeSgxReportBody({
      cpuSvn: p.cpuSvn ?? tcb, attributes: p.attributes ?? SGX_ATTRIBUTES_PRODUCTION, mrEnclave: p.mrEnclave, mrSigner: p.mrSigner,
      isvProdId: p.isvProdId, isvSvn: p.isvSvn, reportData: p.reportData,
    }), signing('SGX')),
    buildTdxQuoteV4: (p) => assembleQuote(4, encodeTdReport10({
      teeTcbSvn: p.teeTcbSvn ?? Uint8Array.from([3, ...new Array<number>(15).fill(0)]), mrSignerSeam: p.mrSignerSeam,
      seamAttributes: p.seamAttributes, tdAttributes: p.tdAttributes ?? TD_ATTRIBUTES_SEPT_VE_DISABLE, xfam: p.xfam, mrTd: p.mrTd,
      rtmrs: p.rtmrs, mrConfigId: p.mrConfigId, mrOwner: p.mrOwner, mrOwnerConfig: p.mrOwnerConfig, reportData: p.reportData,
    }), signing('TDX')),
  };
}
