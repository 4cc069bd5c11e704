import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from 'nats';
import { ReplyInbox } from '../../libs/reply-inbox/index.js';
import {
  DEADLINE_HEADER,
  decodeShardGroupReplyBinary,
  decodeShardReplyBinary,
  legWaitHeaders,
  queryHeaders,
  queryToBinary,
  REPLY_FORMAT_HEADER,
  SHARD_GROUP_REPLY_BINARY_CONTENT_TYPE,
  SHARD_REPLY_BINARY_CONTENT_TYPE,
  ShardGroupReply,
  ShardReply,
  ShardReplyFormatError,
  type LegWait,
  type Query,
  type Subjects,
} from '../../libs/protocol/index.js';
import type { LegPlan } from './leg-plan.js';

/** `shardMismatches`: replies dropped because they came from another shard than the one asked (faceshard_coordinator_leg_shard_mismatch_total). */
export type LegOutcome =
  | { shard: number; ok: true; reply: ShardReply; attempts: number; shardMismatches: number }
  | { shard: number; ok: false; reason: string; attempts: number; shardMismatches: number };

const decoder = new TextDecoder();
/** An attempt with less time than this left is not sent. */
const MIN_ATTEMPT_MS = 5;
/** Answers a retry would only repeat: too large (413), deadline passed (504). */
const NOT_RETRIED = new Set(['413', '504']);

/**
 * Sends the query to every shard in parallel (binary leg: float32 body, k and
 * max-distance in headers), one leg per entry of the plan: a shard's own leg, or one
 * group leg for shards a process serves together. A reply is taken only from the shard
 * the leg asked (its `shard` matches; anyone who can join a shard's queue group could
 * answer otherwise): another shard's reply is dropped and counted, like a failed attempt.
 * A leg that fails or times out is retried once, while the query's deadline leaves time:
 * the queue group may hand it to another replica; a failed group leg is retried as its
 * shards' own legs (and `onGroupFailure` told). A leg too large for the transport, or
 * refused as too large, is never retried (it would fail again). Every attempt carries
 * its deadline (`faceshard-deadline`): a replica that gets it late drops it unsearched.
 * Failures are returned per shard, never hidden. Queries with `minSeq` go per shard.
 */
export async function scatter(nc: NatsConnection, subjects: Subjects, plan: LegPlan, query: Query, timeoutMs: number, onGroupFailure?: () => void): Promise<LegOutcome[]> {
  const body = queryToBinary(query);
  const deadline = query.deadline ?? Date.now() + 2 * timeoutMs;
  const headersFor = (wait: LegWait | undefined) => {
    const h = natsHeaders();
    queryHeaders(query, (key, value) => h.set(key, value));
    h.set(REPLY_FORMAT_HEADER, 'binary');
    if (wait) legWaitHeaders(wait, (key, value) => h.set(key, value));
    return h;
  };
  // Legs without a wait share one set of headers (built once a query, not once a leg); only the deadline differs by attempt.
  const common = headersFor(undefined);
  /** This attempt's wait: the leg timeout or what is left of the query's time, whichever ends first; 0 when none is left. */
  const attemptMs = (h: MsgHdrs) => {
    const ms = Math.min(timeoutMs, deadline - Date.now());
    if (ms >= MIN_ATTEMPT_MS) h.set(DEADLINE_HEADER, String(Date.now() + ms));
    return ms >= MIN_ATTEMPT_MS ? ms : 0;
  };

  const inbox = ReplyInbox.for(nc);
  const leg = async (shard: number, firstAttempt: number): Promise<LegOutcome> => {
    const wait = legWait(query, shard, timeoutMs);
    const h = wait ? headersFor(wait) : common;
    let reason = '';
    let shardMismatches = 0;
    let attempts = firstAttempt - 1;
    for (let attempt = firstAttempt; attempt <= 2; attempt++) {
      const waitMs = attemptMs(h);
      if (waitMs === 0) {
        reason ||= `shard ${shard}: no time left before the query's deadline`;
        break;
      }
      attempts = attempt;
      try {
        const msg = await inbox.request(subjects.shardQuery(shard), body, { timeoutMs: waitMs, headers: h });
        const serviceError = msg.headers?.get('Nats-Service-Error');
        if (serviceError) {
          reason = serviceError.startsWith(`shard ${shard}`) ? serviceError : `shard ${shard} answered an error: ${serviceError}`;
          if (NOT_RETRIED.has(msg.headers?.get('Nats-Service-Error-Code') ?? '')) break;
          continue;
        }
        const reply = parseLegReply(msg.data, msg.headers?.get('content-type'));
        if (reply === undefined) {
          reason = `shard ${shard} sent a malformed reply`;
          continue;
        }
        if (reply.shard !== shard) {
          shardMismatches++;
          reason = `shard ${shard}: the reply came from shard ${reply.shard}`;
          continue;
        }
        return { shard, ok: true, reply, attempts: attempt, shardMismatches };
      } catch (err) {
        const code = (err as { code?: string }).code;
        reason = code === '503' ? `shard ${shard}: no replica is serving (no responders)` : code === 'TIMEOUT' ? `shard ${shard}: timed out after ${waitMs} ms` : `shard ${shard}: ${(err as Error).message}`;
        if (code === 'MAX_PAYLOAD_EXCEEDED') break;
        if (code === '503' && attempt === 1) await new Promise((r) => setTimeout(r, 50)); // a replica may be rejoining
      }
    }
    return { shard, ok: false, reason, attempts, shardMismatches };
  };

  const groupLeg = async (shards: readonly number[]): Promise<LegOutcome[]> => {
    let shardMismatches = 0;
    const failAll = (reason: (shard: number) => string, attempts: number) => shards.map((shard): LegOutcome => ({ shard, ok: false, reason: reason(shard), attempts, shardMismatches: 0 }));
    const waitMs = attemptMs(common);
    if (waitMs === 0) return failAll((shard) => `shard ${shard}: no time left before the query's deadline`, 0);
    try {
      const msg = await inbox.request(subjects.shardGroupQuery(shards), body, { timeoutMs: waitMs, headers: common });
      if (NOT_RETRIED.has(msg.headers?.get('Nats-Service-Error-Code') ?? '')) return failAll((shard) => `shard ${shard}: ${msg.headers?.get('Nats-Service-Error')}`, 1);
      if (!msg.headers?.get('Nats-Service-Error')) {
        const replies = parseGroupReply(msg.data, msg.headers?.get('content-type'));
        const byShard = new Map(replies?.map((r) => [r.shard, r]));
        if (replies?.length === shards.length && shards.every((s) => byShard.has(s))) {
          return shards.map((shard) => ({ shard, ok: true, reply: byShard.get(shard)!, attempts: 1, shardMismatches: 0 }));
        }
        // Replies, but not one from each shard asked: dropped whole.
        if (replies) shardMismatches = 1;
      }
    } catch (err) {
      if ((err as { code?: string }).code === 'MAX_PAYLOAD_EXCEEDED') return failAll((shard) => `shard ${shard}: the leg is larger than the server's max_payload`, 1);
      // no responders, a timeout: the shards' own legs are the retry
    }
    onGroupFailure?.();
    const outcomes = await Promise.all(shards.map((shard) => leg(shard, 2)));
    outcomes[0].shardMismatches += shardMismatches;
    return outcomes;
  };

  const legs = query.minSeq === undefined ? plan : plan.flatMap((shards) => shards.map((shard) => [shard]));
  const outcomes = await Promise.all(legs.map((shards) => (shards.length === 1 ? leg(shards[0], 1).then((o) => [o]) : groupLeg(shards))));
  return outcomes.flat().sort((a, b) => a.shard - b.shard);
}

/** What a query's `minSeq` asks of one shard's replicas; they may wait most of the leg's timeout. */
function legWait(query: Query, shard: number, timeoutMs: number): LegWait | undefined {
  if (query.minSeq === undefined) return undefined;
  const waitMs = Math.max(1, Math.floor(timeoutMs * 0.8));
  if (typeof query.minSeq === 'number') return { streamSeq: query.minSeq, waitMs };
  const appliedSeq = query.minSeq[String(shard)];
  return appliedSeq === undefined ? undefined : { appliedSeq, waitMs };
}

/** A group leg's replies (binary or JSON); undefined when malformed. */
function parseGroupReply(data: Uint8Array, contentType: string | undefined): ShardReply[] | undefined {
  if (contentType === SHARD_GROUP_REPLY_BINARY_CONTENT_TYPE) {
    try {
      return decodeShardGroupReplyBinary(data).replies;
    } catch (err) {
      if (err instanceof ShardReplyFormatError) return undefined;
      throw err;
    }
  }
  try {
    const parsed = ShardGroupReply.safeParse(JSON.parse(decoder.decode(data)));
    return parsed.success ? parsed.data.replies : undefined;
  } catch {
    return undefined;
  }
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
