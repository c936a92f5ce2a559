// AMD SEV-SNP ATTESTATION_REPORT (SEV Secure Nested Paging Firmware ABI Specification, pub. 56860,
// Table "ATTESTATION_REPORT Structure"), versions 2 to 5: a fixed 1184-byte layout whose first 0x2A0
// bytes are signed with ECDSA P-384 / SHA-384. The parser is strict: exact length, known version and
// signature algorithm, every reserved byte zero. Fields whose meaning depends on the product (the TCB
// layout of Turin) are decoded by the verifier once the product is known.

export const SNP_REPORT_SIZE = 0x4a0;
/** Bytes covered by the report signature. */
export const SNP_SIGNED_SIZE = 0x2a0;
/** SIGNATURE_ALGO 1: ECDSA P-384 with SHA-384. */
export const SNP_SIG_ALGO_ECDSA_P384_SHA384 = 1;

export class SnpReportParseError extends Error {
  override name = 'SnpReportParseError';
}

/** SIGNING_KEY (report offset 0x48 bits 4:2): 0 VCEK, 1 VLEK, 7 none. */
export type SnpSigningKey = 'VCEK' | 'VLEK';

export interface SnpReport {
  version: number;
  guestSvn: number;
  /** Guest policy, 64 bits. */
  policy: bigint;
  familyId: Uint8Array; imageId: Uint8Array;
  vmpl: number;
  signatureAlgo: number;
  currentTcb: Uint8Array;
  platformInfo: bigint;
  authorKeyEn: boolean;
  maskChipKey: boolean;
  signingKey: SnpSigningKey;
  reportData: Uint8Array;
  measurement: Uint8Array;
  hostData: Uint8Array;
  idKeyDigest: Uint8Array;
  authorKeyDigest: Uint8Array;
  reportId: Uint8Array;
  reportIdMa: Uint8Array;
  /** REPORTED_TCB, 8 bytes as stored (layout depends on the product). */
  reportedTcb: Uint8Array;
  /** CPUID family, model, stepping (report version 3 and later). */
  cpuid?: { family: number; model: number; stepping: number };
  chipId: Uint8Array;
  committedTcb: Uint8Array;
  currentVersion: { build: number; minor: number; major: number };
  committedVersion: { build: number; minor: number; major: number };
  launchTcb: Uint8Array;
  /** Report version 5 and later. */
  launchMitVector?: bigint;
  currentMitVector?: bigint;
  /** R and S, big-endian, 48 bytes each (the report stores them little-endian in 72-byte fields). */
  signatureR: Uint8Array;
  signatureS: Uint8Array;
  /** The signed bytes 0..0x2A0. */
  signed: Uint8Array;
}

function zero(b: Uint8Array, from: number, to: number, what: string): void {
  for (let i = from; i < to; i++) {
    if (b[i] !== 0) throw new SnpReportParseError(`reserved byte at offset 0x${i.toString(16)} (${what}) is not zero`);
  }
}

const leToBe = (b: Uint8Array) => Uint8Array.from(b).reverse();

/** Parses an SEV-SNP attestation report (versions 2-5); throws SnpReportParseError on any deviation. */
export function parseSnpReport(bytes: Uint8Array): SnpReport {
  if (!(bytes instanceof Uint8Array)) throw new SnpReportParseError('report must be bytes');
  if (bytes.length !== SNP_REPORT_SIZE) {
    throw new SnpReportParseError(`report is ${bytes.length} bytes, an SEV-SNP attestation report is ${SNP_REPORT_SIZE}`);
  }
  const b = Uint8Array.from(bytes);
  const dv = new DataView(b.buffer);
  const u32 = (o: number) => dv.getUint32(o, true);
  const u64 = (o: number) => dv.getBigUint64(o, true);
  const slice = (o: number, n: number) => b.slice(o, o + n);

  const version = u32(0x00);
  if (version < 2 || version > 5) throw new SnpReportParseError(`report version ${version} is not supported (2 to 5)`);
  const signatureAlgo = u32(0x34);
  if (signatureAlgo !== SNP_SIG_ALGO_ECDSA_P384_SHA384) {
    throw new SnpReportParseError(`signature algorithm ${signatureAlgo} is not ECDSA P-384 with SHA-384 (1)`);
  }
  const keyInfo = u32(0x48);
  const signingKeyCode = (keyInfo >>> 2) & 0x7;
  if (signingKeyCode !== 0 && signingKeyCode !== 1) {
    throw new SnpReportParseError(`SIGNING_KEY ${signingKeyCode} is not VCEK (0) or VLEK (1)`);
  }
  if ((keyInfo >>> 5) !== 0) throw new SnpReportParseError('reserved bits 31:5 of the key information field (0x48) are not zero');
  zero(b, 0x4c, 0x50, 'after key information');
  let cpuid: SnpReport['cpuid'];
  if (version >= 3) {
    cpuid = { family: b[0x188]!, model: b[0x189]!, stepping: b[0x18a]! };
    zero(b, 0x18b, 0x1a0, 'after CPUID');
  } else {
    zero(b, 0x188, 0x1a0, 'before CHIP_ID');
  }
  zero(b, 0x1eb, 0x1ec, 'CURRENT version');
  zero(b, 0x1ef, 0x1f0, 'COMMITTED version');
  let launchMitVector: bigint | undefined;
  let currentMitVector: bigint | undefined;
  if (version >= 5) {
    launchMitVector = u64(0x1f8);
    currentMitVector = u64(0x200);
    zero(b, 0x208, SNP_SIGNED_SIZE, 'after CURRENT_MIT_VECTOR');
  } else {
    zero(b, 0x1f8, SNP_SIGNED_SIZE, 'after LAUNCH_TCB');
  }
  // SIGNATURE: R (72 bytes LE), S (72 bytes LE), reserved; P-384 scalars use the low 48 bytes.
  zero(b, 0x2a0 + 48, 0x2a0 + 72, 'high bytes of R');
  zero(b, 0x2e8 + 48, 0x2e8 + 72, 'high bytes of S');
  zero(b, 0x330, SNP_REPORT_SIZE, 'after the signature');

  return {
    version, guestSvn: u32(0x04), policy: u64(0x08), familyId: slice(0x10, 16), imageId: slice(0x20, 16),
    vmpl: u32(0x30), signatureAlgo, currentTcb: slice(0x38, 8), platformInfo: u64(0x40),
    authorKeyEn: (keyInfo & 1) !== 0, maskChipKey: (keyInfo & 2) !== 0, signingKey: signingKeyCode === 0 ? 'VCEK' : 'VLEK',
    reportData: slice(0x50, 64), measurement: slice(0x90, 48), hostData: slice(0xc0, 32), idKeyDigest: slice(0xe0, 48),
    authorKeyDigest: slice(0x110, 48), reportId: slice(0x140, 32), reportIdMa: slice(0x160, 32), reportedTcb: slice(0x180, 8),
    cpuid, chipId: slice(0x1a0, 64), committedTcb: slice(0x1e0, 8),
    currentVersion: { build: b[0x1e8]!, minor: b[0x1e9]!, major: b[0x1ea]! },
    committedVersion: { build: b[0x1ec]!, minor: b[0x1ed]!, major: b[0x1ee]! },
    launchTcb: slice(0x1f0, 8), launchMitVector, currentMitVector,
    signatureR: leToBe(slice(0x2a0, 48)), signatureS: leToBe(slice(0x2e8, 48)),
    signed: slice(0, SNP_SIGNED_SIZE),
  };
}

/** A TCB_VERSION decoded for its product (Milan/Genoa: BL, TEE, -, -, -, -, SNP, UCODE; Turin: FMC, BL, TEE, SNP, -, -, -, UCODE). */
export interface SnpTcb { bootloader: number; tee: number; snp: number; microcode: number; fmc?: number }

/** Decodes an 8-byte TCB_VERSION; `undefined` when a reserved byte is set. */
export function decodeTcb(raw: Uint8Array, turin: boolean): SnpTcb | undefined {
  if (turin) {
    if (raw[4] !== 0 || raw[5] !== 0 || raw[6] !== 0) return undefined;
    return { fmc: raw[0]!, bootloader: raw[1]!, tee: raw[2]!, snp: raw[3]!, microcode: raw[7]! };
  }
  if (raw[2] !== 0 || raw[3] !== 0 || raw[4] !== 0 || raw[5] !== 0) return undefined;
  return { bootloader: raw[0]!, tee: raw[1]!, snp: raw[6]!, microcode: raw[7]! };
}

/** The product a report's CPUID (version 3+) names: family 19h model 0xh Milan, 1xh/Axh Genoa; family 1Ah Turin. */
export function productOfCpuid(c: { family: number; model: number }): 'Milan' | 'Genoa' | 'Turin' | undefined {
  if (c.family === 0x19) {
    if (c.model <= 0x0f) return 'Milan';
    if ((c.model >= 0x10 && c.model <= 0x1f) || (c.model >= 0xa0 && c.model <= 0xaf)) return 'Genoa';
    return undefined;
  }
  if (c.family === 0x1a && c.model <= 0x1f) return 'Turin';
  return undefined;
}

/** Guest POLICY bits (ABI spec, "GUEST_POLICY"). */
export const POLICY = {
  SMT: 1n << 16n,
  RESERVED_MUST_BE_ONE: 1n << 17n,
  MIGRATE_MA: 1n << 18n,
  DEBUG: 1n << 19n,
  SINGLE_SOCKET: 1n << 20n,
  CXL_ALLOW: 1n << 21n,
  MEM_AES_256_XTS: 1n << 22n,
  RAPL_DIS: 1n << 23n,
  CIPHERTEXT_HIDING: 1n << 24n,
  PAGE_SWAP_DISABLE: 1n << 25n,
  /** Bits 63:26 are reserved and must be zero. */
  RESERVED_MASK: ~((1n << 26n) - 1n) & 0xffffffffffffffffn,
} as const;
