import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from 'nats';
import { ReplyInbox } from '../../libs/nats/reply-inbox/index.js';
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
import { sendLeg } from './hedged-leg.js';
import type { LegPlan } from './leg-plan.js';
import { ReplicaRouter } from './replica-router.js';

/**
 * `shardMismatches`: replies dropped because they came from another shard than the one asked (faceshard_coordinator_leg_shard_mismatch_total).
 * `busyRetryAfterMs`: every replica tried answered `busy` (load, not a fault): the longest retry hint.
 */
export type LegOutcome =
  | { shard: number; ok: true; reply: ShardReply; attempts: number; shardMismatches: number }
  | { shard: number; ok: false; reason: string; attempts: number; shardMismatches: number; busyRetryAfterMs?: number };

/** Who picks the replica of each leg, and what is counted on the way. */
export interface ScatterRouting {
  router: ReplicaRouter;
  onHedge?(): void;
}

const decoder = new TextDecoder();
/** An attempt with less time than this left is not sent. */
const MIN_ATTEMPT_MS = 5;
/** No replica known: every leg goes to its queue group (what a scatter without routing does). */
const QUEUE_GROUPS_ONLY: ScatterRouting = { router: new ReplicaRouter({ ejectMs: 0, hedgeFactor: 0, hedgeMinMs: 0 }) };

/**
 * Sends the query to every shard in parallel (binary leg: float32 body, k and
 * max-distance in headers), one leg per entry of the plan: a shard's own leg, or one
 * group leg for shards a process serves together. Each leg goes to the replica (or
 * process) the router picks on its direct subject, or to the queue group while none is
 * known, with one retry or hedge on another replica (hedged-leg.ts). A reply is taken
 * only from the shard the leg asked (its `shard` matches; anyone who can join a shard's
 * queue group could answer otherwise): another shard's reply is dropped and counted,
 * like a failed attempt. A failed group leg is retried as its shards' own legs (and
 * `onGroupFailure` told), unless it failed for load (busy) or for good (too large).
 * Every attempt carries its deadline (`faceshard-deadline`): a replica that gets it late
 * drops it unsearched. Failures are returned per shard, never hidden. Queries with
 * `minSeq` go per shard.
 */
export async function scatter(
  nc: NatsConnection,
  subjects: Subjects,
  plan: LegPlan,
  query: Query,
  timeoutMs: number,
  onGroupFailure?: () => void,
  routing: ScatterRouting = QUEUE_GROUPS_ONLY,
): Promise<LegOutcome[]> {
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
  const attemptMs = (h: MsgHdrs) => () => {
    const ms = Math.min(timeoutMs, deadline - Date.now());
    if (ms >= MIN_ATTEMPT_MS) h.set(DEADLINE_HEADER, String(Date.now() + ms));
    return ms >= MIN_ATTEMPT_MS ? ms : 0;
  };
  const { router, onHedge } = routing;
  const inbox = ReplyInbox.for(nc);

  const leg = async (shard: number, maxAttempts: number): Promise<LegOutcome> => {
    const wait = legWait(query, shard, timeoutMs);
    const h = wait ? headersFor(wait) : common;
    let shardMismatches = 0;
    const label = `shard ${shard}`;
    const result = await sendLeg<ShardReply>(inbox, router, {
      target: String(shard),
      queueSubject: subjects.shardQuery(shard),
      label,
      body,
      headers: h,
      attemptMs: attemptMs(h),
      maxAttempts,
      hedge: wait === undefined,
      onHedge,
      judge: (msg) => {
        const reply = parseLegReply(msg.data, msg.headers?.get('content-type'));
        if (reply === undefined) return { ok: false, reason: `${label} sent a malformed reply` };
        if (reply.shard !== shard) {
          shardMismatches++;
          return { ok: false, reason: `${label}: the reply came from shard ${reply.shard}` };
        }
        return { ok: true, value: reply };
      },
    });
    if (result.ok) return { shard, ok: true, reply: result.value, attempts: result.attempts, shardMismatches };
    return { shard, ok: false, reason: result.reason, attempts: result.attempts, shardMismatches, ...busyHint(result.busyRetryAfterMs) };
  };

  const groupLeg = async (shards: readonly number[]): Promise<LegOutcome[]> => {
    let shardMismatches = 0;
    const label = `shards ${shards.join('-')}`;
    const target = shards.join('-');
    const result = await sendLeg<ShardReply[]>(inbox, router, {
      target,
      queueSubject: subjects.shardGroupQuery(shards),
      label,
      body,
      headers: common,
      attemptMs: attemptMs(common),
      // Another process of the same group may take the retry or hedge; with one (or none known), the shards' own legs are the retry.
      maxAttempts: router.replicas(target).length > 1 ? 2 : 1,
      onHedge,
      judge: (msg) => {
        const replies = parseGroupReply(msg.data, msg.headers?.get('content-type'));
        const byShard = new Map(replies?.map((r) => [r.shard, r]));
        if (replies?.length === shards.length && shards.every((s) => byShard.has(s))) return { ok: true, value: shards.map((s) => byShard.get(s)!) };
        // Replies, but not one from each shard asked: dropped whole.
        if (replies) shardMismatches++;
        return { ok: false, reason: `${label}: the group reply did not hold one reply from each shard asked` };
      },
    });
    if (result.ok)
      return result.value.map((reply, i) => ({ shard: shards[i], ok: true, reply, attempts: result.attempts, shardMismatches: i === 0 ? shardMismatches : 0 }));
    const fellThrough = result.attempts === 0 || result.busyRetryAfterMs !== undefined || result.final;
    if (fellThrough)
      return shards.map((shard, i) => ({
        shard,
        ok: false,
        reason: result.reason.replace(label, `shard ${shard}`),
        attempts: result.attempts,
        shardMismatches: i === 0 ? shardMismatches : 0,
        ...busyHint(result.busyRetryAfterMs),
      }));
    // No responders, timeouts, bad replies: the shards' own legs are the retry.
    onGroupFailure?.();
    const outcomes = await Promise.all(shards.map((shard) => leg(shard, 1)));
    for (const outcome of outcomes) outcome.attempts += result.attempts;
    outcomes[0].shardMismatches += shardMismatches;
    return outcomes;
  };

  const legs = query.minSeq === undefined ? plan : plan.flatMap((shards) => shards.map((shard) => [shard]));
  const outcomes = await Promise.all(legs.map((shards) => (shards.length === 1 ? leg(shards[0], 2).then((o) => [o]) : groupLeg(shards))));
  return outcomes.flat().sort((a, b) => a.shard - b.shard);
}

function busyHint(retryAfterMs: number | undefined): { busyRetryAfterMs?: number } {
  return retryAfterMs === undefined ? {} : { busyRetryAfterMs: retryAfterMs };
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
