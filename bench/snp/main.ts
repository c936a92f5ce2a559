// SEV-SNP verification benchmark: the real Milan reports of fixtures/sev-snp verified with a warm
// cache by our verifier, by the npm peer @lit-protocol/sev-snp-utils-sdk (WASM, Milan only) and by
// the floor — one ECDSA P-384 / SHA-384 verification of the signed bytes with the VCEK key already
// decoded (what any verifier must do per report once the chain is cached) — in the same run; prints
// the rates and the ratios ours/peer and ours/floor. Also our cold-cache rate (chain, CRL and
// certificate parsing and RSA-PSS checks on every call) and the Genoa report (the peer cannot).
//   node dist/bench/snp/main.js          (BENCH_MS=ms per measurement, GATEKEEPER_SHARED=path)
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { verify as cryptoVerify, X509Certificate } from 'node:crypto';
import { parseSnpReport, SnpVerificationCache, verifySnpReport, type SnpVerifyInput } from '../../src/attestation/index.js';
import { sharedDir } from '../common/shared-dir.js';

const BUDGET_MS = Number(process.env.BENCH_MS ?? 1500);

interface LitSdk { initWasmSevSnpUtilsSdk(): Promise<unknown>; verify_attestation_report(b64: string, vcek: Uint8Array): Promise<void> }
async function loadLit(): Promise<LitSdk> {
  // The package inflates its WASM with `pako`, which it does not declare; node:zlib inflates the same stream.
  const require = createRequire(import.meta.url);
  const file = require.resolve('@lit-protocol/sev-snp-utils-sdk/src/lib/sev-snp-utils-sdk.js');
  const mod = { exports: {} as LitSdk };
  new Function('require', 'exports', 'module', fs.readFileSync(file, 'utf8'))(
    (n: string) => (n === 'pako' ? { inflate: (b: Uint8Array) => new Uint8Array(zlib.inflateSync(b)) } : require(n)), mod.exports, mod);
  await mod.exports.initWasmSevSnpUtilsSdk();
  return mod.exports;
}

async function measure(fn: () => void | Promise<void>): Promise<number> {
  for (let i = 0; i < 3; i++) await fn();
  let ops = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < BUDGET_MS) { await fn(); ops++; t = performance.now(); }
  return (ops * 1000) / (t - t0);
}

const dir = path.join(sharedDir(), 'fixtures', 'sev-snp');
const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
  cases: { id: string; report: string; vcek: string; askArk: string; crl: string | null; now: string }[];
};
const read = (f: string) => Uint8Array.from(fs.readFileSync(path.join(dir, f)));
const lit = await loadLit();
const cache = new SnpVerificationCache();

const fmt = (x: number) => x.toFixed(0).padStart(8);
console.log(`SEV-SNP report verification, ${BUDGET_MS} ms per measurement, node ${process.version}`);
console.log(`${'case'.padEnd(24)} ${'ours/s'.padStart(8)} ${'peer/s'.padStart(8)} ${'floor/s'.padStart(8)} ${'ours/peer'.padStart(10)} ${'ours/floor'.padStart(11)} ${'cold/s'.padStart(8)}`);
for (const id of ['virtee-milan-v2-ok', 'gosev-milan-v2-debug', 'azure-genoa-v3-ok']) {
  const c = manifest.cases.find((x) => x.id === id)!;
  const report = read(c.report);
  const vcek = read(c.vcek);
  const input: SnpVerifyInput = { vcek, askArk: read(c.askArk), crl: read(c.crl!), now: new Date(c.now), cache, options: { allowDebug: true } };
  if (!verifySnpReport(report, input).ok) throw new Error(`${id}: ours refused before timing`);
  const b64 = Buffer.from(report).toString('base64');
  const peerOk = await lit.verify_attestation_report(b64, vcek).then(() => true, () => false);
  const key = new X509Certificate(vcek).publicKey;
  const r = parseSnpReport(report);
  const sig = Buffer.concat([r.signatureR, r.signatureS]);
  const ours = await measure(() => { if (!verifySnpReport(report, input).ok) throw new Error('refused'); });
  const cold = await measure(() => { verifySnpReport(report, { ...input, cache: new SnpVerificationCache() }); });
  const floor = await measure(() => { if (!cryptoVerify('sha384', r.signed, { key, dsaEncoding: 'ieee-p1363' }, sig)) throw new Error('floor'); });
  const peer = peerOk ? await measure(() => lit.verify_attestation_report(b64, vcek)) : NaN;
  console.log(`${id.padEnd(24)} ${fmt(ours)} ${peerOk ? fmt(peer) : '     n/a'} ${fmt(floor)} ${peerOk ? `${(ours / peer).toFixed(1)}x`.padStart(10) : '       n/a'} ${`${(ours / floor).toFixed(2)}x`.padStart(11)} ${fmt(cold)}`);
}
console.log('peer n/a: @lit-protocol/sev-snp-utils-sdk embeds only the Milan chain and refuses the Genoa report.');
