import { headers as natsHeaders, type NatsConnection } from 'nats';
import { requestJson } from '../../libs/nats/client/request.js';
import { LEG_KIND_HEADER, legWaitHeaders, LOOKUP_LEG, ShardLookupReply, type ShardLookupRequest, type Subjects } from '../../libs/protocol/index.js';
import { shardOf } from '../../libs/sharding/index.js';

const encoder = new TextEncoder();

/** Of the ids asked: those a shard holds (with their shard, and their meta when asked for), and those whose shard did not answer (unknown). */
export interface StoredIds {
  found: Map<string, { shard: number; meta?: unknown }>;
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
  withMeta = false,
): Promise<StoredIds> {
  const byShard = new Map<number, string[]>();
  for (const id of ids) {
    const shard = shardOf(id, shardCount);
    byShard.set(shard, [...(byShard.get(shard) ?? []), id]);
  }
  const found: StoredIds['found'] = new Map();
  const unchecked: string[] = [];
  await Promise.all(
    [...byShard].map(async ([shard, group]) => {
      const ask = () => askShard(nc, subjects, shard, { ids: group, ...(withMeta ? { meta: true } : {}) }, streamSeq, timeoutMs);
      const reply = await ask().catch(() => ask().catch(() => undefined));
      // Only the shard asked may answer for its ids (a reply from another is no answer).
      if (!reply || reply.shard !== shard) return void unchecked.push(...group);
      const asked = new Set(group);
      reply.found.forEach((id, i) => {
        const meta = reply.metas?.[i];
        if (asked.has(id)) found.set(id, meta === undefined || meta === null ? { shard } : { shard, meta });
      });
    }),
  );
  return { found, unchecked };
}

function askShard(
  nc: NatsConnection,
  subjects: Subjects,
  shard: number,
  request: ShardLookupRequest,
  streamSeq: number,
  timeoutMs: number,
): Promise<ShardLookupReply> {
  const h = natsHeaders();
  h.set(LEG_KIND_HEADER, LOOKUP_LEG);
  legWaitHeaders({ streamSeq, waitMs: Math.max(10, timeoutMs - 200) }, (key, value) => h.set(key, value));
  return requestJson(nc, subjects.shardQuery(shard), encoder.encode(JSON.stringify(request)), ShardLookupReply, { timeoutMs, headers: h });
}
