import { headers as natsHeaders, type NatsConnection } from 'nats';
import { BINARY_CONTENT_TYPE, queryToBinary, ShardReply, type Query, type Subjects } from '../../libs/protocol/index.js';

export type LegOutcome = { shard: number; ok: true; reply: ShardReply; attempts: number } | { shard: number; ok: false; reason: string; attempts: number };

const decoder = new TextDecoder();

/**
 * Sends the query to every shard in parallel (binary leg: float32 body, k and
 * max-distance in headers). A leg that fails or times out is retried once: the queue
 * group may hand it to another replica. Failures are returned per shard, never hidden.
 */
export async function scatter(nc: NatsConnection, subjects: Subjects, shardCount: number, query: Query, timeoutMs: number): Promise<LegOutcome[]> {
  const body = queryToBinary(query);
  const h = natsHeaders();
  h.set('content-type', BINARY_CONTENT_TYPE);
  h.set('k', String(query.k));
  if (query.maxDistance !== undefined) h.set('max-distance', String(query.maxDistance));

  const leg = async (shard: number): Promise<LegOutcome> => {
    let reason = '';
    for (let attempt = 1; attempt <= 2; attempt++) {
      try {
        const msg = await nc.request(subjects.shardQuery(shard), body, { timeout: timeoutMs, headers: h });
        const serviceError = msg.headers?.get('Nats-Service-Error');
        if (serviceError) {
          reason = `shard ${shard} answered an error: ${serviceError}`;
          continue;
        }
        const parsed = ShardReply.safeParse(JSON.parse(decoder.decode(msg.data)));
        if (!parsed.success) {
          reason = `shard ${shard} sent a malformed reply`;
          continue;
        }
        return { shard, ok: true, reply: parsed.data, attempts: attempt };
      } catch (err) {
        const code = (err as { code?: string }).code;
        reason = code === '503' ? `shard ${shard}: no replica is serving (no responders)` : code === 'TIMEOUT' ? `shard ${shard}: timed out after ${timeoutMs} ms` : `shard ${shard}: ${(err as Error).message}`;
        if (code === '503' && attempt === 1) await new Promise((r) => setTimeout(r, 50)); // a replica may be rejoining
      }
    }
    return { shard, ok: false, reason, attempts: 2 };
  };

  return Promise.all(Array.from({ length: shardCount }, (_, shard) => leg(shard)));
}
