// A node that was not elected (OBSERVING) takes the committee's roster certificate only when k members
// serve the same one (issue 10, item 11). The members are fake peers in this process, real gRPC servers
// on loopback answering GetRosterCertificate; one of them forges a certificate under a CPK of its own.
import { jest } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { generateIdentityKey } from '../../src/crypto/identity.js';
import { identifierForPosition } from '../../src/crypto/frost.js';
import { nodeIdOf } from '../../src/node/identity.js';
import { encodeMessage } from '../../src/rpc/messages.js';
import { serviceDefinition } from '../../src/rpc/proto.js';
import { encodeRoster, rosterCertificateMessage, type Roster } from '../../src/committee/roster.js';
import type { CeremonyRecord } from '../../src/store/ceremony-store.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

jest.setTimeout(120_000);

type Cert = { epoch: number; rosterBytes: Uint8Array; signature: Uint8Array };

/** A member that answers GetRosterCertificate with whatever `serve` holds (undefined: "not signed yet"). */
class FakeMember {
  private readonly server = new grpc.Server();
  serve: Cert | undefined;
  calls = 0;
  endpoint = '';
  readonly identity = generateIdentityKey();

  async start(): Promise<void> {
    this.server.addService(serviceDefinition('PeerService'), {
      GetRosterCertificate: (_call: grpc.ServerUnaryCall<unknown, Cert>, cb: grpc.sendUnaryData<Cert>) => {
        this.calls++;
        if (this.serve) cb(null, this.serve);
        else cb({ code: grpc.status.FAILED_PRECONDITION, details: 'the roster certificate of that epoch is not signed yet' });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    this.endpoint = `127.0.0.1:${port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.tryShutdown(() => resolve()));
  }
}

const point = () => secp256k1.Point.BASE.multiply(BigInt('0x' + bytesToHex(randomBytes(31))) + 1n).toBytes(true);

describe('an observer', () => {
  let t: TestNode;
  const members: FakeMember[] = [];
  const EPOCH = 1;
  const K = 3;

  beforeAll(async () => {
    t = await startTestNode();
    for (const share of t.shares.slice(0, 2)) await t.client.call('OperatorService', 'Unseal', { share });
    for (let i = 0; i < 4; i++) {
      const m = new FakeMember();
      await m.start();
      members.push(m);
    }
    members.sort((a, b) => Buffer.compare(nodeIdOf(a.identity.publicKey), nodeIdOf(b.identity.publicKey)));
  });
  afterAll(async () => {
    await t.stop();
    await Promise.all(members.map((m) => m.stop()));
  });

  /** The roster the ceremony elected, with the given committee key, and its certificate signed by `signer`. */
  function certificate(signer: { secretKey: Uint8Array; publicKey: Uint8Array }): Cert {
    const roster: Roster = {
      epoch: EPOCH, threshold: K, masterPublicKey: point(), committeeKey: signer.publicKey, previousCertificateHash: new Uint8Array(32),
      members: members.map((m, i) => ({
        nodeId: nodeIdOf(m.identity.publicKey), identityKey: m.identity.publicKey, transportKey: secp256k1.Point.BASE.toBytes(false),
        endpoint: m.endpoint, stake: 1000n, shareIdentifier: Uint8Array.from(Buffer.from(identifierForPosition(i), 'hex')),
        derivationVerifyingShare: point(), signingVerifyingShare: point(),
      })),
    };
    const rosterBytes = encodeRoster(roster);
    return { epoch: EPOCH, rosterBytes, signature: schnorr.sign(rosterCertificateMessage(EPOCH, rosterBytes), signer.secretKey) };
  }

  /** Waits until `m` was asked `more` more times, or the observer stopped observing. */
  async function waitForCalls(m: FakeMember, more: number): Promise<void> {
    const target = m.calls + more;
    const deadline = Date.now() + 60_000;
    while (m.calls < target && t.node.context!.ceremonies.get(EPOCH)!.state === 'OBSERVING') {
      if (Date.now() > deadline) throw new Error('the observer stopped asking');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  test('does not complete with a certificate one member forged, and completes once k members serve the same one', async () => {
    const ctx = t.node.context!;
    const now = Date.now();
    const record: CeremonyRecord = {
      epoch: EPOCH, kind: 'genesis', state: 'OBSERVING',
      snapshot: encodeMessage('SignedSnapshot', { snapshot: encodeMessage('Snapshot', { epoch: EPOCH, seats: 4 }), signatures: [] }),
      snapshotHash: new Uint8Array(32), threshold: K, phaseDeadlineMs: now + 600_000, phaseTimeoutMs: 600_000, error: '', updatedMs: now,
      roster: members.map((m, i) => ({
        nodeId: bytesToHex(nodeIdOf(m.identity.publicKey)), identityKey: bytesToHex(m.identity.publicKey),
        transportKey: bytesToHex(secp256k1.Point.BASE.toBytes(false)), endpoint: m.endpoint, stake: '1000', shareIdentifier: identifierForPosition(i),
      })),
    };
    const genuine = certificate(generateIdentityKey());
    const forged = certificate(generateIdentityKey());  // the right members, a CPK the forger holds
    members[0]!.serve = forged;
    ctx.ceremonies.insert(record);

    // The forger answers at once; the honest members have not signed yet.
    await waitForCalls(members[0]!, 1);
    await waitForCalls(members[1]!, 3);
    expect(ctx.ceremonies.get(EPOCH)!.state).toBe('OBSERVING');

    // k - 1 honest members serve the genuine certificate: still not enough.
    members[1]!.serve = genuine;
    members[2]!.serve = genuine;
    await waitForCalls(members[3]!, 3);
    expect(ctx.ceremonies.get(EPOCH)!.state).toBe('OBSERVING');
    expect(ctx.ceremonies.certificate(EPOCH)).toBeUndefined();

    // The k-th member agrees: the observer completes with the genuine certificate, never the forged one.
    members[3]!.serve = genuine;
    const deadline = Date.now() + 60_000;
    while (ctx.ceremonies.get(EPOCH)!.state !== 'COMPLETE') {
      if (Date.now() > deadline) throw new Error('the observer did not complete');
      await new Promise((r) => setTimeout(r, 50));
    }
    const stored = ctx.ceremonies.certificate(EPOCH)!;
    expect(bytesToHex(stored.rosterBytes)).toBe(bytesToHex(genuine.rosterBytes));
    expect(bytesToHex(stored.signature)).toBe(bytesToHex(genuine.signature));
  });
});
