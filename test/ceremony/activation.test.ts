// Activation and election-round votes in one process (issue 11 items 2, 5): the 'activation' signing
// purpose signs only the roster the member's own completed hand-off gives (refusing another roster or
// another previous-certificate hash, read-only), a fresh candidate takes a certificate chain only link
// by link up to the hash the snapshot names, and a member votes for one roster per election epoch,
// also after a restart. Real hand-offs (lifecycle.ts), real SQLite, real signatures.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { openDatabase } from '../../src/store/database.js';
import { AuditLog } from '../../src/audit/log.js';
import { SecretBox } from '../../src/node/keystore.js';
import {
  encodeRoster, hashOfCertificate, rosterCertificateMessage, GENESIS_PREVIOUS_HASH, type Roster,
} from '../../src/committee/roster.js';
import { checkActivation, expectedNextRoster, rosterDifference, type NextRoster } from '../../src/ceremony/activation.js';
import { ThresholdSigner } from '../../src/ceremony/signer.js';
import { CeremonyEngine } from '../../src/ceremony/engine.js';
import { refreshMarker, rosterVoteHash, verifiedChainTo } from '../../src/node/committee-rounds.js';
import { RpcError } from '../../src/rpc/errors.js';
import type { NodeContext } from '../../src/node/context.js';
import type { CeremonyRecord, RosterEntryJson } from '../../src/store/ceremony-store.js';
import { certify, genesis, handOff, makeNode, type Committee } from './lifecycle.js';

const hex = bytesToHex;

function entries(r: Roster): RosterEntryJson[] {
  return r.members.map((m) => ({
    nodeId: hex(m.nodeId), identityKey: hex(m.identityKey), transportKey: hex(m.transportKey), endpoint: m.endpoint,
    stake: m.stake.toString(), shareIdentifier: hex(m.shareIdentifier),
  }));
}

function refusal(f: () => void): RpcError {
  try {
    f();
  } catch (err) {
    if (err instanceof RpcError) return err;
    throw err;
  }
  throw new Error('not refused');
}

describe('activation: the outgoing committee certifies only the roster its hand-off gives', () => {
  let old: Committee;
  let next: Committee;
  let expected: NextRoster;

  beforeAll(async () => {
    old = genesis([0, 1, 2, 3].map((i) => makeNode(`old-${i}`)), 3);
    next = (await handOff(old, [...old.nodes, makeNode('new-4')], 4)).next;
    expected = expectedNextRoster({ epoch: 2, threshold: 4, members: entries(next.roster), publics: next.publics, previous: old.chain[0]! });
  });

  const message = (r: Roster) => rosterCertificateMessage(r.epoch, encodeRoster(r));

  test('the expected roster is the hand-off\'s: same MPK and CPK, new verifying shares, chained to the epoch-1 certificate', () => {
    expect(hex(expected.rosterBytes)).toBe(hex(encodeRoster(next.roster)));
    expect(hex(expected.roster.committeeKey)).toBe(hex(old.roster.committeeKey));
    expect(hex(expected.roster.masterPublicKey)).toBe(hex(old.roster.masterPublicKey));
    expect(hex(expected.roster.previousCertificateHash)).toBe(hex(hashOfCertificate(old.chain[0]!)));
    expect(() => checkActivation(expected, 1, message(next.roster))).not.toThrow();
  });

  test('another roster is refused: a member dropped, another threshold, another member\'s verifying share', () => {
    const dropped = { ...next.roster, members: next.roster.members.slice(0, 4) };
    const lowerK = { ...next.roster, threshold: 3 };
    const swapped = { ...next.roster, members: next.roster.members.map((m, i) => i === 0 ? { ...m, signingVerifyingShare: next.roster.members[1]!.signingVerifyingShare } : m) };
    for (const [wrong, why] of [[dropped, /4 members, expected 5/], [lowerK, /threshold 3/], [swapped, /other verifying shares/]] as const) {
      const err = refusal(() => checkActivation(expected, 1, message(wrong)));
      expect(err.code).toBe(status.PERMISSION_DENIED);
      expect(err.message).toMatch(/ErrActivationRefused/);
      expect(rosterDifference(expected.roster, wrong)).toMatch(why);
    }
  });

  test('a wrong previous-certificate hash is refused (a genesis-like roster, or one chained to another certificate)', () => {
    const otherCert = certify(old.roster, [...old.keys.values()].map((k) => k.signing));
    for (const previous of [GENESIS_PREVIOUS_HASH, hashOfCertificate(otherCert)]) {
      const wrong = { ...next.roster, previousCertificateHash: previous };
      expect(refusal(() => checkActivation(expected, 1, message(wrong))).code).toBe(status.PERMISSION_DENIED);
      expect(rosterDifference(expected.roster, wrong)).toBe('another previous certificate hash');
    }
  });

  test('before the hand-off completed, or for another old epoch, nothing is signed', () => {
    const early = refusal(() => checkActivation(undefined, 1, message(next.roster)));
    expect(early.code).toBe(status.FAILED_PRECONDITION);
    expect(early.message).toMatch(/ErrNotYet/);
    expect(refusal(() => checkActivation(expected, 2, message(next.roster))).code).toBe(status.PERMISSION_DENIED);
  });

  test('through the threshold signer: purpose "activation" is known, read-only, and refuses the wrong roster', () => {
    const db = openDatabase(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gk-activation-')), 'db.sqlite'));
    try {
      const signer = new ThresholdSigner({ db } as unknown as NodeContext, () => undefined, () => undefined);
      signer.register({ name: 'activation', check: (c, m) => checkActivation(expected, c.epoch, m) });
      const c = { epoch: 1 } as CeremonyRecord;
      expect(() => signer.check(c, message(next.roster), 'activation', null)).not.toThrow();
      const wrong = { ...next.roster, previousCertificateHash: GENESIS_PREVIOUS_HASH };
      expect(refusal(() => signer.check(c, message(wrong), 'activation', null)).code).toBe(status.PERMISSION_DENIED);
    } finally {
      db.close();
    }
  });

  test('a fresh candidate takes a chain of three certificates up to the named hash, and no link signed by another key', async () => {
    const third = (await handOff(next, next.nodes.slice(1), 3)).next;
    const chain = third.chain;
    expect(chain).toHaveLength(3);
    expect(verifiedChainTo(chain, hashOfCertificate(chain[2]!))?.map((c) => c.epoch)).toEqual([1, 2, 3]);
    expect(verifiedChainTo(chain, hashOfCertificate(chain[1]!))?.map((c) => c.epoch)).toEqual([1, 2]);
    expect(verifiedChainTo(chain, new Uint8Array(32).fill(7))).toBeUndefined();
    // The epoch-3 roster re-signed by a committee of its own making (another CPK): the link is refused.
    const rogue = genesis([0, 1, 2].map((i) => makeNode(`rogue-${i}`)), 2, 'rogue');
    const forged = certify(third.roster, [...rogue.keys.values()].map((k) => k.signing));
    const bad = [chain[0]!, chain[1]!, forged];
    expect(verifiedChainTo(bad, hashOfCertificate(forged))).toBeUndefined();
  });
});

describe('one vote per election epoch', () => {
  test('a member that voted for a roster in epoch 2 refuses another roster or a refresh there, also after a restart', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gk-vote-'));
    const node = makeNode('member');
    const box = new SecretBox(new Uint8Array(randomBytes(32)));
    const open = () => {
      const db = openDatabase(path.join(dir, 'db.sqlite'));
      const engine = new CeremonyEngine({
        db, box, now: () => 1, audit: new AuditLog(db, () => 1),
        self: { id: hex(node.identityKey), identitySecret: node.identitySecret, transportSecret: node.transportSecret, transportKey: node.transportKey },
        transport: { fetch: () => Promise.reject(new Error('no network')) },
      });
      return { db, engine };
    };
    const old = genesis([0, 1, 2, 3].map((i) => makeNode(`old-${i}`)), 3);
    const roster = entries(old.roster);
    const snapshotHash = new Uint8Array(32).fill(1);
    const a = open();
    const vote = a.engine.vote(2, snapshotHash, rosterVoteHash(4, roster));
    expect(a.engine.vote(2, snapshotHash, rosterVoteHash(4, roster)).signature).toEqual(vote.signature);
    expect(() => a.engine.vote(2, snapshotHash, rosterVoteHash(3, roster))).toThrow(/ErrAlreadyVoted/);
    a.db.close();
    const b = open();
    try {
      expect(() => b.engine.vote(2, snapshotHash, rosterVoteHash(4, roster.slice(1)))).toThrow(/ErrAlreadyVoted/);
      expect(() => b.engine.vote(2, refreshMarker(2, old.chain[0]!), rosterVoteHash(4, roster))).toThrow(/ErrAlreadyVoted/);
      // The next epoch is a new vote.
      expect(b.engine.vote(3, refreshMarker(3, old.chain[0]!), rosterVoteHash(4, roster)).epoch).toBe(3);
    } finally {
      b.db.close();
    }
  });
});
