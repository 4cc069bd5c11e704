import { headers as natsHeaders, type NatsConnection } from 'nats';
import { ReplyInbox } from '../../libs/reply-inbox/index.js';
import {
  decodeShardReplyBinary,
  legWaitHeaders,
  queryHeaders,
  queryToBinary,
  REPLY_FORMAT_HEADER,
  SHARD_REPLY_BINARY_CONTENT_TYPE,
  ShardReply,
  ShardReplyFormatError,
  type LegWait,
  type Query,
  type Subjects,
} from '../../libs/protocol/index.js';

export type LegOutcome = { shard: number; ok: true; reply: ShardReply; attempts: number } | { shard: number; ok: false; reason: string; attempts: number };

const decoder = new TextDecoder();

/**
 * Sends the query to every shard in parallel (binary leg: float32 body, k and
 * max-distance in headers). A leg that fails or times out is retried once: the queue
 * group may hand it to another replica. Failures are returned per shard, never hidden.
 */
export async function scatter(nc: NatsConnection, subjects: Subjects, shardCount: number, query: Query, timeoutMs: number): Promise<LegOutcome[]> {
  const body = queryToBinary(query);
  const headersFor = (shard: number) => {
    const h = natsHeaders();
    queryHeaders(query, (key, value) => h.set(key, value));
    h.set(REPLY_FORMAT_HEADER, 'binary');
    const wait = legWait(query, shard, timeoutMs);
    if (wait) legWaitHeaders(wait, (key, value) => h.set(key, value));
    return h;
  };

  const inbox = ReplyInbox.for(nc);
  const leg = async (shard: number): Promise<LegOutcome> => {
    const h = headersFor(shard);
    let reason = '';
    for (let attempt = 1; attempt <= 2; attempt++) {
      try {
        const msg = await inbox.request(subjects.shardQuery(shard), body, { timeoutMs, headers: h });
        const serviceError = msg.headers?.get('Nats-Service-Error');
        if (serviceError) {
          reason = serviceError.startsWith(`shard ${shard}`) ? serviceError : `shard ${shard} answered an error: ${serviceError}`;
          continue;
        }
        const reply = parseLegReply(msg.data, msg.headers?.get('content-type'));
        if (reply === undefined) {
          reason = `shard ${shard} sent a malformed reply`;
          continue;
        }
        return { shard, ok: true, reply, attempts: attempt };
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

/** What a query's `minSeq` asks of one shard's replicas; they may wait most of the leg's timeout. */
function legWait(query: Query, shard: number, timeoutMs: number): LegWait | undefined {
  if (query.minSeq === undefined) return undefined;
  const waitMs = Math.max(1, Math.floor(timeoutMs * 0.8));
  if (typeof query.minSeq === 'number') return { streamSeq: query.minSeq, waitMs };
  const appliedSeq = query.minSeq[String(shard)];
  return appliedSeq === undefined ? undefined : { appliedSeq, waitMs };
}

/** A leg's reply in the form its content-type names (binary from shards that know it, else JSON); undefined when malformed. */
function parseLegReply(data: Uint8Array, contentType: string | undefined): ShardReply | undefined {
  if (contentType === SHARD_REPLY_BINARY_CONTENT_TYPE) {
    try {
      return decodeShardReplyBinary(data);
    } catch (err) {
      if (err instanceof ShardReplyFormatError) return undefined;
      throw err;
    }
  }
  try {
    const parsed = ShardReply.safeParse(JSON.parse(decoder.decode(data)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
