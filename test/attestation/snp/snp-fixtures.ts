// Loads fixtures/sev-snp manifest cases for the SNP tests, the differential test and the CLI test.
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES_DIR } from '../../helpers/shared.js';

export const SNP_DIR = path.join(FIXTURES_DIR, 'sev-snp');

export interface SnpManifestCase {
  id: string; report: string; vcek: string; askArk: string; crl: string | null; now: string;
  expected: { verdict: 'accept' | 'reject'; reason: string };
  reportFields: {
    version: number; guestSvn: number; policy: string; vmpl: number; signatureAlgo: number; currentTcb: string;
    platformInfo: string; reportData: string; measurement: string; hostData: string; reportedTcb: string; chipId: string;
    cpuidFamModStep?: string; signatureVerifiesWithVcek: boolean;
  };
  vcekFields: { product: string; hwid: string; blSPL: number; teeSPL: number; snpSPL: number; ucodeSPL: number; notBefore: string; notAfter: string };
}

export const snpManifest = JSON.parse(fs.readFileSync(path.join(SNP_DIR, 'manifest.json'), 'utf8')) as { cases: SnpManifestCase[] };

export const readSnp = (rel: string) => Uint8Array.from(fs.readFileSync(path.join(SNP_DIR, rel)));

export interface LoadedSnpCase { c: SnpManifestCase; report: Uint8Array; vcek: Uint8Array; askArk: Uint8Array; crl: Uint8Array | null; now: Date }

export function snpCase(id: string): LoadedSnpCase {
  const c = snpManifest.cases.find((x) => x.id === id);
  if (c === undefined) throw new Error(`no SNP manifest case ${id}`);
  return { c, report: readSnp(c.report), vcek: readSnp(c.vcek), askArk: readSnp(c.askArk), crl: c.crl ? readSnp(c.crl) : null, now: new Date(c.now) };
}

/** The certificates of an ASK/ARK PEM file, DER, in file order. */
export function pemCerts(pem: Uint8Array | string): Uint8Array[] {
  const text = typeof pem === 'string' ? pem : Buffer.from(pem).toString('latin1');
  return [...text.matchAll(/-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/g)]
    .map((m) => Uint8Array.from(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')));
}

export const toPem = (der: Uint8Array) =>
  `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
