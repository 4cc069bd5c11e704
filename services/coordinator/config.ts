import { z } from 'zod';
import { CommonEnv, parseEnv } from '../../libs/config/env.js';

export const CoordinatorEnv = z.object({
  ...CommonEnv,
  /** How long one scatter leg may take before it is retried once (another replica may answer). */
  SHARD_TIMEOUT_MS: z.coerce.number().int().min(10).max(120_000).default(2000),
  /**
   * Scatters running at once; queries arriving while all are busy leave together in the
   * next one (adaptive batching). 0 turns batching off: one scatter per query.
   */
  QUERY_SCATTERS_IN_FLIGHT: z.coerce.number().int().min(0).max(1024).default(4),
  /**
   * How often (ms) the coordinator looks up which shard processes serve several shards
   * and answer one group leg for them (one message a process, not one a shard). 0: never;
   * every shard gets its own leg.
   */
  LEG_PLAN_INTERVAL_MS: z.coerce.number().int().min(0).max(600_000).default(2000),
  /** Upper bound of faces in one log record; records are also kept under the server's max payload. */
  LOG_BATCH_FACES: z.coerce.number().int().min(1).max(10_000).default(1000),
});
export type CoordinatorConfig = z.infer<typeof CoordinatorEnv>;

export function loadCoordinatorConfig(env: NodeJS.ProcessEnv = process.env): CoordinatorConfig {
  return parseEnv('coordinator', CoordinatorEnv, env);
}
