import { FACE_DIMENSIONS, finiteVectorProblem, idProblem } from '../vector/index.js';
import { decodeFaceBatch, encodeFaceBatch, type FaceBatch } from './face-batch.js';

/**
 * One record of a shard's durable log (`faces.data.<i>`): a batch of upserts or of
 * tombstones for that shard, in the binary face-batch framing.
 */
export type DecodedRecord = FaceBatch;

export function encodeUpsertRecord(ids: string[], metas: (Record<string, unknown> | undefined)[], vectors: Float32Array): Uint8Array {
  return encodeFaceBatch({ op: 'upsert', ids, metas: metas.map((m) => m ?? null), vectors });
}

export function encodeDeleteRecord(ids: string[]): Uint8Array {
  return encodeFaceBatch({ op: 'delete', ids });
}

/**
 * Decodes and checks a log record; a record that fails is reported, never half-applied.
 * The component range is not checked here: a log written before ingest checked it may
 * hold a face the index refuses, and the shard skips that face alone (log-replayer.ts).
 */
export function decodeLogRecord(data: Uint8Array): DecodedRecord {
  const record = decodeFaceBatch(data);
  record.ids.forEach((id, i) => {
    const problem = idProblem(id);
    if (problem) throw new Error(`record face ${i}: ${problem}`);
  });
  if (record.op === 'upsert') {
    for (let i = 0; i < record.ids.length; i++) {
      const problem = finiteVectorProblem(record.vectors.subarray(i * FACE_DIMENSIONS, (i + 1) * FACE_DIMENSIONS));
      if (problem) throw new Error(`record face ${record.ids[i]}: ${problem}`);
    }
  }
  return record;
}
