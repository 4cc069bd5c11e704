import { z } from 'zod';
import { FaceId } from '../index/vector/index.js';
import { describeIssues, ProtocolError } from './errors.js';
import { MAX_INGEST_FACES } from './ingest.js';
import { parseJsonBody } from './json-body.js';

/**
 * `faces.get` (coordinators, queue group `coordinator`): stored faces by id. The coordinator
 * asks each owning shard with a lookup leg (shard-lookup.ts, `meta: true`) after every write
 * acknowledged before the request, so a face just ingested is found.
 */
export const GetFacesRequest = z.strictObject({
  ids: z.array(FaceId).min(1, 'ids must hold at least one id').max(MAX_INGEST_FACES, `at most ${MAX_INGEST_FACES} ids per request`),
});

export const StoredFace = z.strictObject({ id: z.string(), shard: z.number().int().min(0), meta: z.unknown().optional() });
export type StoredFace = z.infer<typeof StoredFace>;

export const GetFacesReply = z.strictObject({
  /** The stored ones, in the order asked. */
  faces: z.array(StoredFace),
  notFound: z.array(z.string()),
  /** Ids whose shard did not answer: neither found nor known to be missing. */
  unchecked: z.array(z.string()).optional(),
});
export type GetFacesReply = z.infer<typeof GetFacesReply>;

export function parseGetFacesRequest(data: Uint8Array): string[] {
  const parsed = GetFacesRequest.safeParse(parseJsonBody(data, 'get'));
  if (!parsed.success) throw new ProtocolError('bad_request', describeIssues(parsed.error, 'get request'));
  return [...new Set(parsed.data.ids)];
}
