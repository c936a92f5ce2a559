// Contract key versions as a governance feature (docs/provisioning.md §7): each contract has a
// governance-set current version (1 at registration); `rotate` moves it to v+1, `retire` stops serving,
// provisioning and publishing one version, and `resolve-alarm` unfreezes a contract frozen by a
// conflicting-publication alarm. Every action carries m governance signatures over
// contractGovernanceMessage(action, cid, version) and is idempotent.
import { bytesToHex } from '@noble/hashes/utils.js';
import { verifyTagged } from '../crypto/identity.js';
import { contractGovernanceMessage, type ContractAction } from '../keys/wire.js';
import type { ContractState, ContractStore } from '../store/contract-store.js';
import { failedPrecondition, invalidArgument, notFound, permissionDenied } from '../rpc/errors.js';
import type { NodeContext } from './context.js';

export interface GovernanceSignature { key: Uint8Array; signature: Uint8Array }

/** The alarm text stored on a frozen contract: the version in conflict and what was seen. */
export interface ContractAlarm { version: number; detail: string }

export function parseAlarm(text: string | undefined): ContractAlarm | undefined {
  if (text === undefined) return undefined;
  try {
    const a = JSON.parse(text) as ContractAlarm;
    if (Number.isInteger(a.version) && typeof a.detail === 'string') return a;
  } catch { /* fall through */ }
  return { version: 0, detail: text.slice(0, 200) };
}

/** The FAILED_PRECONDITION every contract-key call answers while the contract is frozen. */
export function frozenError(alarm: ContractAlarm) {
  return failedPrecondition(`the contract is frozen by a conflicting-publication alarm on version ${alarm.version} (${alarm.detail}); `
    + 'governance must resolve it (ResolveContractAlarm) before any key is served, provisioned or published');
}

/** Throws unless at least `threshold` distinct configured governance keys signed this action. */
export function verifyContractGovernance(action: ContractAction, cid: Uint8Array, version: number, signatures: unknown,
  keys: string[], threshold: number): void {
  if (!Array.isArray(signatures) || signatures.length > 64) throw invalidArgument('signatures must list 1 to 64 governance signatures');
  const message = contractGovernanceMessage(action, cid, version);
  const allowed = new Set(keys);
  const good = new Set<string>();
  for (const s of signatures as GovernanceSignature[]) {
    if (!(s?.key instanceof Uint8Array) || !(s.signature instanceof Uint8Array)) continue;
    const k = bytesToHex(s.key);
    if (allowed.has(k) && !good.has(k) && verifyTagged(s.key, 'contract-governance', message, s.signature)) good.add(k);
  }
  if (keys.length === 0 || good.size < threshold) {
    throw permissionDenied(`the ${action} of version ${version} carries ${good.size} valid governance signature(s); ${threshold} are required`);
  }
}

/** Refuses a version that may not be provisioned or published: above the current version, or retired. */
export function checkIssuableVersion(store: ContractStore, contract: ContractState, version: number): void {
  if (version > contract.currentVersion) {
    throw failedPrecondition(`version ${version} is above the contract's current version ${contract.currentVersion}; `
      + 'governance rotates the contract (RotateContractKey) before a new version is issued');
  }
  if (store.isRetired(contract.contractId, version)) throw failedPrecondition(`version ${version} of this contract is retired`);
}

export class ContractVersions {
  constructor(private readonly ctx: NodeContext, private readonly store: ContractStore, private readonly changed: () => void) {}

  private contract(cid: Uint8Array): ContractState {
    const c = this.store.contract(cid);
    if (!c) throw notFound('that contract is not registered on this member');
    return c;
  }

  private authorize(action: ContractAction, cid: Uint8Array, version: number, signatures: unknown): void {
    if (!Number.isInteger(version) || version < 1) throw invalidArgument('version must be at least 1');
    const { governance } = this.ctx.config;
    verifyContractGovernance(action, cid, version, signatures, governance.keys, governance.threshold);
  }

  /** current = version-1 → version. Repeating it (current already ≥ version) changes nothing. */
  rotate(cid: Uint8Array, version: number, signatures: unknown, actor: string): ContractState {
    this.authorize('rotate', cid, version, signatures);
    const c = this.contract(cid);
    if (c.currentVersion >= version) return c;
    if (version !== c.currentVersion + 1) {
      throw failedPrecondition(`the contract is at version ${c.currentVersion}; a rotation moves it to ${c.currentVersion + 1}, not ${version}`);
    }
    this.ctx.db.transaction(() => {
      if (!this.store.setCurrentVersion(cid, c.currentVersion, version)) throw failedPrecondition('the contract changed meanwhile; retry');
      this.ctx.audit.append(actor, 'contract.rotated', { contractId: bytesToHex(cid), from: c.currentVersion, to: version });
    })();
    this.changed();
    return this.contract(cid);
  }

  /** Stops serving, provisioning and publishing `version` (at most the current version). */
  retire(cid: Uint8Array, version: number, signatures: unknown, actor: string): ContractState {
    this.authorize('retire', cid, version, signatures);
    const c = this.contract(cid);
    if (version > c.currentVersion) throw failedPrecondition(`version ${version} is above the current version ${c.currentVersion}; nothing to retire`);
    if (this.store.isRetired(cid, version)) return c;
    this.ctx.db.transaction(() => {
      this.store.retire(cid, version, this.ctx.now());
      this.ctx.audit.append(actor, 'contract.retired', { contractId: bytesToHex(cid), version });
    })();
    this.changed();
    return c;
  }

  /** Unfreezes a contract whose alarm is on `version`. */
  resolveAlarm(cid: Uint8Array, version: number, signatures: unknown, actor: string): ContractState {
    this.authorize('resolve-alarm', cid, version, signatures);
    const c = this.contract(cid);
    const alarm = parseAlarm(c.alarm);
    if (!alarm) return c;
    if (alarm.version !== version) throw failedPrecondition(`the contract's alarm is on version ${alarm.version}, not ${version}`);
    this.ctx.db.transaction(() => {
      this.store.setAlarm(cid, undefined);
      this.ctx.audit.append(actor, 'contract.alarm-resolved', { contractId: bytesToHex(cid), version });
    })();
    this.changed();
    return this.contract(cid);
  }
}
