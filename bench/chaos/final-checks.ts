import type { FaceshardClient } from '../../libs/nats/client/index.js';
import type { QueryReply } from '../../libs/protocol/index.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import type { Ledger } from './ledger.js';

/** How many vectors one check query carries (its reply stays far under one message). */
const CHECK_BATCH = 200;
const ON_GRID = 1e-4;

export interface StoredCheck {
  /** Ids whose every write was acknowledged: live ones (latest vector), deleted ones. */
  live: number;
  deleted: number;
  /** Ids with a failed or unanswered write: either outcome is allowed; how they ended, for the record. */
  uncertain: number;
  uncertainPresent: number;
  /** Live ids not found at distance 0 from their latest vector. */
  lost: string[];
  /** Ids found at distance 0 from a vector they no longer have (an older version, or after their delete). */
  stale: string[];
  resurrected: string[];
  /** Check queries that never got a complete answer (their ids are unchecked, counted as failures). */
  unanswered: number;
}

/**
 * After the run: every vector any id ever had is queried (k=3, reading every acknowledged
 * write: minSeq). A live id must come back at distance 0 from its latest vector and from no
 * older one; a deleted id from none of its vectors. Exact search, so distance 0 means "this
 * id holds this vector now".
 */
export async function checkStoredFaces(client: FaceshardClient, ledger: Ledger): Promise<StoredCheck> {
  const result: StoredCheck = { live: 0, deleted: 0, uncertain: 0, uncertainPresent: 0, lost: [], stale: [], resurrected: [], unanswered: 0 };
  interface Probe {
    id: string;
    vector: Float32Array;
    /** present: must be found; absent: must not be; either: uncertain. */
    expect: 'present' | 'absent' | 'either';
    latest: boolean;
    deleted: boolean;
  }
  const probes: Probe[] = [];
  for (const [id, history] of ledger.histories) {
    const state = ledger.finalState(id);
    if (state.kind === 'live') result.live++;
    else if (state.kind === 'deleted') result.deleted++;
    else result.uncertain++;
    for (const r of history) {
      if (r.kind !== 'upsert') continue;
      const latest = state.kind === 'live' && r.vector === state.vector;
      probes.push({
        id,
        vector: r.vector!,
        expect: state.kind === 'uncertain' ? 'either' : latest ? 'present' : 'absent',
        latest,
        deleted: state.kind === 'deleted',
      });
    }
  }
  const minSeq = ledger.minSeq();
  const uncertainSeen = new Set<string>();
  for (let start = 0; start < probes.length; start += CHECK_BATCH) {
    const batch = probes.slice(start, start + CHECK_BATCH);
    const vectors = new Float32Array(batch.length * FACE_DIMENSIONS);
    batch.forEach((p, i) => vectors.set(p.vector, i * FACE_DIMENSIONS));
    let reply: QueryReply | undefined;
    for (let attempt = 0; attempt < 3 && !reply; attempt++) {
      const r = await client.queryBinary(vectors, { k: 3, minSeq, timeoutMs: 30_000 }).catch(() => undefined);
      if (r && !r.partial) reply = r;
    }
    if (!reply) {
      result.unanswered++;
      for (const p of batch) if (p.expect === 'present') result.lost.push(`${p.id} (unchecked: no complete answer)`);
      continue;
    }
    batch.forEach((p, i) => {
      const found = reply.results[i].some((m) => m.id === p.id && m.distance < ON_GRID);
      if (p.expect === 'either' && found) uncertainSeen.add(p.id);
      if (p.expect === 'present' && !found) result.lost.push(p.id);
      if (p.expect === 'absent' && found) (p.deleted ? result.resurrected : result.stale).push(p.id);
    });
  }
  result.uncertainPresent = uncertainSeen.size;
  return result;
}
