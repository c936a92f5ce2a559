// Loads @lit-protocol/sev-snp-utils-sdk (a Rust/WASM SEV-SNP verifier built on virtee's `sev` crate,
// with AMD's Milan ASK/ARK embedded) offline. Its package requires `pako` only to inflate the
// embedded WASM but does not declare it; node:zlib's inflateSync inflates the same zlib stream, so
// the module is evaluated with that shim instead of adding a second dependency.
import fs from 'node:fs';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';

interface LitSdk {
  initWasmSevSnpUtilsSdk(): Promise<unknown>;
  verify_attestation_report(reportB64: string, vcekDer: Uint8Array): Promise<void>;
  parse_attestation_report(reportB64: string): Record<string, unknown>;
}

let sdk: Promise<LitSdk> | undefined;

export function loadLitPeer(): Promise<LitSdk> {
  sdk ??= (async () => {
    const require = createRequire(import.meta.url);
    const file = require.resolve('@lit-protocol/sev-snp-utils-sdk/src/lib/sev-snp-utils-sdk.js');
    const mod = { exports: {} as LitSdk };
    const shimmed = (name: string): unknown => (name === 'pako' ? { inflate: (b: Uint8Array) => new Uint8Array(zlib.inflateSync(b)) } : require(name));
    new Function('require', 'exports', 'module', fs.readFileSync(file, 'utf8'))(shimmed, mod.exports, mod);
    await mod.exports.initWasmSevSnpUtilsSdk();
    return mod.exports;
  })();
  return sdk;
}

/** The peer's verdict: true when verify_attestation_report resolves. */
export async function litAccepts(report: Uint8Array, vcek: Uint8Array): Promise<boolean> {
  const lit = await loadLitPeer();
  try {
    await lit.verify_attestation_report(Buffer.from(report).toString('base64'), vcek);
    return true;
  } catch {
    return false;
  }
}
