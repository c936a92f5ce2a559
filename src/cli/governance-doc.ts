// A governance-signed document on disk (docs/election-input.md §3): the exact bytes that governance
// signs (a snapshot, a release policy, or a contract key-version action) and the BIP340 signatures
// gathered so far. Holders of separate governance keys each sign a copy (`governance sign`), and one
// person merges the copies (`governance combine`); every signature is checked when a file is read.
import fs from 'node:fs';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { identityPublicKey, signTagged, verifyTagged, type SignatureTag } from '../crypto/identity.js';
import { contractGovernanceMessage, type ContractAction } from '../keys/wire.js';
import { UsageError } from './args.js';

export const GOVERNANCE_DOC_FORMAT = 'gatekeeper-governance-document/1';

export type DocKind = 'snapshot' | 'policy' | 'contract-action';

const TAGS: Record<DocKind, SignatureTag> = { snapshot: 'snapshot', policy: 'policy', 'contract-action': 'contract-governance' };

export interface GovernanceSignature { key: Uint8Array; signature: Uint8Array }

export interface GovernanceDoc {
  kind: DocKind;
  /** The signed bytes: a serialized Snapshot, the policy JSON, or contractGovernanceMessage(...). */
  payload: Uint8Array;
  /** For kind contract-action: what the payload encodes (checked against it on read). */
  contractAction?: { action: ContractAction; contractId: Uint8Array; version: number };
  /** Informational, for people reading the file; never trusted (commands decode the payload). */
  summary?: Record<string, unknown>;
  signatures: GovernanceSignature[];
}

const MAX_DOC_BYTES = 8 * 1024 * 1024;
const MAX_SIGNATURES = 64;

/** Reads a governance key file: 64 hex characters (a BIP340 secret key). */
export function readGovernanceKey(file: string): Uint8Array {
  let text: string;
  try { text = fs.readFileSync(file, 'utf8'); } catch { throw new UsageError(`cannot read governance key file ${file}`); }
  const hex = text.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new UsageError(`governance key file ${file} must hold 64 hex characters`);
  return hexToBytes(hex);
}

/** Adds one signature per secret key (replacing an earlier signature by the same key). */
export function signDoc(doc: GovernanceDoc, secrets: Uint8Array[]): GovernanceDoc {
  const sigs = new Map(doc.signatures.map((s) => [bytesToHex(s.key), s]));
  for (const sk of secrets) {
    const key = identityPublicKey(sk);
    sigs.set(bytesToHex(key), { key, signature: signTagged(sk, TAGS[doc.kind], doc.payload) });
  }
  return { ...doc, signatures: [...sigs.values()] };
}

/** Merges copies of one document signed by different holders; the signed bytes must be identical. */
export function combineDocs(docs: GovernanceDoc[]): GovernanceDoc {
  const [first, ...rest] = docs;
  if (!first) throw new UsageError('nothing to combine');
  const sigs = new Map(first.signatures.map((s) => [bytesToHex(s.key), s]));
  for (const [i, d] of rest.entries()) {
    if (d.kind !== first.kind || bytesToHex(d.payload) !== bytesToHex(first.payload)) {
      throw new UsageError(`input ${i + 2} signs different content than input 1 (a different ${d.kind === first.kind ? first.kind : 'kind of document'}); refusing to combine`);
    }
    for (const s of d.signatures) sigs.set(bytesToHex(s.key), s);
  }
  return { ...first, signatures: [...sigs.values()] };
}

function hexField(v: unknown, what: string, len?: number): Uint8Array {
  if (typeof v !== 'string' || !/^(?:[0-9a-f]{2})*$/.test(v) || (len !== undefined && v.length !== 2 * len)) {
    throw new UsageError(`${what} must be ${len ? `${len} bytes of ` : ''}lowercase hex`);
  }
  return hexToBytes(v);
}

/** Reads and checks a document: format, kind, payload, and that every signature verifies. */
export function readDoc(file: string, expect?: DocKind): GovernanceDoc {
  let raw: unknown;
  try {
    if (fs.statSync(file).size > MAX_DOC_BYTES) throw new UsageError(`${file} is larger than ${MAX_DOC_BYTES} bytes`);
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read ${file} as a governance document (JSON): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message.slice(0, 100)}`);
  }
  const o = raw as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || o.format !== GOVERNANCE_DOC_FORMAT) {
    throw new UsageError(`${file} is not a governance document (expected "format": "${GOVERNANCE_DOC_FORMAT}")`);
  }
  const kind = o.kind as DocKind;
  if (!(kind in TAGS)) throw new UsageError(`${file}: unknown kind (expected snapshot, policy or contract-action)`);
  if (expect && kind !== expect) throw new UsageError(`${file} is a ${kind} document, not a ${expect} document`);
  const payload = hexField(o.payloadHex, `${file}: payloadHex`);
  if (payload.length === 0) throw new UsageError(`${file}: payloadHex is empty`);
  const list = o.signatures ?? [];
  if (!Array.isArray(list) || list.length > MAX_SIGNATURES) throw new UsageError(`${file}: signatures must be a list of at most ${MAX_SIGNATURES}`);
  const signatures = list.map((s: Record<string, unknown>, i) => {
    const key = hexField(s?.key, `${file}: signatures[${i}].key`, 32);
    const signature = hexField(s?.signature, `${file}: signatures[${i}].signature`, 64);
    if (!verifyTagged(key, TAGS[kind], payload, signature)) throw new UsageError(`${file}: signatures[${i}] (key ${bytesToHex(key).slice(0, 16)}…) does not verify over this document`);
    return { key, signature };
  });
  const doc: GovernanceDoc = { kind, payload, signatures, summary: typeof o.summary === 'object' && o.summary !== null ? o.summary as Record<string, unknown> : undefined };
  if (kind === 'contract-action') {
    const a = o.contractAction as Record<string, unknown> | undefined;
    const action = a?.action as ContractAction;
    const contractId = hexField(a?.contractIdHex, `${file}: contractAction.contractIdHex`);
    const version = a?.version;
    let expected: Uint8Array;
    try { expected = contractGovernanceMessage(action, contractId, version as number); } catch {
      throw new UsageError(`${file}: contractAction must be {action: rotate|retire|resolve-alarm, contractIdHex, version}`);
    }
    if (bytesToHex(expected) !== bytesToHex(payload)) throw new UsageError(`${file}: contractAction does not match the signed bytes`);
    doc.contractAction = { action, contractId, version: version as number };
  }
  return doc;
}

export function docJson(doc: GovernanceDoc): string {
  return JSON.stringify({
    format: GOVERNANCE_DOC_FORMAT,
    kind: doc.kind,
    summary: doc.summary,
    ...(doc.contractAction ? { contractAction: { action: doc.contractAction.action, contractIdHex: bytesToHex(doc.contractAction.contractId), version: doc.contractAction.version } } : {}),
    payloadHex: bytesToHex(doc.payload),
    signatures: doc.signatures.map((s) => ({ key: bytesToHex(s.key), signature: bytesToHex(s.signature) })),
  }, null, 2) + '\n';
}

/** Writes a document (replacing `file` atomically). */
export function writeDoc(file: string, doc: GovernanceDoc): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, docJson(doc), { flag: 'w' });
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new UsageError(`cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** The signatures as the OperatorService requests carry them. */
export function wireSignatures(doc: GovernanceDoc) {
  return doc.signatures.map((s) => ({ key: s.key, signature: s.signature }));
}
