// `gatekeeper devnet` (what `npm start` runs): a local committee on loopback, end to end.
import path from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Command } from '../main.js';
import { parseCommandArgs, UsageError } from '../args.js';
import { Devnet, DevnetDirError, DEMO_CONTRACT, DEMO_SNP_CONTRACT } from '../../devnet/devnet.js';
import { equalBytes, utf8 } from '../../crypto/bytes.js';
import { verifyRosterChain } from '../../sdk/client.js';

const command: Command = {
  summary: 'run a local committee on loopback (N node processes, genesis election and DKG)',
  async run(argv) {
    const { values } = parseCommandArgs(argv, {
      nodes: { type: 'string', default: '4' }, threshold: { type: 'string' }, dir: { type: 'string', default: '.devnet' },
      once: { type: 'boolean' }, help: { type: 'boolean' },
    });
    if (values.help) {
      process.stdout.write([
        'usage: gatekeeper devnet [--nodes N] [--threshold K] [--dir DIR] [--once]',
        '',
        'Starts N node processes (default 4, k = floor(2N/3)+1) with databases under DIR (default .devnet;',
        'a folder an earlier devnet made is cleared first, any other non-empty folder is refused), unseals',
        'them with development shares, runs the genesis election and DKG, prints the committee, provisions',
        'the demo workers, rotates a contract key, then adds a candidate and runs an election round with',
        'hand-off (same keys, a worker provisioned by the new committee), writes DIR/devnet.json and keeps',
        'serving until Ctrl-C. --once exits after the checks:',
        '0 only if every step succeeded.',
        '',
      ].join('\n'));
      return 0;
    }
    const nodes = Number(values.nodes);
    if (!Number.isInteger(nodes) || nodes < 2 || nodes > 32) throw new UsageError('--nodes must be an integer from 2 to 32');
    const threshold = values.threshold === undefined ? Math.floor((2 * nodes) / 3) + 1 : Number(values.threshold);
    if (!Number.isInteger(threshold) || threshold < 2 || threshold > nodes) throw new UsageError(`--threshold must be an integer from 2 to ${nodes}`);
    const started = Date.now();
    const say = (line: string) => process.stdout.write(`[devnet +${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);
    const devnet = new Devnet({ dir: path.resolve(values.dir!), nodes, threshold, log: say });
    try {
      const view = await devnet.genesis();
      let manifest = devnet.writeManifest(view);
      say('committee summary:');
      say(`  epoch          ${view.epoch}`);
      say(`  threshold      ${view.threshold} of ${view.members.length}`);
      say(`  committee key  ${bytesToHex(view.committeeKey)}`);
      say(`  master pubkey  ${bytesToHex(view.masterPublicKey)}`);
      for (const m of view.members) say(`  member ${bytesToHex(m.nodeId)} at ${m.endpoint}`);
      say(`  roster certificate verifies under the committee key (BIP340)`);
      say(`wrote ${manifest}`);

      say(`installing the governance-signed demo release policy and registering contract '${DEMO_CONTRACT}' on every member`);
      await devnet.registerDemoContract();
      say('starting the development worker (test PKI quotes): it provisions its key from the committee and publishes pk_c');
      const worker = await devnet.startWorker(view.committeeKey);
      say(`  worker serving DemoContract at ${worker.endpoint}; certified contract key ${worker.publicKey}`);
      const message = new TextEncoder().encode(`hello from a Gatekeeper client at ${new Date().toISOString()}`);
      say(`a client fetches the certified key from another member, verifies it against the committee key, and encrypts ${message.length} bytes`);
      const res = await devnet.invokeDemo(view.committeeKey, message);
      const ok = Buffer.compare(res.digest, res.expected) === 0 && res.length === message.length;
      say(`  the worker opened the envelope: sha256 ${bytesToHex(res.digest)} (${ok ? 'matches' : 'DOES NOT MATCH'} the client's), length ${res.length}`);
      if (!ok) throw new Error("the worker's digest does not match the plaintext");
      say(`registering contract '${DEMO_SNP_CONTRACT}' (namespace demo-snp: SEV-SNP only); starting the development SNP worker (gatekeeper worker --tee snp)`);
      await devnet.registerContract(DEMO_SNP_CONTRACT, 'demo-snp');
      const snpWorker = await devnet.startSnpWorker(view.committeeKey);
      say(`  every member verified its SEV-SNP report (development ARK) on its own; certified contract key ${snpWorker.publicKey}`);
      const resSnp = await devnet.invokeDemo(view.committeeKey, message, 2, 1, { snp: true });
      const okSnp = Buffer.compare(resSnp.digest, resSnp.expected) === 0 && resSnp.length === message.length;
      say(`  the SNP worker opened an envelope to '${DEMO_SNP_CONTRACT}': sha256 ${bytesToHex(resSnp.digest)} (${okSnp ? 'matches' : 'DOES NOT MATCH'})`);
      if (!okSnp) throw new Error("the SNP worker's digest does not match the plaintext");
      say(`governance rotates '${DEMO_CONTRACT}' to key version 2 on every member; a fresh worker provisions and publishes v2`);
      const rotated = await devnet.rotateDemo(view.committeeKey, 2);
      say(`  every member now answers GetContractKey(version 0) with v2 ${rotated.publicKey}`);
      const res2 = await devnet.invokeDemo(view.committeeKey, message, 2, 2);
      const ok2 = Buffer.compare(res2.digest, res2.expected) === 0;
      say(`  the worker opened an envelope to v2: sha256 ${bytesToHex(res2.digest)} (${ok2 ? 'matches' : 'DOES NOT MATCH'})`);
      if (!ok2) throw new Error("the worker's digest for v2 does not match the plaintext");

      // The committee life cycle (issue 11): a fifth candidate, an election round with hand-off (no
      // machine rebuilds the secrets), the same keys, and a worker provisioned by the new committee.
      say('a fifth candidate joins; the new node installs the policy and the contract state like the others');
      const fifth = await devnet.addNode();
      await devnet.registerDemoContract();
      await devnet.governContract('rotate', utf8(DEMO_CONTRACT), 2);
      const k2 = Math.floor((2 * devnet.nodes.length) / 3) + 1;
      say(`election round for epoch 2 (${devnet.nodes.length} candidates, k = ${k2}): the old members deal sub-shares of their shares to the new roster`);
      const next = await devnet.electionRound(2, devnet.nodes.map((_, i) => i), devnet.nodes.length, k2);
      const sameKeys = equalBytes(next.committeeKey, view.committeeKey) && equalBytes(next.masterPublicKey, view.masterPublicKey);
      say(`  epoch ${next.epoch}: ${next.members.length} members, k = ${next.threshold}; committee key and master public key ${sameKeys ? 'unchanged' : 'CHANGED'}`);
      if (!sameKeys || next.epoch !== 2 || next.members.length !== devnet.nodes.length) throw new Error('the hand-off did not keep the committee keys');
      verifyRosterChain(next.certificates, view.committeeKey);
      say(`  the roster chain (${next.certificates.length} certificates) verifies from the pinned committee key; epoch 2 is signed by the outgoing committee`);
      const served = await devnet.servedContractKey(fifth, view.committeeKey, DEMO_CONTRACT, 2, 20_000);
      say(`  the new member ${devnet.nodes[fifth]!.name} serves '${DEMO_CONTRACT}' v2 ${served} (${served === rotated.publicKey ? 'the same certified key' : 'A DIFFERENT KEY'})`);
      if (served !== rotated.publicKey) throw new Error('the certified contract key changed across the hand-off');
      say('a second worker provisions from the new committee (through the new member)');
      await devnet.stopWorker();
      const second = await devnet.startWorker(view.committeeKey, fifth, [1, 2]);
      if (second.publicKey !== rotated.publicKey) throw new Error('the worker provisioned from the new committee derived another key');
      const res3 = await devnet.invokeDemo(view.committeeKey, message, fifth, 2);
      const ok3 = Buffer.compare(res3.digest, res3.expected) === 0;
      say(`  it derived the same key and opened a client's envelope: sha256 ${bytesToHex(res3.digest)} (${ok3 ? 'matches' : 'DOES NOT MATCH'})`);
      if (!ok3) throw new Error("the second worker's digest does not match the plaintext");

      manifest = devnet.writeManifest(next, { worker: { endpoint: second.endpoint }, demoContract: DEMO_CONTRACT, demoVersion: 2,
        snpWorker: { endpoint: snpWorker.endpoint, contract: DEMO_SNP_CONTRACT } });
      for (const n of devnet.nodes) say(`  node ${n.name} at ${n.endpoint}`);
      say(`  worker at ${second.endpoint}; SNP worker at ${snpWorker.endpoint}; committee key ${bytesToHex(view.committeeKey)}`);
      say(`wrote ${manifest}`);
      if (values.once) return 0;
      say('serving; press Ctrl-C to stop');
      await new Promise<void>((resolve) => { process.once('SIGINT', resolve); process.once('SIGTERM', resolve); });
      return 0;
    } catch (err) {
      if (err instanceof DevnetDirError) throw new UsageError(err.message);
      say(`FAILED: ${err instanceof Error ? err.message : String(err)}`);
      return 1;
    } finally {
      await devnet.stop();
    }
  },
};
export default command;
