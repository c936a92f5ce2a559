// AMD's X.509 extensions of a VCEK or VLEK (AMD "Versioned Chip Endorsement Key (VCEK) Certificate
// and KDS Interface Specification", pub. 57230, section "VCEK Certificate Extensions"): product name,
// the TCB the key was derived for, and the chip's hwID (VCEK) or the cloud provider's ID (VLEK).
import * as asn1js from 'asn1js';
import type * as pkijs from 'pkijs';
import { fail } from '../errors.js';

export const OID_AMD_SEV = '1.3.6.1.4.1.3704.1';
const OID = {
  structVersion: `${OID_AMD_SEV}.1`,
  productName: `${OID_AMD_SEV}.2`,
  blSpl: `${OID_AMD_SEV}.3.1`,
  teeSpl: `${OID_AMD_SEV}.3.2`,
  snpSpl: `${OID_AMD_SEV}.3.3`,
  ucodeSpl: `${OID_AMD_SEV}.3.8`,
  fmcSpl: `${OID_AMD_SEV}.3.9`,
  hwid: `${OID_AMD_SEV}.4`,
  cspId: `${OID_AMD_SEV}.5`,
} as const;

export interface AmdKeyExtensions {
  /** productName as issued, e.g. "Milan-B0", "Genoa", "Turin". */
  productName: string;
  tcb: { bootloader: number; tee: number; snp: number; microcode: number; fmc?: number };
  /** VCEK only: the chip's hwID (64 bytes; 8 on Turin). */
  hwid?: Uint8Array;
  /** VLEK only: the cloud service provider's name. */
  cspId?: string;
}

function extValue(cert: pkijs.Certificate, oid: string): Uint8Array | undefined {
  const found = (cert.extensions ?? []).filter((e) => e.extnID === oid);
  if (found.length > 1) fail('snp-vcek', `certificate repeats AMD extension ${oid}`);
  return found[0]?.extnValue.valueBlock.valueHexView;
}

function spl(cert: pkijs.Certificate, oid: string, name: string, required: boolean): number | undefined {
  const v = extValue(cert, oid);
  if (v === undefined) {
    if (required) fail('snp-vcek', `certificate has no ${name} extension (${oid})`);
    return undefined;
  }
  const parsed = asn1js.fromBER(v);
  const int = parsed.result;
  if (parsed.offset !== v.length || !(int instanceof asn1js.Integer)) fail('snp-vcek', `${name} extension is not a DER INTEGER`);
  const n = int.valueBlock.valueDec;
  if (!Number.isInteger(n) || n < 0 || n > 255) fail('snp-vcek', `${name} extension value is out of range 0..255`);
  return n;
}

function stringExt(cert: pkijs.Certificate, oid: string, name: string): string | undefined {
  const v = extValue(cert, oid);
  if (v === undefined) return undefined;
  const parsed = asn1js.fromBER(v);
  const s = parsed.result;
  if (parsed.offset !== v.length || !(s instanceof asn1js.IA5String)) fail('snp-vcek', `${name} extension is not a DER IA5String`);
  const text = s.valueBlock.value;
  if (!/^[\x20-\x7e]{1,64}$/.test(text)) fail('snp-vcek', `${name} extension is not 1-64 printable characters`);
  return text;
}

/** The productName extension ('' when absent). */
export function productNameOf(cert: pkijs.Certificate, kind: 'VCEK' | 'VLEK'): string {
  const name = stringExt(cert, OID.productName, `${kind} productName`);
  return name ?? '';
}

/** Decodes the AMD extensions of a VCEK (`hwid` required) or VLEK (`cspId` required). */
export function parseAmdKeyExtensions(cert: pkijs.Certificate, kind: 'VCEK' | 'VLEK', turin: boolean): AmdKeyExtensions {
  const productName = stringExt(cert, OID.productName, 'productName');
  if (productName === undefined) fail('snp-vcek', `${kind} has no productName extension (${OID.productName})`);
  const tcb = {
    bootloader: spl(cert, OID.blSpl, 'blSPL', true)!,
    tee: spl(cert, OID.teeSpl, 'teeSPL', true)!,
    snp: spl(cert, OID.snpSpl, 'snpSPL', true)!,
    microcode: spl(cert, OID.ucodeSpl, 'ucodeSPL', true)!,
    ...(turin ? { fmc: spl(cert, OID.fmcSpl, 'fmcSPL', true)! } : {}),
  };
  if (!turin && extValue(cert, OID.fmcSpl) !== undefined) fail('snp-vcek', `${kind} of a ${productName} has an fmcSPL extension (Turin only)`);
  if (kind === 'VCEK') {
    // The hwID extension value is the raw chip ID, not DER-wrapped (as AMD's KDS issues it).
    const hwid = extValue(cert, OID.hwid);
    if (hwid === undefined) fail('snp-vcek', `VCEK has no hwID extension (${OID.hwid})`);
    const want = turin ? 8 : 64;
    if (hwid.length !== want) fail('snp-vcek', `VCEK hwID is ${hwid.length} bytes, expected ${want} for this product`);
    return { productName, tcb, hwid: Uint8Array.from(hwid) };
  }
  const cspId = stringExt(cert, OID.cspId, 'csp_id');
  if (cspId === undefined) fail('snp-vcek', `VLEK has no csp_id extension (${OID.cspId})`);
  if (extValue(cert, OID.hwid) !== undefined) fail('snp-vcek', 'VLEK carries a hwID extension');
  return { productName, tcb, cspId };
}
