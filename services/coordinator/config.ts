import { z } from 'zod';
import { CommonEnv, parseEnv } from '../../libs/config/env.js';

export const CoordinatorEnv = z.object({
  ...CommonEnv,
  /** How long one scatter leg may take before it is retried once (another replica may answer). */
  SHARD_TIMEOUT_MS: z.coerce.number().int().min(10).max(120_000).default(2000),
  /**
   * A query's whole time (its wait for a scatter, its legs and their retries); a client's `faceshard-deadline`
   * header shortens it. A retry goes only while time is left.
   */
  QUERY_TIMEOUT_MS: z.coerce.number().int().min(10).max(600_000).default(10_000),
  /** Cost cap: vectors x k of one request; over it, `too_large` (413) before any search. */
  QUERY_MAX_MATCHES: z.coerce.number().int().min(1).max(100_000_000).default(100_000),
  /**
   * Cost cap: the reply's expected bytes (vectors x k x QUERY_MATCH_BYTES); over it,
   * `too_large`. Unset: what one message holds (the server's max_payload less 4 KB), its
   * upper bound too, since a reply is one message.
   */
  QUERY_MAX_REPLY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(2 ** 40)
    .optional(),
  /** Bytes a match is expected to take in a reply (distance, id, meta): sizes the cost cap and merged batches. Raise it when metas are large. */
  QUERY_MATCH_BYTES: z.coerce
    .number()
    .int()
    .min(16)
    .max(1024 * 1024)
    .default(128),
  /**
   * Time budget of one merged scatter (ms): waiting queries leave together only while
   * their vectors, at the recent scatter time per vector, fit in it. Unset: a quarter of
   * SHARD_TIMEOUT_MS, so a batch answers well within its legs' timeout under overload.
   */
  QUERY_BATCH_MAX_MS: z.coerce.number().int().min(1).max(600_000).optional(),
  /**
   * Scatters running at once; queries arriving while all are busy leave together in the
   * next one (adaptive batching). 0 turns batching off: one scatter per query.
   */
  QUERY_SCATTERS_IN_FLIGHT: z.coerce.number().int().min(0).max(1024).default(4),
  /**
   * true: QUERY_SCATTERS_IN_FLIGHT counts per replica of the shard with the fewest, so
   * each replica keeps as many legs (of the same size) in hand as one alone would;
   * with a fixed count, R replicas share its legs and wait on each other's (measured in
   * bench/results/replicas.md). false: a fixed count, whatever the replicas.
   */
  QUERY_SCATTERS_PER_REPLICA: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /**
   * How often (ms) the coordinator looks up which shard processes serve several shards
   * and answer one group leg for them (one message a process, not one a shard). 0: never;
   * every shard gets its own leg.
   */
  LEG_PLAN_INTERVAL_MS: z.coerce.number().int().min(0).max(600_000).default(2000),
  /**
   * Queries waiting for a scatter slot, at most; past it a query is refused at once with
   * `busy` (503) and a retry hint, rather than waiting until its deadline.
   */
  COORDINATOR_QUEUE_MAX_QUERIES: z.coerce.number().int().min(1).max(1_000_000).default(256),
  /** Query vectors waiting for a scatter slot, at most (an empty queue still takes one query of any size). */
  COORDINATOR_QUEUE_MAX_VECTORS: z.coerce.number().int().min(1).max(100_000_000).default(16_384),
  /**
   * Who picks the replica of a leg: `least-outstanding`, the coordinator (direct subjects,
   * hedges, ejection: replica-router.ts); `queue-group`, NATS at random (as before issue 22;
   * kept to measure against, and as a way back).
   */
  LEG_ROUTING: z.enum(['least-outstanding', 'queue-group']).default('least-outstanding'),
  /** How long a replica whose leg failed or timed out is left out of routing before one probe leg (a busy one: its retry hint, up to this). */
  REPLICA_EJECT_MS: z.coerce.number().int().min(0).max(600_000).default(3000),
  /** A leg not answered after LEG_HEDGE_P99_FACTOR x its target's recent p99 (at least LEG_HEDGE_MIN_MS) is also sent to another replica; the first answer wins. */
  LEG_HEDGE_P99_FACTOR: z.coerce.number().min(1).max(100).default(3),
  LEG_HEDGE_MIN_MS: z.coerce.number().int().min(1).max(120_000).default(50),
  /** Upper bound of faces in one log record; records are also kept under the server's max payload. */
  LOG_BATCH_FACES: z.coerce.number().int().min(1).max(10_000).default(1000),
});
export type CoordinatorConfig = z.infer<typeof CoordinatorEnv>;

export function loadCoordinatorConfig(env: NodeJS.ProcessEnv = process.env): CoordinatorConfig {
  return parseEnv('coordinator', CoordinatorEnv, env);
}
