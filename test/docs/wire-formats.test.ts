// docs/wire-formats.md (issue 13 item 4): every golden vector recomputed byte for byte from its inputs
// with the production code, and checked with the verifiers a client runs.
import fs from 'node:fs';
import path from 'node:path';
import { hexToBytes } from '@noble/hashes/utils.js';
import { openInvocation } from '../../src/crypto/envelope.js';
import { decodeRoster } from '../../src/committee/roster.js';
import { verifyContractKeyCertificate, verifyRosterChain } from '../../src/sdk/client.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { VECTOR_INPUTS, computeVector, parseVectors, type Vector } from './wire-vectors.js';

const DOC = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'wire-formats.md'), 'utf8');
const vectors = parseVectors(DOC);
const h = hexToBytes;

function split(name: string): { inputs: Vector; outputs: Vector } {
  const v = vectors.get(name);
  if (!v) throw new Error(`docs/wire-formats.md has no vector ${name}`);
  const inputs: Vector = {};
  const outputs: Vector = {};
  for (const [k, x] of Object.entries(v)) (VECTOR_INPUTS[name]!.includes(k) ? inputs : outputs)[k] = x;
  return { inputs, outputs };
}

test('the doc has exactly the four vectors: envelope v1, both certificates, report_data', () => {
  expect([...vectors.keys()].sort()).toEqual(Object.keys(VECTOR_INPUTS).sort());
});

describe.each(Object.keys(VECTOR_INPUTS))('vector %s', (name) => {
  test('every input is given and every output equals the recomputation byte for byte', async () => {
    const { inputs, outputs } = split(name);
    expect(Object.keys(inputs).sort()).toEqual([...VECTOR_INPUTS[name]!].sort());
    const recomputed = await computeVector(name, inputs);
    // Same output lines, same bytes: nothing missing, nothing extra, nothing different.
    expect(outputs).toEqual(recomputed);
    expect(Object.keys(outputs).length).toBeGreaterThan(0);
  });
});

test('a changed input gives different outputs (the comparison can fail)', async () => {
  const { inputs, outputs } = split('envelope-v1');
  const other = await computeVector('envelope-v1', { ...inputs, version: '00000002' });
  expect(other.envelope).not.toBe(outputs.envelope);
  expect(other.ciphertext).not.toBe(outputs.ciphertext);
  const report = split('report-data');
  const flipped = report.inputs.nonce!.replace(/^./, (c) => (c === '0' ? '1' : '0'));
  expect((await computeVector('report-data', { ...report.inputs, nonce: flipped })).report_data).not.toBe(report.outputs.report_data);
});

test('the envelope opens with the contract secret key to the plaintext', async () => {
  const { inputs, outputs } = split('envelope-v1');
  const opened = await openInvocation(h(inputs.contract_secret_key!), h(outputs.envelope!));
  expect(Buffer.from(opened.plaintext).toString('hex')).toBe(inputs.plaintext);
  expect(Buffer.from(opened.cid).toString('hex')).toBe(inputs.contract_id);
  expect(opened.version).toBe(1);
});

test('the contract key certificate verifies under its committee key and under no other', () => {
  const { inputs, outputs } = split('contract-key-certificate');
  const key = { contractId: h(inputs.contract_id!), version: 1, generation: 1, publicKey: h(inputs.public_key!), certificate: h(outputs.certificate!) };
  expect(verifyContractKeyCertificate(h(outputs.committee_key!), key)).toBe(true);
  const roster = split('roster-certificate');
  expect(verifyContractKeyCertificate(h(split('report-data').outputs.worker_signing_key!), key)).toBe(false);
  expect(verifyContractKeyCertificate(h(outputs.committee_key!), { ...key, generation: 2 })).toBe(false);
  expect(roster.outputs.committee_key).toBe(outputs.committee_key);
});

test('the roster certificate is a valid genesis chain for the SDK under the pinned key, and its bytes decode', () => {
  const { inputs, outputs } = split('roster-certificate');
  const cert = { epoch: 1, rosterBytes: h(outputs.roster_bytes!), signature: h(outputs.signature!) };
  const roster = verifyRosterChain([cert], h(outputs.committee_key!));
  expect(roster.members.map((m) => m.endpoint).sort()).toEqual(['10.0.0.1:7000', '10.0.0.2:7000']);
  expect(decodeRoster(cert.rosterBytes).threshold).toBe(Number.parseInt(inputs.threshold!, 16));
  expect(() => verifyRosterChain([cert], h(split('report-data').outputs.worker_signing_key!))).toThrow(/not the pinned/);
});

test('the vector parser refuses a repeated line and a line that is not hex', () => {
  expect(() => parseVectors('```vector x\na = 00\na = 01\n```\n')).toThrow(/given twice/);
  expect(() => parseVectors('```vector x\na = zz\n```\n')).toThrow(/bad line/);
});
