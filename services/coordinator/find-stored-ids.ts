import { headers as natsHeaders, type NatsConnection } from 'nats';
import { requestJson } from '../../libs/nats/client/request.js';
import { LEG_KIND_HEADER, legWaitHeaders, LOOKUP_LEG, ShardLookupReply, type Subjects } from '../../libs/protocol/index.js';
import { shardOf } from '../../libs/sharding/index.js';

const encoder = new TextEncoder();

/** Of the ids asked: those a shard holds, and those whose shard did not answer (unknown). */
export interface StoredIds {
  found: Set<string>;
  unchecked: string[];
}

/**
 * Asks each owning shard which of `ids` it holds (a lookup leg, libs/protocol/shard-lookup.ts),
 * after it applied its log up to `streamSeq`, so a face whose ingest was acknowledged before
 * is seen. Each leg is tried twice; ids of a shard that never answered are `unchecked`.
 */
export async function findStoredIds(
  nc: NatsConnection,
  subjects: Subjects,
  ids: string[],
  shardCount: number,
  streamSeq: number,
  timeoutMs: number,
): Promise<StoredIds> {
  const byShard = new Map<number, string[]>();
  for (const id of ids) {
    const shard = shardOf(id, shardCount);
    byShard.set(shard, [...(byShard.get(shard) ?? []), id]);
  }
  const found = new Set<string>();
  const unchecked: string[] = [];
  await Promise.all(
    [...byShard].map(async ([shard, group]) => {
      const reply = await askShard(nc, subjects, shard, group, streamSeq, timeoutMs).catch(() =>
        askShard(nc, subjects, shard, group, streamSeq, timeoutMs).catch(() => undefined),
      );
      // Only the shard asked may answer for its ids (a reply from another is no answer).
      if (!reply || reply.shard !== shard) return void unchecked.push(...group);
      const asked = new Set(group);
      for (const id of reply.found) if (asked.has(id)) found.add(id);
    }),
  );
  return { found, unchecked };
}

function askShard(nc: NatsConnection, subjects: Subjects, shard: number, ids: string[], streamSeq: number, timeoutMs: number): Promise<ShardLookupReply> {
  const h = natsHeaders();
  h.set(LEG_KIND_HEADER, LOOKUP_LEG);
  legWaitHeaders({ streamSeq, waitMs: Math.max(10, timeoutMs - 200) }, (key, value) => h.set(key, value));
  return requestJson(nc, subjects.shardQuery(shard), encoder.encode(JSON.stringify({ ids })), ShardLookupReply, { timeoutMs, headers: h });
}
