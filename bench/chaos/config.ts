import { z } from 'zod';
import { parseEnv } from '../../libs/config/env.js';

/** `npm run chaos` knobs (environment); the defaults run the whole set in a few minutes on 2 cores. */
export const ChaosEnv = z.object({
  CHAOS_FAULT_S: z.coerce.number().min(1).max(120).default(6),
  CHAOS_SETTLE_S: z.coerce.number().min(0).max(120).default(3),
  CHAOS_WARMUP_S: z.coerce.number().min(1).max(120).default(8),
  CHAOS_RECOVERY_TIMEOUT_S: z.coerce.number().min(5).max(600).default(60),
  /** The whole run is bounded: past this, everything is torn down and the run fails. */
  CHAOS_MAX_S: z.coerce.number().min(60).max(7200).default(1200),
  /** Answers compared with the brute-force reference (spread over the run); 0: every one. */
  CHAOS_ANSWER_CHECKS: z.coerce.number().int().min(0).default(2500),
  /** Closed loops: a query that times out holds its loop for the whole timeout, so several keep measuring meanwhile. */
  CHAOS_QUERY_LOOPS: z.coerce.number().int().min(1).max(64).default(4),
  CHAOS_SEED: z.coerce.number().int().default(22),
  /** Where chaos.md and chaos.json go. */
  CHAOS_RESULTS_DIR: z.string().min(1).default('bench/results'),
  /** Keep the stores and logs (their path is printed); by default they are removed after a run whose invariants held. */
  CHAOS_KEEP_DATA: z.enum(['0', '1']).default('0'),
});
export type ChaosConfig = z.infer<typeof ChaosEnv>;

export function loadChaosConfig(env: NodeJS.ProcessEnv = process.env): ChaosConfig {
  return parseEnv('chaos', ChaosEnv, env);
}
