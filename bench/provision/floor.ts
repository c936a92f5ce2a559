// The floor of one provisioning: the elliptic-curve, signature and HPKE operations it needs on its
// critical path, each timed alone in this process (no gRPC, no SQLite), with the same quote and
// collateral shape the nodes verify. Also the steps the code performs beyond that floor (as coded),
// and the bare curve primitives, so a reader can see whether precomputation or MSM would help.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { mulAddUnsafe } from '@noble/curves/abstract/curve.js';
import { loadCollateral, verifyQuote, VerificationCache } from '../../src/attestation/index.js';
import type { TestPki } from '../../src/attestation/test-pki/index.js';
import {
  combineGoodPartials, contractPoint, deriveContractKey, encodePartial, evaluatePartial, verifyPartial, type Partial,
} from '../../src/crypto/contract-key.js';
import { decodeKeyPackage, encodeKeyPackage, groupKeyFromCommitment, identifierForPosition, lagrangeAtZero, type KeyPackage } from '../../src/crypto/frost.js';
import { generateTransportKeyPair, hpkeOpen, hpkeSeal } from '../../src/crypto/hpke.js';
import { generateIdentityKey, signTagged, verifyTagged } from '../../src/crypto/identity.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { signCall } from '../../src/rpc/auth.js';
import { openDatabase } from '../../src/store/database.js';
import { ContractStore } from '../../src/store/contract-store.js';
import { AuditLog } from '../../src/audit/log.js';
import { challengeMessage, partialInfo, workerReportData } from '../../src/keys/wire.js';
import { verifyCommitteeResponse, type GetCommitteeResponse } from '../../src/sdk/client.js';
import { costOf, type Cost } from './timing.js';

export interface FloorRow { side: 'member' | 'worker' | 'extra' | 'primitive'; step: string; cost: Cost; note: string }

export interface FloorInputs {
  n: number;
  k: number;
  pki: TestPki;
  collateralJson: string;
  quoteFor: (reportData: Uint8Array) => Uint8Array;
  /** A real GetCommittee answer and its pinned key (the worker SDK verifies one per provisioning). */
  committee: GetCommitteeResponse;
  committeeKey: Uint8Array;
}

export interface Floor {
  rows: FloorRow[];
  /** One member's own work: challenge signature, quote, partial, seal. */
  memberMs: number;
  /** One signed peer call: the entry member's signCall and the callee's signature check. */
  peerCallSignMs: number;
  peerCallVerifyMs: number;
  /** The worker's floor: n opens, k DLEQ checks, combination, derivation. */
  workerMs: number;
  /** One machine per member: entry signs n-1 calls, one callee verifies and does its work, then the worker. */
  criticalPathMs: number;
  /** Everything the 5 members and the worker must compute, on whatever cores there are. */
  summedMs: number;
}

const Point = secp256k1.Point;
const randomScalar = () => Point.Fn.fromBytes(secp256k1.utils.randomSecretKey());

/** A derivation key package shaped like a DKG output for (n, k), for decodeKeyPackage as memberKeys() runs it. */
function fakeKeyPackage(n: number, k: number, suite: 'derivation' | 'signing'): KeyPackage {
  const ids = Array.from({ length: n }, (_, i) => identifierForPosition(i));
  const s = randomScalar();
  const commitments = Array.from({ length: k }, () => Point.BASE.multiply(randomScalar()).toBytes(true));
  const verifyingShares = Object.fromEntries(ids.map((id, i) => [id, i === 0 ? Point.BASE.multiply(s).toBytes(true) : Point.BASE.multiply(randomScalar()).toBytes(true)]));
  return {
    suite, identifier: ids[0]!, signingShare: Point.Fn.toBytes(s), threshold: k, participants: n, commitments, verifyingShares,
    groupPublicKey: groupKeyFromCommitment(suite, commitments[0]!),
  };
}

export async function measureFloor(inp: FloorInputs): Promise<Floor> {
  const { n, k } = inp;
  const rows: FloorRow[] = [];
  const add = async (side: FloorRow['side'], step: string, fn: () => unknown, note: string, minRuns = 10) => {
    const cost = await costOf(fn, minRuns);
    rows.push({ side, step, cost, note });
    return cost.cpuMs;
  };
  const cid = utf8('demo');
  const version = 1;

  // ---- member: what each member must do to release its partial ----
  const issuer = generateIdentityKey();
  const nonce = new Uint8Array(randomBytes(32));
  const nodeId = new Uint8Array(randomBytes(16));
  const chMsg = challengeMessage(nonce, 1n << 40n, nodeId);
  const chSig = signTagged(issuer.secretKey, 'challenge', chMsg);
  const tChallenge = await add('member', 'verifyTagged challenge (BIP340)', () => verifyTagged(issuer.publicKey, 'challenge', chMsg, chSig), '1 per member');

  const worker = { hpke: generateTransportKeyPair(), signing: generateIdentityKey() };
  const collateral = loadCollateral(inp.collateralJson);
  const cache = new VerificationCache();
  const root = inp.pki.rootDer;
  // A fresh quote per call, as each provisioning brings one: only the report body signature is new.
  const quotes = Array.from({ length: 16 }, () => inp.quoteFor(workerReportData(worker.hpke.publicKey, worker.signing.publicKey, new Uint8Array(randomBytes(32)))));
  let qi = 0;
  const tQuote = await add('member', 'verifyQuote, warm VerificationCache', () => {
    const v = verifyQuote(quotes[qi++ % quotes.length]!, collateral, { now: new Date(), trustedRoot: root, cache, minTcbEvaluationDataNumber: 0 });
    if (!v.ok) throw new Error(`the bench quote does not verify: ${v.error}`);
  }, 'SGX v3 quote from the dev PKI; 1 per member', 30);

  const shares = Array.from({ length: n }, (_, i) => ({ identifier: identifierForPosition(i), signingShare: secp256k1.utils.randomSecretKey() }));
  const verifyingShares = Object.fromEntries(shares.map((s) => [s.identifier, Point.BASE.multiply(Point.Fn.fromBytes(s.signingShare)).toBytes(true)]));
  const tEval = await add('member', 'evaluatePartial (h2c + s·h + DLEQ proof)', () => evaluatePartial(shares[0]!, cid, version), '1 per member');

  const partials: Partial[] = shares.map((s) => evaluatePartial(s, cid, version));
  const plaintext = utf8(JSON.stringify(encodePartial(partials[0]!)));
  const info = partialInfo(cid, version, nodeId);
  const tSeal = await add('member', 'hpkeSeal of the partial', () => hpkeSeal(worker.hpke.publicKey, info, plaintext), '1 per member');

  const method = '/gatekeeper.v1.PeerService/ProvidePartial';
  const req = new Uint8Array(4000); // a ProvisionRequest with an SGX quote and collateral is a few kB
  const callerKey = generateIdentityKey();
  const tSign = await add('member', 'signCall (entry member, the fan-out)', () => signCall('peer', callerKey.secretKey, method, req, Date.now(), callerKey.publicKey),
    'BIP340 sign + SHA-256 of the request; once per provisioning (the fan-out signs one call for every member)');
  const tagged = signTagged(callerKey.secretKey, 'peer', req);
  const tVerify = await add('member', 'verifyTagged of a peer call (callee)', () => verifyTagged(callerKey.publicKey, 'peer', req, tagged),
    `BIP340 verify; ${n - 1} per provisioning (the nonce bookkeeping not included)`);

  // ---- worker: open n, check k proofs, combine k, derive ----
  const sealed = await Promise.all(shares.map(async (_, i) => {
    const inf = partialInfo(cid, version, nodeId);
    const { enc, ciphertext } = await hpkeSeal(worker.hpke.publicKey, inf, utf8(JSON.stringify(encodePartial(partials[i]!))));
    return { enc, ciphertext, info: inf };
  }));
  const tOpen = await add('worker', 'hpkeOpen of one partial', () => hpkeOpen(worker.hpke.secretKey, sealed[0]!.enc, sealed[0]!.info, sealed[0]!.ciphertext), `n = ${n} per provisioning`);
  const tDleq = await add('worker', 'verifyPartial (h2c + DLEQ verify)', () => {
    if (!verifyPartial(partials[0]!, verifyingShares[shares[0]!.identifier]!, cid, version)) throw new Error('bench partial refused');
  }, `k = ${k} needed (the SDK does ${2 * n}: openSealedPartial and combineGoodPartials each check all n); includes finalize's unblinding by 1`);
  const chosen = partials.slice(0, k);
  const tCombine = await add('worker', `combination (Lagrange + MSM of ${k} points)`, () => {
    const lambdas = lagrangeAtZero(chosen.map((p) => p.identifier));
    return mulAddUnsafe(Point, chosen.map((p) => Point.fromBytes(p.point)), chosen.map((p) => lambdas.get(p.identifier)!)).toBytes(true);
  }, '1 per provisioning');
  const { Y } = combineGoodPartials(partials, verifyingShares, k, cid, version);
  const tDerive = await add('worker', 'deriveContractKey (h2c + HKDF + h2f + sk·G)', () => deriveContractKey(Y, cid, version), '1 per provisioning');

  // ---- what the code does beyond the floor, timed alone ----
  await add('extra', 'loadCollateral(collateral_json)', () => loadCollateral(inp.collateralJson), 'parsed again by each member per request');
  const kp = JSON.stringify({ derivation: encodeKeyPackage(fakeKeyPackage(n, k, 'derivation')), signing: encodeKeyPackage(fakeKeyPackage(n, k, 'signing')) });
  await add('extra', 'memberKeys decode (2 key packages)', () => { const o = JSON.parse(kp) as { derivation: unknown; signing: unknown }; decodeKeyPackage(o.derivation); decodeKeyPackage(o.signing); },
    `${2 * (n + k)} point decompressions + 2 base mults, 1 per member per request (box.open not included)`);
  await add('extra', `combineGoodPartials over ${n} (re-verifies all ${n})`, () => combineGoodPartials(partials, verifyingShares, k, cid, version), '1 per provisioning in the SDK');
  await add('extra', 'verifyCommitteeResponse (roster chain)', () => verifyCommitteeResponse(inp.committee, inp.committeeKey), 'worker SDK, 1 per provisioning');
  await add('extra', 'worker key checks (2 getPublicKey)', () => { secp256k1.getPublicKey(worker.hpke.secretKey, false); secp256k1.getPublicKey(worker.signing.secretKey); }, 'checkKeys in provisionContractKey');
  await add('extra', 'buildSgxQuoteV3 (dev PKI, P-256 sign)', () => inp.quoteFor(new Uint8Array(64)), 'stands in for a real quoting enclave');
  await addSqlite(add);

  // ---- bare primitives, for the precomputation and MSM question ----
  const P = Point.BASE.multiply(randomScalar());
  const Q = Point.BASE.multiply(randomScalar());
  const a = randomScalar();
  const b = randomScalar();
  await add('primitive', 'G·a (BASE, precomputed W=8 by noble)', () => Point.BASE.multiply(a), 'constant time');
  await add('primitive', 'P·a (variable base, constant time)', () => P.multiply(a), 's_i·h in evaluatePartial');
  await add('primitive', 'P·a unsafe (variable base, variable time)', () => P.multiplyUnsafe(a), '');
  await add('primitive', 'mulAddUnsafe 2 terms (P·a + Q·b)', () => mulAddUnsafe(Point, [P, Q], [a, b]), 'DLEQ verify does 2 of these');
  const Pp = Point.BASE.multiply(randomScalar()).precompute(8, false);
  await add('primitive', 'P·a with P.precompute(8) table', () => Pp.multiply(a), 'pays off only for a point multiplied more than (table cost / saving per multiply), ~35 times here');
  await add('primitive', 'building that table: P.precompute(8, false)', () => Point.BASE.multiply(a).precompute(8, false), 'includes one G·a; once per cached point');
  await add('primitive', 'secp256k1.getSharedSecret (the HPKE DH)', () => secp256k1.getSharedSecret(worker.hpke.secretKey, P.toBytes(false)), 'inside every hpkeSeal and hpkeOpen');
  await add('primitive', 'hash_to_curve (contractPoint)', () => contractPoint(cid, version), 'evaluatePartial 1, verifyPartial 1 each, combine 1, derive 1');
  await add('primitive', 'schnorr.sign / verify pair', () => { const sg = signTagged(callerKey.secretKey, 'peer', req); verifyTagged(callerKey.publicKey, 'peer', req, sg); }, '');

  const memberMs = tChallenge + tQuote + tEval + tSeal;
  const workerMs = n * tOpen + k * tDleq + tCombine + tDerive;
  const criticalPathMs = tSign + tVerify + memberMs + workerMs;
  const summedMs = n * memberMs + tSign + (n - 1) * tVerify + workerMs;
  return { rows, memberMs, peerCallSignMs: tSign, peerCallVerifyMs: tVerify, workerMs, criticalPathMs, summedMs };
}

/** The SQLite writes a provisioning makes, with the node's own pragmas (WAL, synchronous=FULL). */
async function addSqlite(add: (side: FloorRow['side'], step: string, fn: () => unknown, note: string, minRuns?: number) => Promise<number>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gk-bench-provision-sqlite-'));
  try {
    const db = openDatabase(path.join(dir, 'bench.sqlite'));
    const store = new ContractStore(db);
    const audit = new AuditLog(db);
    const cid = utf8('demo');
    store.putPolicy('p', 1, utf8('{}'), '[]', Date.now());
    store.putContract({ contractId: cid, namespace: 'demo', policyId: 'p' }, Date.now());
    await add('extra', 'SQLite: member release transaction', () => {
      db.transaction(() => {
        store.useChallenge(new Uint8Array(randomBytes(32)), Date.now());
        store.recordProvisioned({ contractId: cid, version: 1, workerSigningKey: new Uint8Array(randomBytes(32)), workerHpkeKey: new Uint8Array(65),
          measurement: new Uint8Array(32), generation: 1 }, Date.now());
        audit.append('worker', 'contract-key.released', { contractId: '64656d6f', version: 1 });
      })();
    }, `DELETE + 2 INSERT + audit append, one fsync'd commit; 1 per member`, 20);
    db.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
