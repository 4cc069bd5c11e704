import { z } from 'zod';
import { CommonEnv, parseEnv } from '../../libs/config/env.js';

export const ShardEnv = z.object({
  ...CommonEnv,
  SHARD_INDEX: z.coerce.number({ error: 'SHARD_INDEX is required: which shard (0..N-1) this replica serves' }).int().min(0),
  /** Faces added after the tree was built are scanned flat until this many, then folded in. */
  INDEX_DELTA_LIMIT: z.coerce.number().int().min(1).default(4096),
});
export type ShardConfig = z.infer<typeof ShardEnv>;

export function loadShardConfig(env: NodeJS.ProcessEnv = process.env): ShardConfig {
  return parseEnv('shard', ShardEnv, env);
}
