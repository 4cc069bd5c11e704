import { z } from 'zod';
import { FaceId, StoredFaceVector, FACE_DIMENSIONS } from '../index/vector/index.js';
import { decodeFaceBatch, FaceBatchError, isFaceBatch } from './face-batch.js';
import { describeIssues, ProtocolError } from './errors.js';
import { FaceMeta, faceProblem } from './face-checks.js';
import { parseJsonBody } from './json-body.js';

export const MAX_INGEST_FACES = 10_000;

/** One face as a client sends it on `faces.ingest`. */
export const IngestFace = z.strictObject({
  id: FaceId,
  vector: StoredFaceVector,
  meta: FaceMeta.optional(),
});
export type IngestFace = z.infer<typeof IngestFace>;

/** The envelope is checked as a whole; each face on its own, so one bad face does not sink the batch. */
export const IngestRequest = z.strictObject({
  faces: z.array(z.unknown()).min(1, 'faces must hold at least one face').max(MAX_INGEST_FACES, `at most ${MAX_INGEST_FACES} faces per request`),
});

export const RejectedFace = z.strictObject({ index: z.number().int(), id: z.string().optional(), reason: z.string() });
export type RejectedFace = z.infer<typeof RejectedFace>;

export const IngestReply = z.strictObject({
  accepted: z.number().int(),
  rejected: z.array(RejectedFace),
  /** Per shard, the stream sequence of the last record acknowledged by JetStream. */
  seq: z.record(z.string(), z.number().int()),
  /**
   * Faces JetStream did not store because their record's Nats-Msg-Id was already in its
   * dedupe window (a retried batch-id, or someone else's record under that id): not in
   * `accepted`. Absent when none.
   */
  duplicates: z.number().int().min(0).optional(),
});
export type IngestReply = z.infer<typeof IngestReply>;

export const DeleteRequest = z.strictObject({
  ids: z.array(FaceId).min(1, 'ids must hold at least one id').max(MAX_INGEST_FACES),
});
/**
 * `deleted`: ids that existed and now have a tombstone; `notFound`: ids no shard held (no
 * tombstone written); `unchecked`: ids whose shard did not answer the lookup (a tombstone
 * is written for them all the same, but they are not counted as deleted). `tombstones`:
 * tombstones written. The three lists are absent from coordinators older than them.
 */
export const DeleteReply = z.strictObject({
  tombstones: z.number().int(),
  deleted: z.number().int().min(0).optional(),
  notFound: z.array(z.string()).optional(),
  unchecked: z.array(z.string()).optional(),
  seq: z.record(z.string(), z.number().int()),
});
export type DeleteReply = z.infer<typeof DeleteReply>;

export interface ValidFace {
  index: number;
  id: string;
  vector: Float32Array;
  meta?: Record<string, unknown>;
}

export function parseIngestRequest(data: Uint8Array): { faces: ValidFace[]; rejected: RejectedFace[] } {
  const envelope = IngestRequest.safeParse(parseJsonBody(data, 'ingest'));
  if (!envelope.success) throw new ProtocolError('bad_request', describeIssues(envelope.error, 'ingest request'));
  const faces: ValidFace[] = [];
  const rejected: RejectedFace[] = [];
  envelope.data.faces.forEach((raw, index) => {
    const face = IngestFace.safeParse(raw);
    if (face.success) {
      faces.push({ index, id: face.data.id, vector: Float32Array.from(face.data.vector), meta: face.data.meta });
    } else {
      const id = typeof (raw as { id?: unknown })?.id === 'string' ? (raw as { id: string }).id : undefined;
      rejected.push({ index, id, reason: describeIssues(face.error, `face ${index}`) });
    }
  });
  return { faces, rejected };
}

/** `faces.ingest` in either form: JSON, or the binary face-batch framing (see face-batch.ts). */
export function parseIngest(data: Uint8Array): { faces: ValidFace[]; rejected: RejectedFace[] } {
  return isFaceBatch(data) ? parseIngestBatch(data) : parseIngestRequest(data);
}

export function parseIngestBatch(data: Uint8Array): { faces: ValidFace[]; rejected: RejectedFace[] } {
  let batch;
  try {
    batch = decodeFaceBatch(data);
  } catch (err) {
    if (err instanceof FaceBatchError) throw new ProtocolError('bad_request', `binary ingest: ${err.message}`);
    throw err;
  }
  if (batch.op !== 'upsert') throw new ProtocolError('bad_request', 'binary ingest: the batch must be an upsert batch');
  if (batch.ids.length === 0 || batch.ids.length > MAX_INGEST_FACES)
    throw new ProtocolError('bad_request', `binary ingest: 1 to ${MAX_INGEST_FACES} faces per request, got ${batch.ids.length}`);
  const faces: ValidFace[] = [];
  const rejected: RejectedFace[] = [];
  for (let index = 0; index < batch.ids.length; index++) {
    const id = batch.ids[index];
    const vector = batch.vectors.subarray(index * FACE_DIMENSIONS, (index + 1) * FACE_DIMENSIONS);
    const meta = batch.metas[index];
    const problem = faceProblem(id, vector, meta);
    if (problem) rejected.push({ index, id: typeof id === 'string' ? id : undefined, reason: `face ${index}: ${problem.message}` });
    else faces.push({ index, id, vector, meta: meta ?? undefined });
  }
  return { faces, rejected };
}

export function parseDeleteRequest(data: Uint8Array): string[] {
  const parsed = DeleteRequest.safeParse(parseJsonBody(data, 'delete'));
  if (!parsed.success) throw new ProtocolError('bad_request', describeIssues(parsed.error, 'delete request'));
  return parsed.data.ids;
}

export { FACE_DIMENSIONS };
