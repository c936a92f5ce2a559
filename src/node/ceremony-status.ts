// OperatorService.CeremonyStatus (issue 11 item 8): one ceremony as this node sees it — kind, state,
// phase, deadline, whose messages of the current phase it holds and whom it still awaits. Read-only:
// it reads the genesis record (src/store/ceremony-store.ts) and the engine's records and messages
// (src/ceremony/store.ts), so it works for any protocol on the engine (hand-off, refresh, and genesis
// once it runs there). Member ids are node ids (hex), as in Status and the roster.
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { nodeIdOf } from './identity.js';
import { notFound } from '../rpc/errors.js';
import type { CeremonyRecord, CeremonyStore } from '../store/ceremony-store.js';
import type { EngineRecord, EngineStore } from '../ceremony/store.js';

export interface CeremonyStatusView {
  epoch: number;
  kind: string;
  state: string;
  phase: string;
  deadlineMs: string;
  nowMs: string;
  answered: string[];
  awaited: string[];
  error: string;
  threshold: number;
  members: string[];
}

export interface CeremonyStatusDeps {
  ceremonies: CeremonyStore;
  engine: EngineStore;
  /** This node's id (hex) and identity key (x-only hex; the engine's member id). */
  selfNodeId: string;
  selfIdentityKey: string;
  now(): number;
  /**
   * Engine members (identity keys) still awaited in the record's phase, when the protocol is loaded
   * (a phase may wait for only some members); without it, every other member not yet heard from.
   */
  engineMissing?(c: EngineRecord): string[];
}

const TERMINAL = new Set(['COMPLETE', 'ABORTED']);

/** The ceremony of `epoch` (0 = the newest this node knows); NOT_FOUND if there is none. */
export function ceremonyStatus(deps: CeremonyStatusDeps, epoch: number): CeremonyStatusView {
  const genesis = epoch === 0 ? deps.ceremonies.latest() : deps.ceremonies.get(epoch);
  const engine = deps.engine.newest(epoch);
  // The newer epoch wins; within one epoch the engine record tells the phases, except that a
  // completed engine protocol may still be certified outside the engine (the genesis record's state).
  const useEngine = engine && (!genesis || engine.epoch > genesis.epoch
    || (engine.epoch === genesis.epoch && engine.status !== 'COMPLETE'));
  if (useEngine) return fromEngine(deps, engine, genesis?.epoch === engine.epoch ? genesis : undefined);
  if (genesis) return fromGenesis(deps, genesis);
  throw notFound(epoch === 0 ? 'this node knows no ceremony yet' : `no ceremony for epoch ${epoch}`);
}

function fromGenesis(deps: CeremonyStatusDeps, c: CeremonyRecord): CeremonyStatusView {
  // Without a running engine ceremony (certification, observing, or finished) there are no per-member
  // messages to count: the DKG and hand-off phases are the engine's (fromEngine).
  const terminal = TERMINAL.has(c.state);
  return {
    epoch: c.epoch, kind: c.kind, state: c.state, phase: terminal ? '' : c.state,
    deadlineMs: String(terminal ? 0 : c.phaseDeadlineMs), nowMs: String(deps.now()),
    answered: [], awaited: [], error: c.error, threshold: c.threshold, members: c.roster.map((m) => m.nodeId),
  };
}

function fromEngine(deps: CeremonyStatusDeps, c: EngineRecord, genesis: CeremonyRecord | undefined): CeremonyStatusView {
  // Engine member ids are identity keys (x-only hex); anything else is shown as it is.
  const nodeId = (id: string) => (/^[0-9a-f]{64}$/.test(id) ? bytesToHex(nodeIdOf(hexToBytes(id))) : id.slice(0, 80));
  const running = c.status === 'RUNNING';
  const self = deps.selfIdentityKey;
  let answered: string[] = [];
  let awaited: string[] = [];
  if (running) {
    const have = deps.engine.senders(c.id, c.phase, self);
    answered = c.members.map((m) => m.id).filter((id) => id !== self && have.has(id));
    let missing: string[] | undefined;
    try { missing = deps.engineMissing?.(c); } catch { missing = undefined; }
    awaited = missing ?? c.members.map((m) => m.id).filter((id) => id !== self && !answered.includes(id));
  }
  return {
    // The committee record of the same epoch names the round (genesis, handoff, refresh) and its state
    // (ROUND1, HANDOFF, ...); the engine tells the phase and who answered.
    epoch: c.epoch, kind: genesis?.kind ?? c.kind, state: genesis?.state ?? c.status, phase: running ? c.phase : '',
    deadlineMs: String(running ? c.phaseDeadlineMs : 0), nowMs: String(deps.now()),
    answered: answered.map(nodeId).sort(), awaited: awaited.map(nodeId).sort(),
    error: c.culprit && !c.error.includes(c.culprit) ? `${c.error} (culprit ${nodeId(c.culprit)})` : c.error,
    threshold: genesis?.threshold ?? 0, members: c.members.map((m) => nodeId(m.id)),
  };
}
