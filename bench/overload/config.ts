/** The overload bench's knobs (environment, zod-checked, with the defaults the results were measured with). */
import { z } from 'zod';
import { parseEnv } from '../../libs/config/env.js';

export const OverloadBenchEnv = z.object({
  /** Synthetic faces ingested (5 photos an identity), split over the 2 shards. */
  BENCH_OVERLOAD_FACES: z.coerce.number().int().min(1000).max(2_000_000).default(200_000),
  /** CPU quota of each shard replica process (cgroup), in cores, as a small pod has: saturation at modest concurrency. */
  BENCH_OVERLOAD_REPLICA_CORES: z.coerce.number().min(0.01).max(64).default(0.1),
  /** Run the levels at multiples of this instead of the C_sat found (the search still runs and is reported): compares two builds at the same concurrency. */
  BENCH_OVERLOAD_C_SAT: z.coerce.number().int().min(1).max(4096).optional(),
  /** Length of each load level, warm-up included. */
  BENCH_OVERLOAD_LEVEL_MS: z.coerce.number().int().min(2000).max(600_000).default(12_000),
  /** Part of each level not counted (queues fill, the coalescer finds its batch size). */
  BENCH_OVERLOAD_WARMUP_MS: z.coerce.number().int().min(0).max(60_000).default(2000),
  /** Length of each step of the search for the saturating concurrency. */
  BENCH_OVERLOAD_PROBE_MS: z.coerce.number().int().min(1000).max(60_000).default(6000),
  /** The load client's query timeout (also its deadline header). */
  BENCH_OVERLOAD_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(5000),
  /** A client told `busy` waits the retry hint, at most this long, before its next query. */
  BENCH_OVERLOAD_RETRY_CAP_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  /** 1: approximate search; default exact, what `faceshard query` sends. */
  BENCH_OVERLOAD_APPROXIMATE: z
    .enum(['0', '1'])
    .default('0')
    .transform((v) => v === '1'),
  /** How long the replica is paused (SIGSTOP) in part 3. */
  BENCH_OVERLOAD_PAUSE_MS: z.coerce.number().int().min(500).max(120_000).default(5000),
});
export type OverloadBenchConfig = z.infer<typeof OverloadBenchEnv>;

export function loadOverloadBenchConfig(env: NodeJS.ProcessEnv = process.env): OverloadBenchConfig {
  return parseEnv('overload bench', OverloadBenchEnv, env);
}
