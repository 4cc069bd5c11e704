import { hash64 } from './hash64.js';
import { jumpConsistentHash } from './jump-hash.js';
import { shardOfFast } from './shard-of.js';

export { hash64, jumpConsistentHash };

/** The most shards a cluster may have (SHARD_COUNT, `--shards`): one subject, identity and log consumer each. */
export const MAX_SHARD_COUNT = 4096;

/**
 * The shard that owns a face id: jumpConsistentHash(hash64(utf8(id)), shardCount) — same
 * id, same shard, for a fixed shard count. Computed without BigInt (shard-of.ts).
 */
export function shardOf(id: string, shardCount: number): number {
  return shardOfFast(id, shardCount);
}
