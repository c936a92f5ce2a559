// Loads fixtures/dcap manifest cases for the attestation tests and the differential test.
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES_DIR } from '../helpers/shared.js';

export const DCAP_DIR = path.join(FIXTURES_DIR, 'dcap');

export interface ManifestCase {
  id: string; tee: 'SGX' | 'TDX'; quoteVersion: number; quote: string; collateral: string; now: number;
  expected: { verdict: 'accept' | 'reject'; status?: string; advisoryIds?: string[]; error?: string };
  report?: { mrEnclave?: string; mrSigner?: string; mrTd?: string; reportDataPrefixAscii?: string };
}

export const manifest = JSON.parse(fs.readFileSync(path.join(DCAP_DIR, 'manifest.json'), 'utf8')) as
  { trustedRoot: string; cases: ManifestCase[] };
export const intelRoot = Uint8Array.from(fs.readFileSync(path.join(DCAP_DIR, manifest.trustedRoot)));

export function fixtureCase(id: string): { c: ManifestCase; quote: Uint8Array; collateralJson: Record<string, string> } {
  const c = manifest.cases.find((x) => x.id === id);
  if (c === undefined) throw new Error(`no manifest case ${id}`);
  return {
    c,
    quote: Uint8Array.from(fs.readFileSync(path.join(DCAP_DIR, c.quote))),
    collateralJson: JSON.parse(fs.readFileSync(path.join(DCAP_DIR, c.collateral), 'utf8')) as Record<string, string>,
  };
}

export const readFixture = (rel: string) => fs.readFileSync(path.join(DCAP_DIR, rel));
