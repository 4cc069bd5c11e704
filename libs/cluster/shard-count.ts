import type { NatsConnection } from 'nats';
import type { Subjects } from '../protocol/subjects.js';

export class ShardCountMismatchError extends Error {
  override name = 'ShardCountMismatchError';
}

const KEY = 'shards';

/**
 * The shard count is fixed when the cluster is created and stored in a KV bucket.
 * With `wanted`: the first caller stores it, later callers must agree. Without it:
 * reads what the cluster has (waits for it, up to `timeoutMs`).
 */
export async function resolveShardCount(nc: NatsConnection, subjects: Subjects, wanted: number | undefined, timeoutMs = 30_000, replicas = 1): Promise<number> {
  const kv = await nc.jetstream().views.kv(subjects.configBucket, { history: 1, replicas });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const entry = await kv.get(KEY);
    if (entry && entry.operation === 'PUT') {
      const stored = Number(entry.string());
      if (wanted !== undefined && stored !== wanted) {
        throw new ShardCountMismatchError(
          `this cluster was created with ${stored} shards (KV ${subjects.configBucket}/${KEY}), but this process was started with SHARD_COUNT=${wanted}; ` +
            `start it with SHARD_COUNT=${stored}, or use a fresh data directory / subject prefix for a cluster of ${wanted} shards`,
        );
      }
      return stored;
    }
    if (wanted !== undefined) {
      try {
        await kv.create(KEY, new TextEncoder().encode(String(wanted)));
        return wanted;
      } catch {
        continue; // someone else created it first: read and compare
      }
    }
    if (Date.now() > deadline) throw new Error(`no shard count in KV ${subjects.configBucket}/${KEY} after ${timeoutMs} ms; start a coordinator with SHARD_COUNT set`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
