// Candidacies and governance-signed snapshots (DESIGN §3.1): what each signature covers.
import { concatBytes, lp, u32be, u64be, utf8 } from '../crypto/bytes.js';

export interface CandidacyFields {
  identityKey: Uint8Array;
  endpoint: string;
  transportKey: Uint8Array;
  selfStake: bigint;
  epoch: number;
}


/** Signed by the candidate's identity key under tag "candidacy". */
export function candidacyMessage(c: CandidacyFields): Uint8Array {
  return concatBytes(
    utf8('gatekeeper/v1/candidacy'), u32be(c.epoch), c.identityKey, c.transportKey,
    lp(utf8(c.endpoint)), u64be(c.selfStake),
  );
}
