import { z } from 'zod';
import { FaceId } from '../index/vector/index.js';
import { MAX_INGEST_FACES } from './ingest.js';

/**
 * A lookup leg: which of these ids does shard i hold? Sent on the shard's query subject
 * (`faces.shard.<i>.query`, so every identity allowed to scatter may ask it) with the
 * header `faceshard-leg: lookup`, a JSON body `{"ids": [...]}` and the read-your-writes
 * headers of a scatter leg (`stream-seq`, `wait-ms`). The coordinator asks it before a
 * delete, so the delete reply can say which ids existed.
 */
export const LEG_KIND_HEADER = 'faceshard-leg';
export const LOOKUP_LEG = 'lookup';

export const ShardLookupRequest = z.strictObject({
  ids: z.array(FaceId).min(1).max(MAX_INGEST_FACES),
  /** Also answer each found face's meta (`metas`): what `faces.get` asks. */
  meta: z.boolean().optional(),
});
export type ShardLookupRequest = z.infer<typeof ShardLookupRequest>;

export const ShardLookupReply = z.strictObject({
  shard: z.number().int().min(0),
  appliedSeq: z.number().int().min(0),
  /** The asked ids this replica holds, in the order asked. */
  found: z.array(z.string()),
  /** With `meta` asked: the meta of each found id, in the same order (null: none). */
  metas: z.array(z.unknown()).optional(),
});
export type ShardLookupReply = z.infer<typeof ShardLookupReply>;
