// The golden vectors of docs/wire-formats.md, recomputed from their inputs with the production code
// (envelope, HPKE, roster encoding, wire messages). Each vector is `name = hex` lines; inputs come from
// the doc, every other line is an output this module computes.
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { encodeEnvelope, invocationInfo } from '../../src/crypto/envelope.js';
import { setupBaseS } from '../../src/crypto/hpke.js';
import { certificateHash, encodeRoster, rosterCertificateMessage, type Roster } from '../../src/committee/roster.js';
import { identifierForPosition } from '../../src/crypto/frost.js';
import { contractKeyCertificateMessage, workerReportData } from '../../src/keys/wire.js';
import { nodeIdOf } from '../../src/node/identity.js';

export type Vector = Record<string, string>;

/** Which lines of each vector are inputs (taken from the doc); the rest are recomputed. */
export const VECTOR_INPUTS: Record<string, string[]> = {
  'envelope-v1': ['contract_secret_key', 'contract_id', 'version', 'ikm_e', 'plaintext', 'aad'],
  'contract-key-certificate': ['contract_id', 'version', 'generation', 'public_key', 'committee_secret_key', 'aux_rand'],
  'roster-certificate': ['epoch', 'threshold', 'master_secret', 'committee_secret_key', 'previous_certificate_hash', 'member_seeds',
    'endpoints', 'stakes', 'aux_rand'],
  'report-data': ['worker_hpke_secret_key', 'worker_signing_secret_key', 'nonce'],
};

const h = hexToBytes;
const hx = bytesToHex;
const u32 = (s: string) => { const v = Number.parseInt(s, 16); if (s.length !== 8) throw new Error(`u32 field must be 8 hex digits: ${s}`); return v; };
const u32hex = (v: number) => v.toString(16).padStart(8, '0');

async function envelope(v: Vector): Promise<Vector> {
  const sk = h(v.contract_secret_key!);
  const pk = secp256k1.getPublicKey(sk, true);
  const cid = h(v.contract_id!);
  const version = u32(v.version!);
  const info = invocationInfo(cid, version);
  // The ephemeral key comes from DeriveKeyPair(ikm_e) (RFC 9180 §7.1.3): the known-answer hook of hpke.ts.
  const { enc, context } = await setupBaseS(pk, info, { ikmE: h(v.ikm_e!) });
  const ciphertext = new Uint8Array(await context.seal(h(v.plaintext!), h(v.aad!)));
  return {
    contract_public_key: hx(pk), info: hx(info), enc: hx(enc), ciphertext: hx(ciphertext),
    envelope: hx(encodeEnvelope({ cid, version, enc, ciphertext })),
  };
}

function contractKeyCertificate(v: Vector): Vector {
  const message = contractKeyCertificateMessage(h(v.contract_id!), u32(v.version!), u32(v.generation!), h(v.public_key!));
  const sk = h(v.committee_secret_key!);
  return {
    committee_key: hx(schnorr.getPublicKey(sk)), message: hx(message),
    certificate: hx(schnorr.sign(message, sk, h(v.aux_rand!))),
  };
}

function scalarPoint(seed: Uint8Array, label: string): { sk: Uint8Array; pk: Uint8Array } {
  const sk = sha256(new Uint8Array([...new TextEncoder().encode(label), ...seed]));
  return { sk, pk: secp256k1.getPublicKey(sk, true) };
}

function rosterCertificate(v: Vector): Vector {
  // Each member's keys are SHA-256(label || seed) scalars, so the vector needs only its seeds.
  const seeds = v.member_seeds!.match(/.{64}/g)!.map(h);
  const endpoints = new TextDecoder().decode(h(v.endpoints!)).split(',');
  const stakes = v.stakes!.match(/.{16}/g)!.map((s) => BigInt('0x' + s));
  const committeeSk = h(v.committee_secret_key!);
  const people = seeds.map((seed, i) => {
    const identityKey = schnorr.getPublicKey(scalarPoint(seed, 'identity').sk);
    return {
      nodeId: nodeIdOf(identityKey), identityKey,
      transportKey: secp256k1.getPublicKey(scalarPoint(seed, 'transport').sk, false),
      endpoint: endpoints[i]!, stake: stakes[i]!,
      derivationVerifyingShare: scalarPoint(seed, 'derivation').pk, signingVerifyingShare: scalarPoint(seed, 'signing').pk,
    };
  }).sort((a, b) => Buffer.compare(a.nodeId, b.nodeId));
  const epoch = u32(v.epoch!);
  const roster: Roster = {
    epoch, threshold: Number.parseInt(v.threshold!, 16), masterPublicKey: secp256k1.getPublicKey(h(v.master_secret!), true),
    committeeKey: schnorr.getPublicKey(committeeSk), previousCertificateHash: h(v.previous_certificate_hash!),
    members: people.map((p, i) => ({ ...p, shareIdentifier: h(identifierForPosition(i)) })),
  };
  const rosterBytes = encodeRoster(roster);
  const message = rosterCertificateMessage(epoch, rosterBytes);
  const signature = schnorr.sign(message, committeeSk, h(v.aux_rand!));
  return {
    committee_key: hx(roster.committeeKey), roster_bytes: hx(rosterBytes), message: hx(message), signature: hx(signature),
    certificate_hash: hx(certificateHash(epoch, rosterBytes, signature)),
  };
}

function reportData(v: Vector): Vector {
  const hpkePk = secp256k1.getPublicKey(h(v.worker_hpke_secret_key!), false);
  const signingPk = schnorr.getPublicKey(h(v.worker_signing_secret_key!));
  return { worker_hpke_key: hx(hpkePk), worker_signing_key: hx(signingPk), report_data: hx(workerReportData(hpkePk, signingPk, h(v.nonce!))) };
}

/** The vector's outputs computed from its inputs. */
export async function computeVector(name: string, inputs: Vector): Promise<Vector> {
  switch (name) {
    case 'envelope-v1': return envelope(inputs);
    case 'contract-key-certificate': return contractKeyCertificate(inputs);
    case 'roster-certificate': return rosterCertificate(inputs);
    case 'report-data': return reportData(inputs);
    default: throw new Error(`unknown vector ${name}`);
  }
}

/** ```vector NAME blocks of a markdown document, as name → ordered `key = hex` lines. */
export function parseVectors(markdown: string): Map<string, Vector> {
  const out = new Map<string, Vector>();
  for (const m of markdown.matchAll(/^```vector ([a-z0-9-]+)\n([\s\S]*?)^```$/gm)) {
    const v: Vector = {};
    for (const line of m[2]!.split('\n').filter((l) => l.trim() !== '')) {
      const kv = /^([a-z0-9_]+) += ?([0-9a-f]*)$/.exec(line.trim());
      if (!kv) throw new Error(`vector ${m[1]}: bad line '${line.slice(0, 60)}'`);
      if (kv[1]! in v) throw new Error(`vector ${m[1]}: ${kv[1]} given twice`);
      v[kv[1]!] = kv[2]!;
    }
    if (out.has(m[1]!)) throw new Error(`vector ${m[1]} given twice`);
    out.set(m[1]!, v);
  }
  return out;
}

/** A vector block as the doc writes it. */
export function renderVector(name: string, v: Vector): string {
  const width = Math.max(...Object.keys(v).map((k) => k.length));
  return ['```vector ' + name, ...Object.entries(v).map(([k, x]) => `${k.padEnd(width)} = ${x}`), '```'].join('\n');
}
