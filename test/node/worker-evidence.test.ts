// A member's handling of a worker's SEV-SNP evidence (src/node/worker-evidence.ts), in process: the
// oneof and its size caps, REPORT_DATA read from the unverified report, and the full verification
// against the trusted ARKs with the namespace's policy; each refusal has the status a worker sees.
import { status } from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { SnpVerificationCache, VerificationCache } from '../../src/attestation/index.js';
import { createSnpTestPki, type SnpTestPki } from '../../src/attestation/test-pki/snp.js';
import { attestationPolicyFor, parseReleasePolicy } from '../../src/keys/release-policy.js';
import { demoReleasePolicy, DEMO_SNP_MEASUREMENT } from '../../src/devnet/devnet.js';
import { RpcError } from '../../src/rpc/errors.js';
import { checkEvidenceShape, claimedReportData, verifyEvidence, type WorkerEvidence } from '../../src/node/worker-evidence.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
let pki: SnpTestPki;
let crl: Uint8Array;
const policy = parseReleasePolicy(demoReleasePolicy(1, 3));

beforeAll(async () => {
  pki = await createSnpTestPki({ product: 'Genoa' });
  crl = await pki.crl();
});

function refused(f: () => unknown, code: status, pattern: RegExp): void {
  let err: unknown;
  try { f(); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(RpcError);
  expect(status[(err as RpcError).code]).toBe(status[code]);
  expect((err as RpcError).message).toMatch(pattern);
}

function evidence(reportData: Uint8Array, measurement = DEMO_SNP_MEASUREMENT): WorkerEvidence {
  return { kind: 'snp', report: pki.buildReport({ reportData, measurement: Buffer.from(measurement, 'hex') }), vcek: pki.vcek.der, askArkPem: pki.askArkPem, crl };
}

const trust = (snpArks: Record<string, Uint8Array> | undefined) => ({
  now: new Date(), dcapRoot: new Uint8Array(), dcapCache: new VerificationCache(), snpArks, snpCache: new SnpVerificationCache(),
});

describe('the evidence oneof', () => {
  test('exactly one form, each field capped before anything is parsed', () => {
    refused(() => checkEvidenceShape({}), status.INVALID_ARGUMENT, /evidence is required/);
    refused(() => checkEvidenceShape({ evidence: 'snp', snp: { report: new Uint8Array(1184), vcek: new Uint8Array(10) } }), status.INVALID_ARGUMENT, /snp.crl is required/);
    refused(() => checkEvidenceShape({ snp: { report: new Uint8Array(4097), vcek: new Uint8Array(1), crl: new Uint8Array(1) } }), status.INVALID_ARGUMENT,
      /snp.report is larger than 4096 bytes/);
    refused(() => checkEvidenceShape({ snp: { report: new Uint8Array(1), vcek: new Uint8Array(1), crl: new Uint8Array(1), askArkPem: 'x'.repeat(16 * 1024 + 1) } }),
      status.INVALID_ARGUMENT, /snp.ask_ark_pem is larger than 16384 bytes/);
    refused(() => checkEvidenceShape({ dcap: { quote: new Uint8Array(1), collateralJson: '' } }), status.INVALID_ARGUMENT, /dcap.collateral_json is required/);
    expect(checkEvidenceShape({ evidence: 'snp', dcap: null, snp: { report: new Uint8Array(1), vcek: new Uint8Array(1), crl: new Uint8Array(1) } }))
      .toMatchObject({ kind: 'snp', askArkPem: '' });
  });

  test('REPORT_DATA is read from the unverified report; a malformed report is PERMISSION_DENIED naming the parse', () => {
    const rd = randomBytes(64);
    expect(hex(claimedReportData(evidence(rd)))).toBe(hex(rd));
    refused(() => claimedReportData({ kind: 'snp', report: new Uint8Array(100), vcek: new Uint8Array(1), askArkPem: '', crl: new Uint8Array(1) }),
      status.PERMISSION_DENIED, /the SNP report does not verify \(parse\): report is 100 bytes/);
  });
});

describe('verification with the namespace policy', () => {
  test('the development ARK, the demo-snp namespace and the bound REPORT_DATA: accepted, the MEASUREMENT recorded', () => {
    const rd = randomBytes(64);
    const counted: boolean[] = [];
    const v = verifyEvidence(evidence(rd), attestationPolicyFor(policy, 'demo-snp', rd), trust({ Genoa: pki.ark.der }), (ok) => counted.push(ok));
    expect(v).toMatchObject({ tee: 'SNP', detail: 'Genoa-B1 VCEK' });
    expect(hex(v.measurement)).toBe(DEMO_SNP_MEASUREMENT);
    expect(counted).toEqual([true]);
  });

  test('refusals: AMD-only trust, an SGX-only namespace (before any verification), another binding, another measurement', () => {
    const rd = randomBytes(64);
    const counted: boolean[] = [];
    const count = (ok: boolean) => counted.push(ok);
    refused(() => verifyEvidence(evidence(rd), attestationPolicyFor(policy, 'demo-snp', rd), trust(undefined), count),
      status.PERMISSION_DENIED, /does not verify \(snp-ark\)/);
    refused(() => verifyEvidence(evidence(rd), attestationPolicyFor(policy, 'demo', rd), trust({ Genoa: pki.ark.der }), count),
      status.PERMISSION_DENIED, /\(tee\): SNP workers are not allowed by this namespace/);
    refused(() => verifyEvidence(evidence(rd), attestationPolicyFor(policy, 'demo-snp', randomBytes(64)), trust({ Genoa: pki.ark.der }), count),
      status.PERMISSION_DENIED, /REPORT_DATA does not bind/);
    refused(() => verifyEvidence(evidence(rd, 'ee'.repeat(48)), attestationPolicyFor(policy, 'demo-snp', rd), trust({ Genoa: pki.ark.der }), count),
      status.PERMISSION_DENIED, /\(measurement\): MEASUREMENT eeee/);
    // The SGX-only namespace refused without running the verifier: three verifications, not four.
    expect(counted).toEqual([false, true, true]);
  });
});
