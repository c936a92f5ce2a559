// The whole contract-key flow with n = 7, k = 5 node processes: genesis (every member agrees and the
// roster certificate verifies), policy, registration, the development worker, a client encrypting to
// the certified key and the worker opening it.
import { jest } from '@jest/globals';
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { Devnet, DEMO_CONTRACT } from '../../src/devnet/devnet.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { contractKeyCertificateMessage } from '../../src/keys/wire.js';
import { rosterCertificateMessage } from '../../src/committee/roster.js';
import { tempDir } from '../helpers/node.js';

jest.setTimeout(240_000);

test('n = 7, k = 5: the worker gets its key from the committee and opens what a client encrypted', async () => {
  const devnet = new Devnet({ dir: tempDir('ckeys7'), nodes: 7, threshold: 5 });
  try {
    // genesis() checks that every member reports the same committee and certificate chain.
    const view = await devnet.genesis();
    expect(view.members).toHaveLength(7);
    expect(view.threshold).toBe(5);
    const cert = view.certificates[0]!;
    expect(schnorr.verify(cert.signature, rosterCertificateMessage(1, cert.rosterBytes), view.committeeKey)).toBe(true);
    await devnet.registerDemoContract();
    const worker = await devnet.startWorker(view.committeeKey, 6);
    const message = utf8('seven members, five needed');
    const res = await devnet.invokeDemo(view.committeeKey, message, 2);
    expect(bytesToHex(res.digest)).toBe(bytesToHex(res.expected));
    expect(res.length).toBe(message.length);
    const k = await devnet.nodes[4]!.client.call<{ publicKey: Uint8Array; certificate: Uint8Array; generation: number }>(
      'PublicService', 'GetContractKey', { contractId: utf8(DEMO_CONTRACT), version: 1 });
    expect(bytesToHex(k.publicKey)).toBe(worker.publicKey);
    expect(schnorr.verify(k.certificate, contractKeyCertificateMessage(utf8(DEMO_CONTRACT), 1, k.generation, k.publicKey), view.committeeKey)).toBe(true);
  } finally {
    await devnet.stop();
  }
});
