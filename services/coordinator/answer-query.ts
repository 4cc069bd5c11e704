import type { NatsConnection } from 'nats';
import { bodyBudget, vectorsPerMessage, type QueryReply, type Query, type Subjects } from '../../libs/protocol/index.js';
import type { LegPlanner } from './leg-plan.js';
import { mergeTopK, type ShardList } from './merge.js';
import { scatter, type LegOutcome } from './scatter.js';
import { joinSlices, sliceQuery } from './split-query.js';

/**
 * Scatter one query to every shard, merge the answers, say plainly which shards were
 * missing. A query whose legs or whose shard replies would not fit in one message (the
 * server's max_payload, replies at `matchBytes` a match) goes in slices, each its own legs.
 */
export async function answerQuery(nc: NatsConnection, subjects: Subjects, planner: LegPlanner, query: Query, timeoutMs: number, matchBytes: number): Promise<{ reply: QueryReply; legs: LegOutcome[] }> {
  const started = performance.now();
  const shardCount = planner.shardCount;
  const plan = planner.current();
  const slices = sliceQuery(query, vectorsPerMessage(bodyBudget(nc), query.k, matchBytes));
  const legs = joinSlices(await Promise.all(slices.map((slice) => scatter(nc, subjects, plan, slice, timeoutMs, () => planner.groupFailed()))));
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
