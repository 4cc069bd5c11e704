import { hash64 } from './hash64.js';
import { jumpConsistentHash } from './jump-hash.js';

export { hash64, jumpConsistentHash };

/** The shard that owns a face id: same id, same shard, for a fixed shard count. */
export function shardOf(id: string, shardCount: number): number {
  return jumpConsistentHash(hash64(id), shardCount);
}
