// Client SDK against a simulated committee over real gRPC: the roster chain and contract key
// certificates are trusted only through the pinned committee key.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { GatekeeperClient } from '../../src/rpc/client.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { openInvocation } from '../../src/crypto/envelope.js';
import { encodeRoster, rosterCertificateMessage } from '../../src/committee/roster.js';
import {
  CommitteeMismatchError, CommitteeVerificationError, ContractKeyCertificateError, ContractKeyVersionError, encryptForContract, fetchCommittee,
  getContractKey,
} from '../../src/sdk/index.js';
import { contractKeyCertificateMessage } from '../../src/keys/wire.js';
import { SimCommittee } from './sim-committee.js';

let sim: SimCommittee;
let other: SimCommittee;
let client: GatekeeperClient;
const cid = utf8('demo');
const contract = (() => { const sk = secp256k1.utils.randomSecretKey(); return { sk, pk: secp256k1.getPublicKey(sk, true) }; })();

beforeAll(async () => {
  sim = new SimCommittee(4, 3);
  other = new SimCommittee(4, 3);
  client = new GatekeeperClient(await sim.listen());
  for (const version of [1, 2]) sim.certifyKey(cid, version, contract.pk);
});

afterAll(async () => {
  client.close();
  await sim.close();
});

afterEach(() => {
  sim.tamperCommittee = (r) => r;
  sim.tamperContractKey = (r) => r;
});

describe('fetchCommittee', () => {
  test('returns the certified committee under the pinned key', async () => {
    const c = await fetchCommittee(client, sim.committeeKey);
    expect(c.epoch).toBe(1);
    expect(c.threshold).toBe(3);
    expect(Buffer.from(c.masterPublicKey)).toEqual(Buffer.from(sim.masterPublicKey));
    expect(c.members.map((m) => m.shareIdentifier)).toEqual(sim.members.map((m) => m.identifier));
    expect(c.members.map((m) => m.nodeIdHex)).toEqual(sim.members.map((m) => m.nodeIdHex));
    expect(Buffer.from(c.members[2]!.derivationVerifyingShare)).toEqual(Buffer.from(sim.members[2]!.derivation.verifyingShares[sim.members[2]!.identifier]!));
  });

  test('refuses a committee whose roster is certified by another key', async () => {
    sim.tamperCommittee = () => other.committeeResponse();
    await expect(fetchCommittee(client, sim.committeeKey)).rejects.toThrow(/names committee key .* not the pinned/);
  });

  test('refuses our roster signed by a key other than the pinned one', async () => {
    sim.tamperCommittee = (r) => {
      const rosterBytes = encodeRoster(sim.roster);
      return { ...r, certificates: [{ epoch: 1, rosterBytes, signature: other.frostSign(rosterCertificateMessage(1, rosterBytes)) }] };
    };
    await expect(fetchCommittee(client, sim.committeeKey)).rejects.toThrow(CommitteeVerificationError);
    await expect(fetchCommittee(client, sim.committeeKey)).rejects.toThrow(/not signed by the pinned committee key/);
  });

  test('refuses a response with no certificate', async () => {
    sim.tamperCommittee = (r) => ({ ...r, certificates: [] });
    await expect(fetchCommittee(client, sim.committeeKey)).rejects.toThrow(/no roster certificate/);
  });

  test('refuses response fields that disagree with the certified roster', async () => {
    sim.tamperCommittee = (r) => ({ ...r, threshold: 2 });
    await expect(fetchCommittee(client, sim.committeeKey)).rejects.toThrow(CommitteeMismatchError);
    sim.tamperCommittee = (r) => {
      const members = (r.members as Record<string, unknown>[]).map((m, i) => (i === 1 ? { ...m, derivationVerifyingShare: secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), true) } : m));
      return { ...r, members };
    };
    await expect(fetchCommittee(client, sim.committeeKey)).rejects.toThrow(/member 1 .* disagrees/);
    sim.tamperCommittee = (r) => ({ ...r, masterPublicKey: other.masterPublicKey });
    await expect(fetchCommittee(client, sim.committeeKey)).rejects.toThrow(/master public key disagrees/);
  });
});

describe('fetchCommittee over a chain of epochs', () => {
  test('follows a chain signed epoch by epoch, refuses a foreign or unlinked link', async () => {
    const chain = new SimCommittee(4, 3);
    const c = new GatekeeperClient(await chain.listen());
    try {
      chain.addEpoch(2, { endpointSuffix: '1' });
      const got = await fetchCommittee(c, chain.committeeKey);
      expect(got.epoch).toBe(2);
      expect(got.members[0]!.endpoint).toMatch(/70001$/);

      // Epoch 3 certified by a foreign committee key.
      chain.addEpoch(3, { sign: (msg) => other.frostSign(msg) });
      await expect(fetchCommittee(c, chain.committeeKey)).rejects.toThrow(/epoch 3 roster certificate is not signed by the epoch 2 committee key/);

      // Epoch 3 signed by the right key but not linked to epoch 2.
      chain.certificates.pop();
      const roster = { ...chain.roster, epoch: 3, previousCertificateHash: new Uint8Array(32) };
      const rosterBytes = encodeRoster(roster);
      chain.certificates.push({ epoch: 3, rosterBytes, signature: chain.frostSign(rosterCertificateMessage(3, rosterBytes)) });
      chain.roster = roster;
      await expect(fetchCommittee(c, chain.committeeKey)).rejects.toThrow(/does not chain to the epoch 2 certificate/);
    } finally {
      c.close();
      await chain.close();
    }
  });
});

describe('getContractKey', () => {
  test('returns a key whose certificate verifies, latest version by default', async () => {
    const k = await getContractKey(client, sim.committeeKey, cid, 1);
    expect(k.version).toBe(1);
    expect(k.generation).toBe(1);
    expect(Buffer.from(k.publicKey)).toEqual(Buffer.from(contract.pk));
    const latest = await getContractKey(client, sim.committeeKey, cid);
    expect(latest.version).toBe(2);
  });

  test('refuses a certificate with a flipped bit', async () => {
    sim.tamperContractKey = (r) => { const c = Uint8Array.from(r.certificate as Uint8Array); c[10] = c[10]! ^ 1; return { ...r, certificate: c }; };
    await expect(getContractKey(client, sim.committeeKey, cid, 1)).rejects.toThrow(ContractKeyCertificateError);
  });

  test('refuses an attacker key presented with the genuine certificate', async () => {
    const evil = secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), true);
    sim.tamperContractKey = (r) => ({ ...r, publicKey: evil });
    await expect(getContractKey(client, sim.committeeKey, cid, 1)).rejects.toThrow(/not signed by the pinned committee key/);
  });

  test('refuses an attacker key certified by another committee', async () => {
    const evil = secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), true);
    sim.tamperContractKey = (r) => ({ ...r, publicKey: evil, certificate: other.frostSign(contractKeyCertificateMessage(cid, 1, 1, evil)) });
    await expect(getContractKey(client, sim.committeeKey, cid, 1)).rejects.toThrow(ContractKeyCertificateError);
  });

  test('refuses a changed generation, version or contract id', async () => {
    sim.tamperContractKey = (r) => ({ ...r, generation: 2 });
    await expect(getContractKey(client, sim.committeeKey, cid, 1)).rejects.toThrow(/generation 2/);
    sim.tamperContractKey = (r) => ({ ...r, version: 2 });
    await expect(getContractKey(client, sim.committeeKey, cid, 1)).rejects.toThrow(/version 2/);
    sim.tamperContractKey = (r) => ({ ...r, contractId: utf8('other') });
    await expect(getContractKey(client, sim.committeeKey, cid, 1)).rejects.toThrow(/another contract id/);
  });

  test('checks its arguments', async () => {
    await expect(getContractKey(client, new Uint8Array(33), cid)).rejects.toThrow(/pinned committee key must be 32 bytes/);
    await expect(getContractKey(client, sim.committeeKey, new Uint8Array(0))).rejects.toThrow(/contract id/);
    await expect(getContractKey(client, sim.committeeKey, cid, -1)).rejects.toThrow(/version/);
  });
});

describe('key version options', () => {
  test('pins a version, or refuses an answer older than minVersion (a member rolled back to v1)', async () => {
    expect((await getContractKey(client, sim.committeeKey, cid, { version: 1 })).version).toBe(1);
    expect((await getContractKey(client, sim.committeeKey, cid, { minVersion: 2 })).version).toBe(2);
    await expect(getContractKey(client, sim.committeeKey, cid, { minVersion: 3 })).rejects.toThrow(ContractKeyVersionError);
    // A certified but older key is still refused when the client asked for at least v2.
    sim.tamperContractKey = (r) => ({ ...r, ...sim.keys.get(`${Buffer.from(cid).toString('hex')}/1`) });
    await expect(getContractKey(client, sim.committeeKey, cid, { minVersion: 2 })).rejects.toThrow(/answered version 1, below the minimum 2/);
    await expect(encryptForContract(client, sim.committeeKey, cid, utf8('x'), { minVersion: 2 })).rejects.toThrow(ContractKeyVersionError);
    await expect(getContractKey(client, sim.committeeKey, cid, { version: 1, minVersion: 1 })).rejects.toThrow(TypeError);
  });
});

describe('encryptForContract', () => {
  test('writes an envelope that only the contract key opens', async () => {
    const { envelope, key } = await encryptForContract(client, sim.committeeKey, cid, utf8('hello contract'), { version: 1 });
    expect(key.version).toBe(1);
    const opened = await openInvocation(contract.sk, envelope);
    expect(new TextDecoder().decode(opened.plaintext)).toBe('hello contract');
    expect(opened.version).toBe(1);
    await expect(openInvocation(secp256k1.utils.randomSecretKey(), envelope)).rejects.toThrow();
  });

  test('does not encrypt to an uncertified key', async () => {
    sim.tamperContractKey = (r) => ({ ...r, publicKey: secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), true) });
    await expect(encryptForContract(client, sim.committeeKey, cid, utf8('secret'))).rejects.toThrow(ContractKeyCertificateError);
  });
});
