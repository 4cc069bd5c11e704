import { z } from 'zod';
import { CommonEnv, parseEnv } from '../../libs/config/env.js';

export const ShardEnv = z.object({
  ...CommonEnv,
  /**
   * The shard this process serves (0..N-1), or several separated by commas ("0,2"): one
   * process per core on a small machine rather than one per shard (fewer runtimes in
   * memory, fewer processes woken per query). Each is its own replica of its shard.
   */
  SHARD_INDEX: z
    .string({ error: 'SHARD_INDEX is required: which shard (0..N-1) this replica serves, or several as "0,2"' })
    .regex(/^\d{1,4}(,\d{1,4})*$/, 'must be a shard number like "2", or several separated by commas like "0,2"')
    .transform((list) => list.split(',').map(Number))
    .refine((shards) => new Set(shards).size === shards.length, 'names a shard twice'),
  /**
   * The face index's deltaLimit (libs/index/face-index/options.ts): faces added since the KD-tree
   * was built (tree mode) or since the last merge into the IVF lists (IVF mode) tolerated
   * before the rebuild or merge, and deleted faces tolerated before compaction (each
   * threshold this, or a fraction of the index when larger).
   */
  INDEX_DELTA_LIMIT: z.coerce.number().int().min(1).default(4096),
  /**
   * Exact search path: `auto` measures as flat scan at 128-d (a KD-tree prunes almost
   * nothing there), `tree` forces the KD-tree, `flat` the scan. Results are identical.
   */
  INDEX_STRATEGY: z.enum(['auto', 'tree', 'flat']).default('auto'),
  /**
   * Where this replica keeps its snapshot (index + last applied sequence; one file a
   * shard); "{shard}" in the path is replaced by the shard's number. Unset: no
   * snapshots, full replay at start.
   */
  SNAPSHOT_DIR: z.string().min(1).optional(),
  /** A snapshot is written at most this often, and only when records were applied since the last one. */
  SNAPSHOT_INTERVAL_S: z.coerce.number().int().min(1).default(30),
  /**
   * Bulk writes (a record of at least INDEX_BULK_RECORD_FACES faces, or the replica behind
   * its log) pause index maintenance until no bulk record came for INDEX_BULK_QUIET_MS:
   * one training after a bulk load instead of one per doubling. 0 faces: never pause.
   */
  INDEX_BULK_RECORD_FACES: z.coerce.number().int().min(0).default(256),
  INDEX_BULK_QUIET_MS: z.coerce.number().int().min(10).max(600_000).default(1000),
  /**
   * How often a replica looks at the stream (creation time, first and last sequence) to
   * notice a log purged, truncated or recreated under it; consumer trouble looks at once.
   */
  LOG_CHECK_INTERVAL_MS: z.coerce.number().int().min(100).max(600_000).default(5000),
  /**
   * How many of the last records applied each look reads back (headers only) and compares
   * with what was applied: a leader change can take back records a replica applied and
   * write others at their sequences, which a replica that moved past them cannot see in
   * the stream's sequences. A loss deeper than this many records before a look is missed.
   */
  LOG_CHECK_RECORDS: z.coerce.number().int().min(1).max(100_000).default(1000),
  /**
   * While the log grows and whoever serves it (the stream leader, the server) stays the same,
   * looks read the applied records back at most this often (read-back-rule.ts); a new leader
   * or server, or consumer trouble, reads back at the next look.
   */
  LOG_CHECK_FULL_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  /**
   * The process's search queue (every replica and group leg in it shares one thread):
   * legs admitted and not yet answered. Past it a leg is refused at once with `busy` (503,
   * retryAfterMs). The default coordinator keeps at most 4 scatters in flight, i.e. 4
   * legs per shard it serves: 64 is 16 shards' worth, or 4 such coordinators'.
   */
  SHARD_QUEUE_MAX_LEGS: z.coerce.number().int().min(1).max(100_000).default(64),
  /**
   * Query vectors admitted and not yet searched (the cost waiting, a proxy for CPU and
   * bytes). 8192 takes four full legs (a leg is at most ~2,040 vectors at 1 MB messages),
   * what one default coordinator can have in flight. A larger leg alone in an empty
   * queue is still taken.
   */
  SHARD_QUEUE_MAX_VECTORS: z.coerce.number().int().min(1).max(10_000_000).default(8192),
  /**
   * Longest stretch a search holds the event loop: legs are searched a few vectors at a
   * time (sized from the measured time per vector) so /healthz, /readyz and refusals are
   * answered in between. A scan shares each pass over the rows among a slice's vectors,
   * so larger slices can search more vectors a second; 15 ms keeps refusals near 50 ms.
   */
  SEARCH_SLICE_MS: z.coerce.number().min(1).max(60_000).default(15),
});
export type ShardConfig = z.infer<typeof ShardEnv>;

export function loadShardConfig(env: NodeJS.ProcessEnv = process.env): ShardConfig {
  return parseEnv('shard', ShardEnv, env);
}
