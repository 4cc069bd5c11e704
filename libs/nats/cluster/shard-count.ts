import type { NatsConnection } from 'nats';
import type { Subjects } from '../../protocol/index.js';

export class ShardCountMismatchError extends Error {
  override name = 'ShardCountMismatchError';
}

const KEY = 'shards';

function mismatch(subjects: Subjects, stored: number, wanted: number, asked: string): ShardCountMismatchError {
  return new ShardCountMismatchError(
    `this cluster was created with ${stored} shards (KV ${subjects.configBucket}/${KEY}), but ${asked}; ` +
      `use ${stored}, or a fresh data directory / subject prefix for a cluster of ${wanted} shards`,
  );
}

/**
 * Cluster creation (the admin's step): the shard count is stored once in the config
 * bucket; a later call must agree with it. Returns the stored count.
 */
export async function storeShardCount(nc: NatsConnection, subjects: Subjects, wanted: number, replicas = 1): Promise<number> {
  const kv = await nc.jetstream().views.kv(subjects.configBucket, { history: 1, replicas });
  for (;;) {
    const entry = await kv.get(KEY);
    if (entry && entry.operation === 'PUT') {
      const stored = Number(entry.string());
      if (stored !== wanted) throw mismatch(subjects, stored, wanted, `${wanted} shards were asked for`);
      return stored;
    }
    try {
      await kv.create(KEY, new TextEncoder().encode(String(wanted)));
      return wanted;
    } catch {
      // someone else created it first: read and compare
    }
  }
}

/**
 * What services do: read the shard count the admin stored (never create it), waiting up
 * to `timeoutMs` for the cluster to be initialized; `expected` (SHARD_COUNT) must agree.
 */
export async function readShardCount(nc: NatsConnection, subjects: Subjects, expected: number | undefined, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const kv = await nc.jetstream().views.kv(subjects.configBucket, { bindOnly: true });
      const entry = await kv.get(KEY);
      if (entry && entry.operation === 'PUT') {
        const stored = Number(entry.string());
        if (expected !== undefined && stored !== expected) throw mismatch(subjects, stored, expected, `this process was started with SHARD_COUNT=${expected}`);
        return stored;
      }
    } catch (err) {
      if (err instanceof ShardCountMismatchError || !/not found/i.test((err as Error).message)) throw err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `no shard count in KV ${subjects.configBucket}/${KEY} after ${timeoutMs} ms: the cluster is not initialized; run \`faceshard admin init --shards N\` with the admin credentials (faceshard up does it itself)`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
