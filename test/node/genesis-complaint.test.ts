// Complaints in genesis (issue 11 item 4): one member sends one bad round-2 share to one other member.
// The misbehaviour is injected from outside the culprit's process: a PeerService proxy in front of it
// replaces the sealed share it serves to the victim (its engine message of phase round2) with a
// well-formed wrong share, sealed to the victim under the engine's context and signed with the culprit's
// identity key (what a malicious member would do). Every member
// must abort naming the culprit, with the evidence audited; none may certify a roster that lists it.
import { jest } from '@jest/globals';
import path from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import Database from 'better-sqlite3';
import { Devnet, sleep } from '../../src/devnet/devnet.js';
import { allAuditEntries, verifyAuditChain } from '../../src/audit/log.js';
import { decodeMessage, encodeMessage } from '../../src/rpc/messages.js';
import { encodeDkgRound2, identifierForPosition } from '../../src/crypto/frost.js';
import { sealToPeer } from '../../src/crypto/hpke.js';
import { signTagged } from '../../src/crypto/identity.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { ceremonyMessageBytes, sealContext } from '../../src/ceremony/engine.js';
import type { WireMessage } from '../../src/ceremony/transport.js';
import { PeerProxy } from '../helpers/peer-proxy.js';
import { readNodeSecrets } from '../helpers/devnet-secrets.js';
import { tempDir } from '../helpers/node.js';

jest.setTimeout(180_000);

describe('genesis with one bad round-2 share (n = 4, k = 3)', () => {
  const proxy = new PeerProxy();
  let devnet: Devnet;
  let culpritHex = '';
  let victimHex = '';
  let rewritten = 0;

  beforeAll(async () => {
    const proxied = await proxy.listen();
    devnet = new Devnet({ dir: tempDir('complaint'), nodes: 4, threshold: 3, phaseTimeoutMs: 30_000, advertise: (i, l) => (i === 3 ? proxied : l) });
    await devnet.create();
    proxy.setTarget(devnet.nodes[3]!.listen);
    const culpritSecret = (await readNodeSecrets(devnet.nodes[3]!, 1)).identitySecret;
    await Promise.all(devnet.nodes.map((_, i) => devnet.startNode(i)));
    await Promise.all(devnet.nodes.map((_, i) => devnet.unseal(i)));
    const statuses = await Promise.all(devnet.nodes.map((n) => n.client.call<{ nodeId: Uint8Array; identityKey: Uint8Array; transportKey: Uint8Array }>('OperatorService', 'Status', {})));
    const sorted = statuses.map((s) => bytesToHex(s.nodeId)).sort();
    const identifier = (nodeId: Uint8Array) => identifierForPosition(sorted.indexOf(bytesToHex(nodeId)));
    const culprit = statuses[3]!;
    const victim = statuses[0]!;
    culpritHex = bytesToHex(culprit.nodeId);
    victimHex = bytesToHex(victim.nodeId);
    proxy.rewrite = async (method, _request, response) => {
      if (method !== 'GetCeremonyMessage') return response;
      const r = decodeMessage<WireMessage>('CeremonyMessage', response);
      if (r.phase !== 'round2' || r.recipient !== bytesToHex(victim.identityKey)) return response;
      // A share of the right shape for the right pair that is not on the culprit's committed polynomial.
      const wrong = () => encodeDkgRound2({ sender: identifier(culprit.nodeId), recipient: identifier(victim.nodeId), signingShare: secp256k1.utils.randomSecretKey() });
      const plaintext = utf8(JSON.stringify({ derivation: wrong(), signing: wrong() }));
      const body = await sealToPeer(victim.transportKey, sealContext(r), plaintext);
      const signature = signTagged(culpritSecret, 'ceremony-message', ceremonyMessageBytes({ ...r, body }));
      rewritten++;
      return Buffer.from(encodeMessage('CeremonyMessage', { ...r, body, signature }));
    };
    const snapshot = await devnet.genesisSnapshot(1, 4, 3);
    await devnet.operatorCall(0, 'SubmitGenesis', { snapshot, forward: true });
  });
  afterAll(async () => {
    await devnet.stop();
    await proxy.close();
  });

  test('every member aborts, naming the culprit; none certifies a roster', async () => {
    const deadline = Date.now() + 60_000;
    let states = await Promise.all(devnet.nodes.map((_, i) => devnet.status(i)));
    while (!states.every((s) => s.ceremonyState === 'ABORTED') && Date.now() < deadline) {
      await sleep(250);
      states = await Promise.all(devnet.nodes.map((_, i) => devnet.status(i)));
    }
    expect(rewritten).toBeGreaterThan(0);
    for (const s of states) {
      expect(s.ceremonyState).toBe('ABORTED');
      expect(s.ceremonyError).toMatch(/^ErrDealerDisqualified: member [0-9a-f]+ sent member [0-9a-f]+ a bad round-2 share/);
      expect(s.ceremonyError.split(' sent member')[0]).toContain(culpritHex);
      expect(s.ceremonyError).toContain(victimHex);
      expect(s.ceremonyError).not.toMatch(/missed its deadline/);
    }
    for (let i = 0; i < devnet.nodes.length; i++) await expect(devnet.committee(i)).rejects.toThrow(/no committee/);
  });

  test('the evidence is audited, and no member keeps key shares of the aborted epoch', async () => {
    await devnet.stop();
    for (const [i, n] of devnet.nodes.entries()) {
      const db = new Database(path.join(n.dir, 'gatekeeper.sqlite'), { readonly: true });
      const entries = [...allAuditEntries(db)];
      const certificates = db.prepare('SELECT COUNT(*) AS n FROM certificates').get() as { n: number };
      db.close();
      expect(verifyAuditChain(entries)).toMatchObject({ ok: true });
      expect(certificates.n).toBe(0);
      const actions = entries.map((e) => e.action);
      expect(actions).not.toContain('genesis.confirmed');
      if (i === 0) {
        const complaint = entries.find((e) => e.action === 'genesis.complaint')!;
        expect(complaint).toBeDefined();
        expect(JSON.stringify(complaint)).toContain(culpritHex);
        expect(JSON.stringify(complaint)).toMatch(/dhPoint/);
      } else {
        const blame = entries.find((e) => e.action === 'genesis.blame')!;
        expect(blame).toBeDefined();
        expect(JSON.stringify(blame)).toMatch(/ErrDealerDisqualified/);
        expect(JSON.stringify(blame)).toMatch(/sealed/);
      }
      const secrets = await readNodeSecrets(n, 1);
      expect(secrets.derivation).toBeUndefined();
    }
  });
});
