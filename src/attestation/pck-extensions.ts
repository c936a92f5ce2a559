// SGX extensions of a PCK certificate (Intel SGX PCK Certificate and CRL Profile, section
// "SGX Extensions", OID 1.2.840.113741.1.13.1): PPID, TCB (16 component SVNs, PCESVN, CPUSVN),
// PCE-ID, FMSPC, SGX type. Decoded with asn1js; every required field must be present once with
// the right type and size.
import * as asn1js from 'asn1js';
import type * as pkijs from 'pkijs';
import { fail } from './errors.js';

export const OID_SGX_EXTENSIONS = '1.2.840.113741.1.13.1';
const OID_PPID = `${OID_SGX_EXTENSIONS}.1`;
const OID_TCB = `${OID_SGX_EXTENSIONS}.2`;
const OID_PCEID = `${OID_SGX_EXTENSIONS}.3`;
const OID_FMSPC = `${OID_SGX_EXTENSIONS}.4`;
const OID_SGX_TYPE = `${OID_SGX_EXTENSIONS}.5`;
const OID_PCESVN = `${OID_TCB}.17`;
const OID_CPUSVN = `${OID_TCB}.18`;

export interface PckExtensions {
  ppid: Uint8Array;
  /** SGX TCB component SVNs 1..16. */
  tcbComponents: number[];
  pceSvn: number;
  cpuSvn: Uint8Array;
  /** Hex, 2 bytes. */
  pceId: string;
  /** Hex, 6 bytes. */
  fmspc: string;
  sgxType: number;
}

const bad = (msg: string): never => fail('pck-extensions', `PCK certificate SGX extension: ${msg}`);

/** Reads SEQUENCE { SEQUENCE { OID, value } ... } into a map, refusing duplicates. */
function entries(node: asn1js.AsnType, where: string): Map<string, asn1js.AsnType> {
  if (!(node instanceof asn1js.Sequence)) return bad(`${where} is not a SEQUENCE`);
  const out = new Map<string, asn1js.AsnType>();
  for (const item of node.valueBlock.value) {
    if (!(item instanceof asn1js.Sequence) || item.valueBlock.value.length !== 2) bad(`${where} has a malformed entry`);
    const [oid, value] = (item as asn1js.Sequence).valueBlock.value;
    if (!(oid instanceof asn1js.ObjectIdentifier)) return bad(`${where} entry without OID`);
    const id = oid.valueBlock.toString();
    if (out.has(id)) bad(`${where} repeats ${id}`);
    out.set(id, value!);
  }
  return out;
}

function octets(v: asn1js.AsnType | undefined, len: number, name: string): Uint8Array {
  if (!(v instanceof asn1js.OctetString)) return bad(`${name} missing or not an OCTET STRING`);
  const b = v.valueBlock.valueHexView;
  if (b.length !== len) bad(`${name} must be ${len} bytes, got ${b.length}`);
  return Uint8Array.from(b);
}

function integer(v: asn1js.AsnType | undefined, max: number, name: string): number {
  if (!(v instanceof asn1js.Integer) && !(v instanceof asn1js.Enumerated)) return bad(`${name} missing or not an INTEGER`);
  const n = v.valueBlock.valueDec;
  if (!Number.isInteger(n) || n < 0 || n > max) bad(`${name} out of range`);
  return n;
}

/** Extracts the SGX extensions of a PCK leaf certificate. */
export function parsePckExtensions(cert: pkijs.Certificate): PckExtensions {
  const ext = (cert.extensions ?? []).filter((e) => e.extnID === OID_SGX_EXTENSIONS);
  if (ext.length !== 1) bad(ext.length === 0 ? 'not present' : 'present more than once');
  const parsed = asn1js.fromBER(ext[0]!.extnValue.valueBlock.valueHexView);
  if (parsed.offset === -1) bad('not valid DER');
  const top = entries(parsed.result, 'SGX Extensions');
  const tcb = entries(top.get(OID_TCB) ?? bad('TCB missing'), 'TCB');
  const tcbComponents: number[] = [];
  for (let i = 1; i <= 16; i++) tcbComponents.push(integer(tcb.get(`${OID_TCB}.${i}`), 255, `SGX TCB component ${i}`));
  return {
    ppid: octets(top.get(OID_PPID), 16, 'PPID'),
    tcbComponents,
    pceSvn: integer(tcb.get(OID_PCESVN), 0xffff, 'PCESVN'),
    cpuSvn: octets(tcb.get(OID_CPUSVN), 16, 'CPUSVN'),
    pceId: Buffer.from(octets(top.get(OID_PCEID), 2, 'PCE-ID')).toString('hex'),
    fmspc: Buffer.from(octets(top.get(OID_FMSPC), 6, 'FMSPC')).toString('hex'),
    sgxType: integer(top.get(OID_SGX_TYPE), 2, 'SGX Type'),
  };
}
