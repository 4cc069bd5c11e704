import type { NatsConnection } from 'nats';
import { bodyBudget, ProtocolError, vectorsPerMessage, type QueryReply, type Query, type Subjects } from '../../libs/protocol/index.js';
import type { LegPlanner } from './leg-plan.js';
import { mergeTopK, type ShardList } from './merge.js';
import { scatter, type LegOutcome, type ScatterRouting } from './scatter.js';
import { joinSlices, sliceQuery } from './split-query.js';

/**
 * Scatter one query to every shard, merge the answers, say plainly which shards were
 * missing. A query whose legs or whose shard replies would not fit in one message (the
 * server's max_payload, replies at `matchBytes` a match) goes in slices, each its own legs.
 * A shard whose every replica tried answered `busy` makes the whole answer `busy` (503,
 * the longest retry hint): partial is for faults (no replica answering), busy for load,
 * and a client told to come back soon gets a complete answer then.
 */
export async function answerQuery(
  nc: NatsConnection,
  subjects: Subjects,
  planner: LegPlanner,
  query: Query,
  timeoutMs: number,
  matchBytes: number,
  routing?: ScatterRouting,
): Promise<{ reply: QueryReply; legs: LegOutcome[] }> {
  const started = performance.now();
  const shardCount = planner.shardCount;
  const plan = planner.current();
  const slices = sliceQuery(query, vectorsPerMessage(bodyBudget(nc), query.k, matchBytes));
  const legs = joinSlices(await Promise.all(slices.map((slice) => scatter(nc, subjects, plan, slice, timeoutMs, () => planner.groupFailed(), routing))));
  const busy = legs.filter((l): l is Extract<LegOutcome, { ok: false }> => !l.ok && l.busyRetryAfterMs !== undefined);
  if (busy.length) {
    const retryAfterMs = Math.max(...busy.map((l) => l.busyRetryAfterMs!));
    throw new ProtocolError('busy', `shards are busy: ${busy.map((l) => l.reason).join('; ')}; try again in ${retryAfterMs} ms`, retryAfterMs);
  }
  const answered = legs.filter((l): l is Extract<LegOutcome, { ok: true }> => l.ok);
  const results = [];
  for (let q = 0; q < query.count; q++) {
    const lists: ShardList[] = answered.map((l) => ({ shard: l.shard, matches: l.reply.results[q] ?? [] }));
    results.push(mergeTopK(lists, query.k));
  }
  const reply: QueryReply = {
    results,
    shards: { total: shardCount, answered: answered.length },
    partial: answered.length < shardCount,
    ...(answered.length < shardCount ? { missing: legs.flatMap((l) => (l.ok ? [] : [{ shard: l.shard, reason: l.reason }])) } : {}),
    searched: answered.reduce((sum, l) => sum + l.reply.faces, 0),
    tookMs: Math.round((performance.now() - started) * 1000) / 1000,
  };
  return { reply, legs };
}
