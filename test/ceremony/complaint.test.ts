// Verifiable complaints (DESIGN §3.4) for genesis round-2 shares, sealed and signed exactly as the
// ceremony engine does it for the genesis protocol (its signed messages are the evidence), and the
// disclosed-DH opening underneath them. A pure test of the check every member runs.
import { bytesToHex } from '@noble/hashes/utils.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { generateTransportKeyPair, hpkeOpen, hpkeOpenWithDisclosedDh, hpkeSeal, sealToPeer } from '../../src/crypto/hpke.js';
import { generateIdentityKey, signTagged } from '../../src/crypto/identity.js';
import {
  DkgBlameError, dkgRound1, dkgRound2, dkgRound3, encodeDkgRound1, encodeDkgRound2, identifierForPosition,
  type DkgRound2Package, type Suite,
} from '../../src/crypto/frost.js';
import {
  discloseSharedSecret, splitSealed, verifyDisclosure, verifyGenesisComplaint, type GenesisParty,
} from '../../src/ceremony/complaint.js';
import { ceremonyMessageBytes, sealContext } from '../../src/ceremony/engine.js';

const json = (v: unknown) => utf8(JSON.stringify(v));

describe('HPKE with a disclosed DH value', () => {
  test('opens exactly what the recipient opens, and nothing under a wrong value', async () => {
    const r = generateTransportKeyPair();
    const info = utf8('gatekeeper/v1/test');
    const { enc, ciphertext } = await hpkeSeal(r.publicKey, info, utf8('the share'));
    const d = discloseSharedSecret(r.secretKey, r.publicKey, enc);
    expect(verifyDisclosure(r.publicKey, enc, d)).toBe(true);
    const opened = await hpkeOpenWithDisclosedDh(d.dhPoint, r.publicKey, enc, info, ciphertext);
    expect(Buffer.from(opened).toString()).toBe('the share');
    expect(bytesToHex(await hpkeOpen(r.secretKey, enc, info, ciphertext))).toBe(bytesToHex(opened));
    const other = await hpkeSeal(r.publicKey, info, utf8('another'));
    const wrong = discloseSharedSecret(r.secretKey, r.publicKey, other.enc);
    await expect(hpkeOpenWithDisclosedDh(wrong.dhPoint, r.publicKey, enc, info, ciphertext)).rejects.toThrow(/does not authenticate/);
    // the proof is bound to enc and to the transport key
    expect(verifyDisclosure(r.publicKey, other.enc, d)).toBe(false);
    expect(verifyDisclosure(generateTransportKeyPair().publicKey, enc, d)).toBe(false);
    expect(verifyDisclosure(r.publicKey, enc, { dhPoint: wrong.dhPoint, proof: d.proof })).toBe(false);
  });
});

interface Member extends GenesisParty { identitySecret: Uint8Array; transportSecret: Uint8Array }

/** What the engine signs for `sender` in (ceremony, phase) to `recipient` ('*' for a broadcast). */
const engineSign = (ceremony: string, phase: string, s: Member, recipient: string, body: Uint8Array) =>
  signTagged(s.identitySecret, 'ceremony-message', ceremonyMessageBytes({ ceremony, phase, sender: s.id, recipient, body }));

/** A 3-member genesis DKG of both secrets with round-1 and round-2 messages as the engine signs and seals them. */
async function genesisRound2(ceremony: string, tamper?: { from: number; to: number; suite: Suite }) {
  const members: Member[] = Array.from({ length: 3 }, (_, i) => {
    const id = generateIdentityKey();
    const t = generateTransportKeyPair();
    return { id: bytesToHex(id.publicKey), nodeId: Uint8Array.from([i + 1, ...new Uint8Array(15)]), identityKey: id.publicKey, identitySecret: id.secretKey,
      transportKey: t.publicKey, transportSecret: t.secretKey, identifier: identifierForPosition(i) };
  });
  const params = { threshold: 2, participants: 3 };
  const r1 = members.map((m) => ({ derivation: dkgRound1('derivation', m.identifier, params), signing: dkgRound1('signing', m.identifier, params) }));
  const round1 = r1.map((r, i) => {
    const body = json({ derivation: encodeDkgRound1(r.derivation.round1), signing: encodeDkgRound1(r.signing.round1) });
    return { body, signature: engineSign(ceremony, 'round1', members[i]!, '*', body) };
  });
  const others = (suite: Suite, i: number) => r1.filter((_, k) => k !== i).map((r) => r[suite].round1);
  const out = r1.map((r, i) => ({ derivation: dkgRound2(r.derivation.state, others('derivation', i)), signing: dkgRound2(r.signing.state, others('signing', i)) }));
  const sealed = new Map<string, { body: Uint8Array; signature: Uint8Array; pkgs: Record<Suite, DkgRound2Package> }>();
  for (const [i, s] of members.entries()) {
    for (const [j, r] of members.entries()) {
      if (i === j) continue;
      const pkgs = { derivation: out[i]!.derivation.find((p) => p.recipient === r.identifier)!, signing: out[i]!.signing.find((p) => p.recipient === r.identifier)! };
      if (tamper && tamper.from === i && tamper.to === j) pkgs[tamper.suite] = { ...pkgs[tamper.suite], signingShare: new Uint8Array(32).fill(9) };
      const context = sealContext({ ceremony, phase: 'round2', sender: s.id, recipient: r.id });
      const box = await sealToPeer(r.transportKey, context, json({ derivation: encodeDkgRound2(pkgs.derivation), signing: encodeDkgRound2(pkgs.signing) }));
      sealed.set(`${i}>${j}`, { body: box, pkgs, signature: engineSign(ceremony, 'round2', s, r.id, box) });
    }
  }
  const round3 = (j: number, suite: Suite) => dkgRound3(r1[j]![suite].state, others(suite, j),
    members.flatMap((_, i) => (i === j ? [] : [sealed.get(`${i}>${j}`)!.pkgs[suite]])));
  return { members, round1, sealed, round3 };
}

describe('genesis round-2 complaints', () => {
  test('a bad round-2 share: the recipient\'s round 3 names the sender and its complaint proves it', async () => {
    const g = await genesisRound2('genesis-1', { from: 0, to: 2, suite: 'derivation' });
    expect(() => g.round3(2, 'derivation')).toThrow(DkgBlameError);
    const evidence = g.sealed.get('0>2')!;
    const { enc } = splitSealed(evidence.body);
    const accuser = g.members[2]!;
    const disclosure = discloseSharedSecret(accuser.transportSecret, accuser.transportKey, enc);
    const verdict = await verifyGenesisComplaint('genesis-1', g.members[0]!, accuser, { round1: g.round1[0]!, round2: evidence, disclosure });
    expect(verdict).toEqual({ verdict: 'dealer-guilty', reason: 'the share does not match the sender\'s commitments' });
    // the same evidence presented by another member, or for another ceremony, proves nothing
    expect((await verifyGenesisComplaint('genesis-1', g.members[0]!, g.members[1]!, { round1: g.round1[0]!, round2: evidence, disclosure })).verdict).toBe('complaint-false');
    expect((await verifyGenesisComplaint('genesis-2', g.members[0]!, accuser, { round1: g.round1[0]!, round2: evidence, disclosure })).verdict).toBe('complaint-false');
  });

  test('a complaint against an honest sender is false, whatever the accuser discloses', async () => {
    const g = await genesisRound2('genesis-4');
    expect(() => g.round3(1, 'signing')).not.toThrow();
    const evidence = g.sealed.get('2>1')!;
    const accuser = g.members[1]!;
    const { enc } = splitSealed(evidence.body);
    const honest = discloseSharedSecret(accuser.transportSecret, accuser.transportKey, enc);
    const c = { round1: g.round1[2]!, round2: evidence, disclosure: honest };
    expect((await verifyGenesisComplaint('genesis-4', g.members[2]!, accuser, c)).verdict).toBe('complaint-false');
    // a DH value for another ciphertext would make this one fail to open, but its proof does not hold
    const other = splitSealed(g.sealed.get('0>1')!.body).enc;
    const forged = { dhPoint: discloseSharedSecret(accuser.transportSecret, accuser.transportKey, other).dhPoint, proof: honest.proof };
    expect(await verifyGenesisComplaint('genesis-4', g.members[2]!, accuser, { ...c, disclosure: forged }))
      .toEqual({ verdict: 'complaint-false', reason: 'the disclosed DH value is not proven against the accuser\'s transport key' });
    // evidence the sender did not sign is not evidence
    const altered = Uint8Array.from(evidence.body);
    altered[altered.length - 1]! ^= 1;
    expect(await verifyGenesisComplaint('genesis-4', g.members[2]!, accuser, { ...c, round2: { ...evidence, body: altered } }))
      .toMatchObject({ verdict: 'complaint-false', reason: expect.stringMatching(/round-2 evidence is not signed/) });
    // and a complaint for another ceremony is false
    expect((await verifyGenesisComplaint('genesis-5', g.members[2]!, accuser, c)).verdict).toBe('complaint-false');
  });

  test('a sender whose signed ciphertext does not open for the recipient is guilty', async () => {
    const g = await genesisRound2('genesis-2');
    const sender = g.members[1]!;
    const accuser = g.members[0]!;
    // the sender seals garbage under the right context and signs it
    const box = await sealToPeer(generateTransportKeyPair().publicKey, sealContext({ ceremony: 'genesis-2', phase: 'round2', sender: sender.id, recipient: accuser.id }), utf8('x'));
    const round2 = { body: box, signature: engineSign('genesis-2', 'round2', sender, accuser.id, box) };
    const disclosure = discloseSharedSecret(accuser.transportSecret, accuser.transportKey, splitSealed(box).enc);
    expect(await verifyGenesisComplaint('genesis-2', sender, accuser, { round1: g.round1[1]!, round2, disclosure }))
      .toEqual({ verdict: 'dealer-guilty', reason: 'the signed ciphertext does not open under the proven DH value' });
  });
});
