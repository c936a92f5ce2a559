// Genesis's DKG (DESIGN §3.2–3.4) as a protocol of the ceremony engine: the FROST DKG of both master
// secrets (RFC 9591 Appendix C; frost.ts) as pure phases.
//   start   round 1 of both suites; broadcast the two round-1 packages
//   round1  every other member's packages → round 2: one share pair per member, addressed (sealed)
//   round2  every share for us → round 3: both key packages, broadcast the confirmation of the roster
//           computed from them; or, if a share is proven bad, broadcast a complaint (outcome.ts)
//   outcome every other member's confirmation of the same roster → complete (the key packages);
//           a complaint or another roster → blame, naming the culprit, on every member
// The engine does the I/O (persist before serve, deadlines, pulls, signatures, sealing). Secrets (the
// DKG polynomials, then the key packages) live only in the sealed protocol state, and scrub() drops them.
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8 } from '../../crypto/bytes.js';
import {
  decodeDkgState, decodeKeyPackage, dkgRound1, dkgRound2, dkgRound3, DkgBlameError, encodeDkgState, encodeKeyPackage,
  publicPackage, type DkgRound1Package, type DkgRound2Package, type KeyPackage, type Suite,
} from '../../crypto/frost.js';
import { encodeRoster } from '../../committee/roster.js';
import type { RosterEntryJson } from '../../store/ceremony-store.js';
import type { Member, PhaseContext, PhaseResult, Protocol, Received } from '../engine.js';
import type { SignedBody } from '../complaint.js';
import {
  decodeRound1Body, decodeRound2Body, encodeRound1Body, encodeRound2Body, GENESIS_KIND, genesisRoster, partyOf,
  PHASE_OUTCOME, PHASE_ROUND1, PHASE_ROUND2, SUITES, type GenesisParty,
} from './messages.js';
import { complaintEvidence, complaintsAgainst, decodeOutcome, encodeOutcome, judgeOutcome } from './outcome.js';

/** This node's transport secret, bound into its protocol instance (never stored in the state): a complaint discloses with it. */
export interface GenesisNodeKeys { transportSecret: Uint8Array }

/** What start() takes: the elected roster (sorted, with share identifiers) and k. */
export interface GenesisParams { threshold: number; roster: RosterEntryJson[] }

const hexSigned = (m: { body: Uint8Array; signature: Uint8Array }) => ({ body: bytesToHex(m.body), signature: bytesToHex(m.signature) });
const fromHexSigned = (m: { body: string; signature: string }): SignedBody => ({ body: hexToBytes(m.body), signature: hexToBytes(m.signature) });

/** Plain, JSON-encodable state; the engine seals it at rest (it holds the DKG secrets, then the key packages). */
export interface GenesisState {
  epoch: number;
  threshold: number;
  roster: RosterEntryJson[];
  /** Round-1/round-2 DKG secret state of both suites (frost.ts encodeDkgState), until round 3. */
  local?: Record<Suite, unknown>;
  /** Every other member's signed round-1 broadcast, by engine id (evidence for a complaint). */
  round1: Record<string, { body: string; signature: string }>;
  /** Both key packages (secret), from round 3 until the node stores them (scrub drops them). */
  keys?: Record<Suite, unknown>;
  /** SHA-256 of the roster this member computed (hex). */
  rosterHash?: string;
  /** This member's complaint, if it made one: it aborts, naming the culprit, once it is servable. */
  complaint?: { accused: string; reason: string; evidence: Record<string, string> };
}

/** The engine members of a genesis roster: identity key as id, node id as the name errors use. */
export function genesisMembers(roster: RosterEntryJson[]): Member[] {
  return roster.map((m) => ({ id: m.identityKey, endpoint: m.endpoint, transportKey: m.transportKey, name: m.nodeId }));
}

const dec = new TextDecoder();
const errText = (err: unknown) => (err instanceof Error ? err.message : String(err));
const ABORT_HINT = 'genesis aborts everywhere: rerun it at a higher epoch without';

export function genesisProtocol(keys: GenesisNodeKeys): Protocol<GenesisState> {
  const parties = (s: GenesisState) => s.roster.map(partyOf);
  const party = (s: GenesisState, id: string): GenesisParty => {
    const m = s.roster.find((r) => r.identityKey === id);
    if (!m) throw new Error('not a member of this genesis');
    return partyOf(m);
  };
  const others = (s: GenesisState, ctx: PhaseContext) => s.roster.filter((m) => m.identityKey !== ctx.self);
  const nodeOf = (s: GenesisState, id: string) => s.roster.find((r) => r.identityKey === id)?.nodeId ?? id;
  /** A sender blamed for what it signed (a malformed or refused round-1 package). */
  const blameSender = (s: GenesisState, r: Received, reason: string): PhaseResult<GenesisState> => ({
    kind: 'blame', code: 'ErrBadMessage', culprit: r.sender, reason: `member ${nodeOf(s, r.sender)} ${reason}`,
    evidence: { body: bytesToHex(r.wire.body), signature: bytesToHex(r.wire.signature) },
  });

  return {
    kind: GENESIS_KIND,
    // The engine's own entries are genesis-dkg.*; the committee record's (genesis.round2, genesis.keyed, ...) are the node's.
    audit: 'genesis-dkg',
    first: PHASE_ROUND1,
    start(ctx, raw) {
      const p = raw as unknown as GenesisParams;
      const me = p.roster.find((m) => m.identityKey === ctx.self);
      if (!me) throw new Error('this node is not in the genesis roster');
      const params = { threshold: p.threshold, participants: p.roster.length };
      const d = dkgRound1('derivation', me.shareIdentifier, params);
      const s = dkgRound1('signing', me.shareIdentifier, params);
      const state: GenesisState = {
        epoch: ctx.epoch, threshold: p.threshold, roster: p.roster, round1: {},
        local: { derivation: encodeDkgState(d.state), signing: encodeDkgState(s.state) },
      };
      return { state, outgoing: [{ to: '*', body: encodeRound1Body({ derivation: d.round1, signing: s.round1 }) }] };
    },
    phases: {
      [PHASE_ROUND1]: {
        run(s, inbox, ctx): PhaseResult<GenesisState> {
          const pkgs: Record<Suite, DkgRound1Package[]> = { derivation: [], signing: [] };
          for (const r of inbox) {
            let got: Record<Suite, DkgRound1Package>;
            try {
              got = decodeRound1Body(r.body);
            } catch (err) {
              return blameSender(s, r, `signed a malformed round-1 package (${errText(err).slice(0, 120)})`);
            }
            const identifier = party(s, r.sender).identifier;
            if (SUITES.some((suite) => got[suite].identifier !== identifier)) return blameSender(s, r, 'sent a round-1 package for another identifier');
            for (const suite of SUITES) pkgs[suite].push(got[suite]);
          }
          const local = { derivation: decodeDkgState(s.local!.derivation), signing: decodeDkgState(s.local!.signing) };
          let out: Record<Suite, DkgRound2Package[]>;
          try {
            out = { derivation: dkgRound2(local.derivation, pkgs.derivation), signing: dkgRound2(local.signing, pkgs.signing) };
          } catch (err) {
            // A proof of knowledge that does not verify: the sender signed it (RFC 9591 Appendix C.1).
            const bad = err instanceof DkgBlameError ? inbox.find((r) => err.culprits.includes(party(s, r.sender).identifier)) : undefined;
            if (bad) return blameSender(s, bad, `sent an invalid round-1 package (${errText(err).slice(0, 120)})`);
            return { kind: 'blame', culprit: '', reason: `round 2 refused: ${errText(err).slice(0, 200)}`, evidence: {} };
          }
          const outgoing = others(s, ctx).map((m) => {
            const derivation = out.derivation.find((p) => p.recipient === m.shareIdentifier);
            const signing = out.signing.find((p) => p.recipient === m.shareIdentifier);
            if (!derivation || !signing) throw new Error(`round 2 produced no share for ${m.nodeId}`);
            return { to: m.identityKey, body: encodeRound2Body({ derivation, signing }) };
          });
          return {
            kind: 'next', phase: PHASE_ROUND2, outgoing,
            state: {
              ...s, local: { derivation: encodeDkgState(local.derivation), signing: encodeDkgState(local.signing) },
              round1: Object.fromEntries(inbox.map((r) => [r.sender, hexSigned(r.wire)])),
            },
          };
        },
      },
      [PHASE_ROUND2]: {
        // A share that does not open is proven bad by a complaint, like one that opens to a wrong value.
        keepUnopened: true,
        async run(s, inbox, ctx): Promise<PhaseResult<GenesisState>> {
          const round1 = inbox.map((r) => decodeRound1Body(hexToBytes(s.round1[r.sender]!.body)));
          const r1 = (suite: Suite) => round1.map((p) => p[suite]);
          let result: Record<Suite, KeyPackage>;
          try {
            const shares: Record<Suite, DkgRound2Package[]> = { derivation: [], signing: [] };
            for (const r of inbox) {
              if (!r.opened) throw new Error(`the round-2 message of ${nodeOf(s, r.sender)} does not open`);
              const o = decodeRound2Body(r.body);
              for (const suite of SUITES) shares[suite].push(o[suite]);
            }
            const local = { derivation: decodeDkgState(s.local!.derivation), signing: decodeDkgState(s.local!.signing) };
            result = {
              derivation: dkgRound3(local.derivation, r1('derivation'), shares.derivation),
              signing: dkgRound3(local.signing, r1('signing'), shares.signing),
            };
          } catch (err) {
            return complain(s, inbox, ctx, errText(err));
          }
          const pub = { derivation: publicPackage(result.derivation), signing: publicPackage(result.signing) };
          const rosterHash = sha256(encodeRoster(genesisRoster(s.epoch, s.threshold, s.roster, pub)));
          const encoded = { derivation: encodeKeyPackage(result.derivation), signing: encodeKeyPackage(result.signing) };
          for (const suite of SUITES) result[suite].signingShare.fill(0);
          return {
            kind: 'next', phase: PHASE_OUTCOME, outgoing: [{ to: '*', body: encodeOutcome({ rosterHash }) }],
            state: { ...s, local: undefined, keys: encoded, rosterHash: bytesToHex(rosterHash) },
          };
        },
      },
      [PHASE_OUTCOME]: {
        // A member that complained needs nobody's outcome: its complaint is servable, and it aborts.
        from: (s, ctx) => (s.complaint ? [] : others(s, ctx).map((m) => m.identityKey)),
        async run(s, inbox, ctx): Promise<PhaseResult<GenesisState>> {
          if (s.complaint) {
            const accused = nodeOf(s, s.complaint.accused);
            return {
              kind: 'blame', code: 'ErrDealerDisqualified', culprit: s.complaint.accused, action: 'genesis.complaint', evidence: s.complaint.evidence,
              reason: `member ${accused} sent member ${nodeOf(s, ctx.self)} a bad round-2 share (${s.complaint.reason}); ${ABORT_HINT} that member`,
            };
          }
          const mine = hexToBytes(s.rosterHash!);
          const all = parties(s);
          for (const r of inbox) {
            const v = await judgeOutcome(ctx.ceremony, party(s, r.sender), all, mine, r.body);
            if (v.kind === 'confirmed') continue;
            let evidence: Record<string, string> = { reporter: nodeOf(s, r.sender), outcome: bytesToHex(r.body), signature: bytesToHex(r.wire.signature) };
            try {
              const o = decodeOutcome(r.body);
              if ('complaint' in o) evidence = { ...evidence, ...complaintEvidence(o.complaint) };
            } catch { /* malformed: the signed raw outcome is the evidence */ }
            return {
              kind: 'blame', code: v.code, culprit: v.culprit.id, action: 'genesis.blame', evidence: { ...evidence, culpritNodeId: bytesToHex(v.culprit.nodeId) },
              reason: `${v.reason}; ${ABORT_HINT} member ${bytesToHex(v.culprit.nodeId)}`,
            };
          }
          const pub = { derivation: publicPackage(decodeKeyPackage(s.keys!.derivation)), signing: publicPackage(decodeKeyPackage(s.keys!.signing)) };
          return {
            kind: 'complete', state: s,
            result: { rosterHash: s.rosterHash!, masterPublicKey: bytesToHex(pub.derivation.groupPublicKey), committeeKey: bytesToHex(pub.signing.groupPublicKey) },
          };
        },
      },
    },
    encodeState: (s) => utf8(JSON.stringify(s)),
    decodeState: (b) => JSON.parse(dec.decode(b)) as GenesisState,
    scrub: (s) => ({ ...s, local: undefined, keys: undefined }),
  };

  /**
   * Round 3 failed: find the senders whose shares are proven bad and broadcast a verifiable complaint
   * against the first (its signed sealed share with the disclosed DH value); the engine persists it
   * before it can be fetched, and the outcome phase then aborts, naming the culprit. Without a provable
   * culprit, this member aborts alone (the others reach their outcome deadline, as before).
   */
  async function complain(s: GenesisState, inbox: Received[], ctx: PhaseContext, failure: string): Promise<PhaseResult<GenesisState>> {
    const me = party(s, ctx.self);
    const evidence = inbox.flatMap((r) => {
      const round1 = s.round1[r.sender];
      return round1 ? [{ sender: party(s, r.sender), round1: fromHexSigned(round1), round2: { body: r.wire.body, signature: r.wire.signature } }] : [];
    });
    const guilty = await complaintsAgainst(ctx.ceremony, me, keys.transportSecret, evidence);
    if (!guilty.length) return { kind: 'blame', culprit: '', reason: `round 3 refused: ${failure.slice(0, 200)}`, evidence: {} };
    const { accused, complaint, reason } = guilty[0]!;
    return {
      kind: 'next', phase: PHASE_OUTCOME, outgoing: [{ to: '*', body: encodeOutcome({ complaint }) }],
      state: {
        ...s, local: undefined,
        complaint: { accused: accused.id, reason, evidence: { accuser: bytesToHex(me.nodeId), accusedNodeId: bytesToHex(accused.nodeId), reason, ...complaintEvidence(complaint) } },
      },
    };
  }
}

/** The key packages of a completed genesis (secret), until the node stores them and scrubs the state. */
export function genesisKeys(s: GenesisState): Record<Suite, KeyPackage> | undefined {
  return s.keys && { derivation: decodeKeyPackage(s.keys.derivation), signing: decodeKeyPackage(s.keys.signing) };
}
