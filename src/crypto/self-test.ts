// Start-up self-test of the cryptography a node uses (in the spirit of FIPS 140 power-on self-tests):
// a node that cannot run its own DKG, threshold signature, HPKE and identity signatures correctly
// must not start. It also does the one-time work those paths do on first use (noble builds its
// fixed-base tables, about 130 ms; the JIT compiles the code), so that it is not paid in the middle
// of the first ceremony or provisioning.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { equalBytes, utf8 } from './bytes.js';
import {
  aggregateSignature, assertKeyPackage, dkgRound1, dkgRound2, dkgRound3, identifierForPosition, signingCommit, signShare,
  verifyGroupSignature, type DkgRound2Package, type KeyPackage, type Suite,
} from './frost.js';
import { generateTransportKeyPair, openFromPeer, sealToPeer } from './hpke.js';
import { generateIdentityKey, signTagged, verifyTagged } from './identity.js';

export class SelfTestError extends Error {
  override name = 'SelfTestError';
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new SelfTestError(`cryptographic self-test failed: ${what}`);
}

/** A 2-of-3 DKG of one suite in memory; every member must end with the same group key. */
function dkg(suite: Suite): KeyPackage[] {
  const ids = [0, 1, 2].map(identifierForPosition);
  const r1 = ids.map((id) => dkgRound1(suite, id, { threshold: 2, participants: 3 }));
  const others = (i: number) => r1.filter((_, j) => j !== i).map((r) => r.round1);
  const outbox: DkgRound2Package[] = r1.flatMap((r, i) => dkgRound2(r.state, others(i)));
  const keys = r1.map((r, i) => dkgRound3(r.state, others(i), outbox.filter((m) => m.recipient === ids[i])));
  check(keys.every((k) => equalBytes(k.groupPublicKey, keys[0]!.groupPublicKey)), `${suite} DKG members disagree`);
  return keys;
}

/** Runs every check; throws SelfTestError on the first failure. Returns the CPU milliseconds it took. */
export async function runCryptoSelfTest(): Promise<number> {
  const c0 = process.cpuUsage();
  const { Point } = secp256k1;
  check(Point.BASE.multiply(3n).equals(Point.BASE.multiplyUnsafe(3n)), 'fixed-base multiplications disagree');

  const derivation = dkg('derivation');
  const signing = dkg('signing');
  const consistent = (k: KeyPackage) => { try { assertKeyPackage(k); return true; } catch { return false; } };
  check([...derivation, ...signing].every(consistent), 'a DKG key package does not match its verifying shares');

  const message = utf8('gatekeeper/v1/self-test');
  const signers = [signing[0]!, signing[2]!];
  const rounds = signers.map((k) => signingCommit(k));
  const commitments = rounds.map((r) => r.commitments);
  const shares = signers.map((k, i) => signShare(k, rounds[i]!.nonces, commitments, message));
  const signature = aggregateSignature(signing[0]!, commitments, message, shares);
  check(verifyGroupSignature(signing[0]!.groupPublicKey, message, signature), 'FROST signature does not verify');

  const transport = generateTransportKeyPair();
  const sealed = await sealToPeer(transport.publicKey, 'self-test', message);
  const opened = await openFromPeer(transport.secretKey, 'self-test', sealed, transport.publicKey);
  check(equalBytes(opened, message), 'HPKE round trip');

  const identity = generateIdentityKey();
  const sig = signTagged(identity.secretKey, 'peer', message);
  check(verifyTagged(identity.publicKey, 'peer', message, sig), 'identity signature does not verify');
  check(!verifyTagged(identity.publicKey, 'operator', message, sig), 'identity signature verifies under another tag');

  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}
