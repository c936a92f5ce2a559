// The hand-off (DESIGN §3.4) as a protocol of the ceremony engine: the pure rounds of this folder wired
// as phases. deal (old members broadcast signed dealings) → acknowledge (new members check every dealing
// and broadcast signed acknowledgements) → qualify (the coordinator, the first new member, broadcasts
// the signed proposal; everyone checks it) → combine (new members combine their sub-shares over the
// qualified dealers; the new public packages must give back MPK and CPK). Certification by the
// outgoing committee (§3.5) follows outside the engine. Not yet reachable from an operator RPC.
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { equalBytes, utf8 } from '../../crypto/bytes.js';
import { decodeKeyPackage, decodePublicKeyPackage, encodeKeyPackage, encodePublicKeyPackage, type PublicKeyPackage, type Suite } from '../../crypto/frost.js';
import { decodeRoster, encodeRoster, type Roster } from '../../committee/roster.js';
import { BoundedCache } from '../../util/bounded-cache.js';
import type { Outgoing, PhaseContext, PhaseResult, Protocol } from '../engine.js';
import { acknowledge, decodeHeldSubShares, encodeHeldSubShares } from './acknowledge.js';
import { combine, newPublicPackages } from './combine.js';
import { deal } from './deal.js';
import { decodeAcknowledgement, decodeProposal, handoffSetup, HandoffError, SUITES, type HandoffSetup } from './messages.js';
import { checkProposal, propose } from './qualify.js';

export const HANDOFF_KIND = 'handoff';

/** This node's keys, bound into its protocol instance (never stored in the ceremony state). */
export interface HandoffNodeKeys { nodeId: Uint8Array; identitySecret: Uint8Array; transportSecret: Uint8Array }

/** What start() takes: the certified old roster, the session, the new roster's members and k, and (old members) the shares. */
export interface HandoffParams {
  oldRoster: Roster;
  epoch: number;
  session: Uint8Array;
  next: { threshold: number; members: { nodeId: Uint8Array; identityKey: Uint8Array; transportKey: Uint8Array }[] };
  shares?: Record<Suite, ReturnType<typeof decodeKeyPackage>>;
}

/** Plain, JSON-encodable state (the engine seals it at rest: it holds shares and sub-shares). */
export interface HandoffState {
  oldRoster: string;
  epoch: number;
  session: string;
  next: { threshold: number; members: { nodeId: string; identityKey: string; transportKey: string }[] };
  shares?: Record<Suite, unknown>;
  dealings: string[];
  held?: string;
  acks: string[];
  /** A new member's signed complaints against dealings whose sub-share to it failed (public evidence, hex). */
  complaints?: { dealer: string; suite: Suite; complaint: string }[];
  proposal?: string;
  keys?: Record<Suite, unknown>;
  /** The new public key packages (encoded), set at completion from the qualified dealings. */
  publics?: Record<Suite, unknown>;
}

const dec = new TextDecoder();

// The setup is the same for the whole ceremony, and building it decodes the old roster and interpolates
// its verifying shares (two multi-scalar multiplications): every phase, every tick's `from` and `quorum`
// and the driver read it, so the last few are kept, keyed by everything they are built from. Frozen, so
// that no caller can change what another one reads.
const setups = new BoundedCache<HandoffSetup>(4);

function setupOf(s: HandoffState): HandoffSetup {
  const key = JSON.stringify([s.oldRoster, s.epoch, s.session, s.next]);
  const kept = setups.get(key);
  if (kept) return kept;
  const setup = handoffSetup(decodeRoster(hexToBytes(s.oldRoster)), s.epoch, hexToBytes(s.session), {
    threshold: s.next.threshold,
    members: s.next.members.map((m) => ({ nodeId: hexToBytes(m.nodeId), identityKey: hexToBytes(m.identityKey), transportKey: hexToBytes(m.transportKey) })),
  });
  for (const part of [setup, setup.old, setup.next, setup.old.members, setup.next.members, ...setup.old.members, ...setup.next.members]) Object.freeze(part);
  setups.set(key, setup);
  return setup;
}

const ids = (members: { identityKey: Uint8Array }[]) => members.map((m) => bytesToHex(m.identityKey));

export function handoffProtocol(keys: HandoffNodeKeys): Protocol<HandoffState> {
  const isOld = (setup: HandoffSetup) => setup.old.members.some((m) => equalBytes(m.nodeId, keys.nodeId));
  const isNew = (setup: HandoffSetup) => setup.next.members.some((m) => equalBytes(m.nodeId, keys.nodeId));
  const coordinatorOf = (setup: HandoffSetup) => setup.next.members[0]!;
  const others = (list: string[], ctx: PhaseContext) => list.filter((id) => id !== ctx.self);
  const broadcast = (body: Uint8Array): Outgoing[] => [{ to: '*', body }];

  return {
    kind: HANDOFF_KIND,
    first: 'deal',
    async start(_ctx, raw) {
      const p = raw as unknown as HandoffParams;
      const state: HandoffState = {
        oldRoster: bytesToHex(encodeRoster(p.oldRoster)), epoch: p.epoch, session: bytesToHex(p.session),
        next: { threshold: p.next.threshold, members: p.next.members.map((m) => ({ nodeId: bytesToHex(m.nodeId), identityKey: bytesToHex(m.identityKey), transportKey: bytesToHex(m.transportKey) })) },
        dealings: [], acks: [],
      };
      const setup = setupOf(state);
      if (!isOld(setup)) return { state, outgoing: [] };
      if (!p.shares) throw new HandoffError('an old member deals with its shares');
      const { encoded } = await deal(setup, { nodeId: keys.nodeId, identitySecret: keys.identitySecret, shares: p.shares });
      return { state: { ...state, dealings: [bytesToHex(encoded)] }, outgoing: broadcast(encoded) };
    },
    phases: {
      deal: {
        from: (s, ctx) => others(ids(setupOf(s).old.members), ctx),
        // A new member needs k_old dealings, not every old member's (DESIGN §3.4): after a third of the
        // phase it goes on with what it has, so an old member that is down does not stop the hand-off;
        // a dealer some new member lacks is then left out of Q. A member only of the old roster waits
        // for every dealing (it must hold each one Q may name, to check the new roster it certifies).
        quorum: (s) => {
          const setup = setupOf(s);
          if (!isNew(setup)) return undefined;
          return { count: setup.old.threshold - (isOld(setup) ? 1 : 0), after: 1 / 3 };
        },
        async run(s, inbox): Promise<PhaseResult<HandoffState>> {
          const setup = setupOf(s);
          const dealings = [...s.dealings, ...inbox.map((r) => bytesToHex(r.body))];
          if (!isNew(setup)) return { kind: 'next', state: { ...s, dealings }, phase: 'acknowledge', outgoing: [] };
          const ack = await acknowledge(setup, { nodeId: keys.nodeId, identitySecret: keys.identitySecret, transportSecret: keys.transportSecret }, dealings.map(hexToBytes));
          return {
            kind: 'next', phase: 'acknowledge', outgoing: broadcast(ack.encoded),
            state: {
              ...s, dealings, held: bytesToHex(encodeHeldSubShares(ack.subShares)), acks: [bytesToHex(ack.encoded)],
              ...(ack.complaints.length ? { complaints: ack.complaints.map((c) => ({ dealer: bytesToHex(c.dealer), suite: c.suite, complaint: bytesToHex(c.encoded) })) } : {}),
            },
          };
        },
      },
      acknowledge: {
        from: (s, ctx) => others(ids(setupOf(s).next.members), ctx),
        run(s, inbox, ctx): PhaseResult<HandoffState> {
          const setup = setupOf(s);
          const acks = [...s.acks, ...inbox.map((r) => bytesToHex(r.body))];
          const coordinator = coordinatorOf(setup);
          if (bytesToHex(coordinator.identityKey) !== ctx.self) return { kind: 'next', state: { ...s, acks }, phase: 'qualify', outgoing: [] };
          const { encoded } = propose(setup, { nodeId: keys.nodeId, identitySecret: keys.identitySecret }, acks.map(hexToBytes));
          return { kind: 'next', state: { ...s, acks, proposal: bytesToHex(encoded) }, phase: 'qualify', outgoing: broadcast(encoded) };
        },
      },
      qualify: {
        from: (s, ctx) => others([bytesToHex(coordinatorOf(setupOf(s)).identityKey)], ctx),
        run(s, inbox): PhaseResult<HandoffState> {
          const setup = setupOf(s);
          const coordinator = coordinatorOf(setup);
          const proposal = s.proposal ? hexToBytes(s.proposal) : inbox[0]!.body;
          const own = isNew(setup) ? s.acks[0] : undefined;
          let qualified;
          try {
            qualified = checkProposal(setup, proposal, { coordinator: coordinator.nodeId, ...(own ? { ownAcknowledgement: hexToBytes(own) } : {}) }).qualified;
          } catch (err) {
            return { kind: 'blame', culprit: bytesToHex(coordinator.identityKey), reason: `the coordinator's proposal is refused: ${err instanceof Error ? err.message : String(err)}`, evidence: { proposal: bytesToHex(proposal) } };
          }
          const dealings = s.dealings.map(hexToBytes);
          const publics = newPublicPackages(setup, qualified, dealings);
          const result = {
            masterPublicKey: bytesToHex(publics.derivation.groupPublicKey), committeeKey: bytesToHex(publics.signing.groupPublicKey),
            qualified: qualified.map((q) => bytesToHex(q.dealer)),
            // Dealers some new member did not acknowledge (a complaint, a public fault, or no dealing): named
            // by every party from the checked proposal, with who refused them; never in Q.
            excluded: excludedDealers(setup, proposal),
            // This member's own complaints with their evidence (the dealer's signed dealing and the DH disclosure).
            ...(s.complaints?.length ? { complaints: s.complaints } : {}),
          };
          // The new public packages are kept with the state: what the driver's activation check reads
          // (handoffOutcome) without evaluating every dealing's commitments again.
          const encodedPublics = Object.fromEntries(SUITES.map((suite) => [suite, encodePublicKeyPackage(publics[suite])])) as Record<Suite, unknown>;
          if (!isNew(setup)) return { kind: 'complete', state: { ...s, proposal: bytesToHex(proposal), publics: encodedPublics }, result };
          const held = decodeHeldSubShares(hexToBytes(s.held!));
          const combined = combine(setup, { nodeId: keys.nodeId }, qualified, dealings, held, publics);
          const encodedKeys = Object.fromEntries(SUITES.map((suite) => [suite, encodeKeyPackage(combined[suite])])) as Record<Suite, unknown>;
          for (const suite of SUITES) combined[suite].signingShare.fill(0);
          return { kind: 'complete', state: { ...s, proposal: bytesToHex(proposal), publics: encodedPublics, held: undefined, keys: encodedKeys }, result };
        },
      },
    },
    encodeState: (s) => utf8(JSON.stringify(s)),
    decodeState: (b) => JSON.parse(dec.decode(b)) as HandoffState,
  };
}

/** The old members that at least one new member's acknowledgement (in a checked proposal) does not accept, with those members. */
export function excludedDealers(setup: HandoffSetup, proposal: Uint8Array): { dealer: string; refusedBy: string[] }[] {
  const acks = decodeProposal(proposal).acknowledgements.map(decodeAcknowledgement);
  return setup.old.members.flatMap((d) => {
    const refusedBy = acks.filter((a) => !a.accepted.some((r) => equalBytes(r.dealer, d.nodeId))).map((a) => bytesToHex(a.member));
    return refusedBy.length ? [{ dealer: bytesToHex(d.nodeId), refusedBy }] : [];
  });
}

/**
 * What a completed hand-off produced, as every party (old or new member) computes it from its state:
 * the setup, the qualified dealers and the new public packages (MPK and CPK unchanged, or it throws).
 */
export function handoffOutcome(s: HandoffState): { setup: HandoffSetup; publics: Record<Suite, PublicKeyPackage> } {
  if (!s.proposal) throw new HandoffError('the hand-off has no checked proposal yet');
  const setup = setupOf(s);
  if (s.publics) {
    return { setup, publics: { derivation: decodePublicKeyPackage(s.publics.derivation), signing: decodePublicKeyPackage(s.publics.signing) } };
  }
  const qualified = checkProposal(setup, hexToBytes(s.proposal)).qualified;
  return { setup, publics: newPublicPackages(setup, qualified, s.dealings.map(hexToBytes)) };
}

/** A new member's combined key packages from a completed hand-off's state. */
export function handoffKeys(s: HandoffState): Record<Suite, ReturnType<typeof decodeKeyPackage>> | undefined {
  return s.keys && { derivation: decodeKeyPackage(s.keys.derivation), signing: decodeKeyPackage(s.keys.signing) };
}
