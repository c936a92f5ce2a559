// Worker SDK against a simulated committee over real gRPC: the key comes from any k honest members,
// bad members are named, too few good partials give no key and say why.
import { createHash } from 'node:crypto';
import { schnorr } from '@noble/curves/secp256k1.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { combinePartials, deriveContractKey } from '../../src/crypto/contract-key.js';
import { generateIdentityKey, signTagged } from '../../src/crypto/identity.js';
import { generateTransportKeyPair } from '../../src/crypto/hpke.js';
import { GatekeeperClient } from '../../src/rpc/client.js';
import { RpcError } from '../../src/rpc/errors.js';
import {
  CommitteeMismatchError, getContractKey, provisionContractKey, ProvisioningError, publishContractKey, PublicationError,
  reportDataFor, type WorkerKeys,
} from '../../src/sdk/index.js';
import { challengeMessage, contractKeyCertificateMessage, partialInfo, publicationMessage } from '../../src/keys/wire.js';
import { SimCommittee, type Behaviour } from './sim-committee.js';

const cid = utf8('demo');
let sim: SimCommittee;
let endpoint: string;
const workerKeys = (): WorkerKeys => ({ hpke: generateTransportKeyPair(), signing: generateIdentityKey() });
const fakeQuote = async (reportData: Uint8Array) => ({ quote: reportData, collateralJson: '{}' });

beforeAll(async () => {
  sim = new SimCommittee(5, 3);
  endpoint = await sim.listen();
});
afterAll(async () => { await sim.close(); });
afterEach(() => {
  for (const m of sim.members) m.behaviour = 'honest';
  sim.checkProvision = async () => undefined;
  sim.tamperCommittee = (r) => r;
  sim.tamperPublish = (r) => r;
  sim.tamperChallenge = (r) => r;
});

/** The key as combining the honest partials of the members at `indices` gives it. */
function keyFrom(indices: number[], version: number) {
  const partials = indices.map((i) => sim.partial(sim.members[i]!, cid, version));
  const shares = Object.fromEntries(sim.members.map((m) => [m.identifier, m.derivation.verifyingShares[m.identifier]!]));
  return deriveContractKey(combinePartials(partials, shares, sim.k, cid, version).Y, cid, version);
}

describe('reportDataFor', () => {
  test('is SHA-512 over the spec bytes (docs/provisioning.md §2)', () => {
    const hpke = generateTransportKeyPair().publicKey;
    const sig = generateIdentityKey().publicKey;
    const nonce = randomBytes(32);
    const expected = createHash('sha512').update('gatekeeper/v1/worker', 'utf8').update(hpke).update(sig).update(nonce).digest();
    expect(Buffer.from(reportDataFor(hpke, sig, nonce))).toEqual(expected);
    expect(reportDataFor(hpke, sig, nonce)).toHaveLength(64);
  });

  test('refuses keys and nonces of the wrong size', () => {
    const hpke = generateTransportKeyPair().publicKey;
    const sig = generateIdentityKey().publicKey;
    expect(() => reportDataFor(hpke.subarray(1), sig, randomBytes(32))).toThrow(/65 bytes/);
    expect(() => reportDataFor(hpke, hpke, randomBytes(32))).toThrow(/32 bytes/);
    expect(() => reportDataFor(hpke, sig, randomBytes(16))).toThrow(/nonce must be 32 bytes/);
  });
});

describe('provisionContractKey', () => {
  test('derives the key from k honest members; any other k give the same key', async () => {
    let seen: Uint8Array | undefined;
    const keys = workerKeys();
    const got = await provisionContractKey({
      endpoint, pinnedCommitteeKey: sim.committeeKey, contractId: cid, version: 1, keys,
      makeQuote: async (rd) => { seen = rd; return fakeQuote(rd); },
    });
    expect(got.badMembers).toEqual([]);
    expect(got.usedMembers).toHaveLength(3);
    expect(got.generation).toBe(1);
    for (const subset of [[2, 3, 4], [0, 2, 4], [1, 3, 4]]) {
      const other = keyFrom(subset, 1);
      expect(Buffer.from(got.publicKey)).toEqual(Buffer.from(other.publicKey));
      expect(Buffer.from(got.secretKey)).toEqual(Buffer.from(other.secretKey));
    }
    expect(seen).toHaveLength(64);
    // A different version is a different key.
    expect(Buffer.from(keyFrom([0, 1, 2], 2).publicKey)).not.toEqual(Buffer.from(got.publicKey));
  });

  const faults: [Behaviour, RegExp][] = [
    ['wrong-point', /DLEQ proof does not verify/],
    ['bad-proof', /DLEQ proof does not verify/],
    ['unopenable', /does not open/],
    ['wrong-identifier', /identifier is not the member's share identifier/],
  ];
  test.each(faults)('a member sending a %s partial is named and the key still comes from the honest ones', async (behaviour, reason) => {
    const bad = sim.members[1]!;
    bad.behaviour = behaviour;
    const got = await provisionContractKey({
      endpoint, pinnedCommitteeKey: sim.committeeKey, contractId: cid, version: 1, keys: workerKeys(), makeQuote: fakeQuote,
    });
    expect(got.badMembers).toEqual([{ nodeId: bad.nodeIdHex, reason: expect.stringMatching(reason) }]);
    expect(got.usedMembers).not.toContain(bad.nodeIdHex);
    expect(Buffer.from(got.publicKey)).toEqual(Buffer.from(keyFrom([0, 2, 3], 1).publicKey));
  });

  test('with only k-1 honest members there is no key, and the error says why and names the bad ones', async () => {
    sim.members[1]!.behaviour = 'bad-proof';
    sim.members[2]!.behaviour = 'unopenable';
    sim.members[4]!.behaviour = 'refuse';
    const err = await provisionContractKey({
      endpoint, pinnedCommitteeKey: sim.committeeKey, contractId: cid, version: 1, keys: workerKeys(), makeQuote: fakeQuote,
    }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ProvisioningError);
    const e = err as ProvisioningError;
    expect(e.message).toMatch(/2 good partials arrived, 3 needed/);
    expect(e.message).toContain(`${sim.members[1]!.nodeIdHex} (DLEQ proof does not verify`);
    expect(e.message).toContain(`${sim.members[2]!.nodeIdHex} (sealed partial does not open`);
    expect(e.message).toContain(`${sim.members[4]!.nodeIdHex}: release policy refused the quote`);
    expect(e.details.badMembers.map((b) => b.nodeId).sort()).toEqual([sim.members[1]!.nodeIdHex, sim.members[2]!.nodeIdHex].sort());
    expect(e.details.good).toBe(2);
    expect(e.details.need).toBe(3);
  });

  test('a partial sealed for another worker key does not open', async () => {
    // The endpoint relays partials that were sealed to someone else's HPKE key.
    const victim = workerKeys();
    sim.checkProvision = async (req) => { req.workerHpkeKey = victim.hpke.publicKey; return undefined; };
    await expect(provisionContractKey({
      endpoint, pinnedCommitteeKey: sim.committeeKey, contractId: cid, version: 1, keys: workerKeys(), makeQuote: fakeQuote,
    })).rejects.toThrow(/0 good partials arrived/);
  });

  test('makes no quote over a challenge that no certified member signed', async () => {
    let quotes = 0;
    const makeQuote = async (rd: Uint8Array) => { quotes++; return fakeQuote(rd); };
    const base = { endpoint, pinnedCommitteeKey: sim.committeeKey, contractId: cid, version: 1, keys: workerKeys(), makeQuote };
    const stranger = generateIdentityKey();
    sim.tamperChallenge = (r) => ({ ...r, signature: signTagged(stranger.secretKey, 'challenge',
      challengeMessage(r.nonce as Uint8Array, BigInt(r.expiresAtMs as string), r.issuerNodeId as Uint8Array)) });
    await expect(provisionContractKey(base)).rejects.toThrow(/challenge signature does not verify under member/);
    sim.tamperChallenge = (r) => ({ ...r, expiresAtMs: String(BigInt(r.expiresAtMs as string) + 1n) });
    await expect(provisionContractKey(base)).rejects.toThrow(ProvisioningError);
    sim.tamperChallenge = (r) => ({ ...r, issuerNodeId: randomBytes(16) });
    await expect(provisionContractKey(base)).rejects.toThrow(/not a member of the certified committee/);
    expect(quotes).toBe(0);
  });

  test('refuses a committee that does not match its certificate', async () => {
    sim.tamperCommittee = (r) => ({ ...r, threshold: 1 });
    await expect(provisionContractKey({
      endpoint, pinnedCommitteeKey: sim.committeeKey, contractId: cid, version: 1, keys: workerKeys(), makeQuote: fakeQuote,
    })).rejects.toThrow(CommitteeMismatchError);
  });

  test('the committee\'s refusal of the quote reaches the caller', async () => {
    sim.checkProvision = async () => 'quote refused: TCB status OutOfDate';
    await expect(provisionContractKey({
      endpoint, pinnedCommitteeKey: sim.committeeKey, contractId: cid, version: 1, keys: workerKeys(), makeQuote: fakeQuote,
    })).rejects.toThrow(/OutOfDate/);
  });

  test('checks its inputs', async () => {
    const keys = workerKeys();
    const base = { endpoint, pinnedCommitteeKey: sim.committeeKey, contractId: cid, version: 1, keys, makeQuote: fakeQuote };
    await expect(provisionContractKey({ ...base, version: 0 })).rejects.toThrow(/version/);
    await expect(provisionContractKey({ ...base, keys: { ...keys, hpke: { ...keys.hpke, publicKey: workerKeys().hpke.publicKey } } })).rejects.toThrow(/keys.hpke/);
    await expect(provisionContractKey({ ...base, keys: { ...keys, signing: { ...keys.signing, publicKey: new Uint8Array(33) } } })).rejects.toThrow(/keys.signing/);
    await expect(provisionContractKey({ ...base, endpoint: undefined })).rejects.toThrow(/endpoint/);
  });
});

describe('publishContractKey', () => {
  test('publishes the provisioned key and returns a certificate that verifies; clients then get it', async () => {
    const c = new GatekeeperClient(endpoint);
    try {
      const keys = workerKeys();
      const cid3 = utf8('publish-test');
      const got = await provisionContractKey({ client: c, pinnedCommitteeKey: sim.committeeKey, contractId: cid3, version: 1, keys, makeQuote: fakeQuote });
      const cert = await publishContractKey(c, { pinnedCommitteeKey: sim.committeeKey, contractId: cid3, version: 1, publicKey: got.publicKey, signing: keys.signing });
      expect(cert.generation).toBe(1);
      expect(schnorr.verify(cert.certificate, contractKeyCertificateMessage(cid3, 1, 1, got.publicKey), sim.committeeKey)).toBe(true);
      const fetched = await getContractKey(c, sim.committeeKey, cid3, 1);
      expect(Buffer.from(fetched.publicKey)).toEqual(Buffer.from(got.publicKey));

      // A worker that was never provisioned cannot publish another key for the same contract.
      const intruder = workerKeys();
      const evil = keyFrom([0, 1, 2], 9).publicKey;
      const err = await publishContractKey(c, { pinnedCommitteeKey: sim.committeeKey, contractId: cid3, version: 1, publicKey: evil, signing: intruder.signing })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RpcError);
    } finally {
      c.close();
    }
  });

  test('refuses a certificate that does not verify under the pinned key', async () => {
    const c = new GatekeeperClient(endpoint);
    try {
      const keys = workerKeys();
      const cid4 = utf8('publish-bad-cert');
      const got = await provisionContractKey({ client: c, pinnedCommitteeKey: sim.committeeKey, contractId: cid4, version: 1, keys, makeQuote: fakeQuote });
      sim.tamperPublish = (r) => ({ ...r, generation: 7 });
      await expect(publishContractKey(c, { pinnedCommitteeKey: sim.committeeKey, contractId: cid4, version: 1, publicKey: got.publicKey, signing: keys.signing }))
        .rejects.toThrow(PublicationError);
      sim.tamperPublish = (r) => ({ ...r, certificate: new Uint8Array(64) });
      await expect(publishContractKey(c, { pinnedCommitteeKey: sim.committeeKey, contractId: cid4, version: 1, publicKey: got.publicKey, signing: keys.signing }))
        .rejects.toThrow(/does not verify/);
    } finally {
      c.close();
    }
  });
});
