import type { NatsConnection } from 'nats';
import type { FaceIndex } from '../../libs/index/face-index/index.js';
import { lastSequenceFor } from '../../libs/nats/cluster/stream.js';
import {
  parseDeadline,
  parseLegWait,
  parseQuery,
  ProtocolError,
  type HeaderView,
  type LegWait,
  type Query,
  type ShardReply,
  type Subjects,
} from '../../libs/protocol/index.js';
import type { LogReplay } from './log-replayer.js';
import type { SearchQueue } from './search-queue.js';

export interface ShardContext {
  nc: NatsConnection;
  subjects: Subjects;
  shard: number;
  index: FaceIndex;
  replay: LogReplay;
  /** Legs dropped unsearched because their deadline had passed. */
  expiredLegs: { inc(): void };
  /** The process's one search queue (shared by its replicas and group legs). */
  queue: SearchQueue;
}

/**
 * One scatter leg: decode the query (binary from the coordinator, JSON from a person),
 * wait until this replica applied what the query asked to see, then search.
 */
export async function answerQuery(ctx: ShardContext, data: Uint8Array, headers: HeaderView | undefined): Promise<ShardReply> {
  return answerParsed(ctx, { ...parseQuery(data, headers), deadline: parseDeadline(headers) }, parseLegWait(headers));
}

/** Nobody waits for a leg past its deadline: it is answered `deadline` without a search (or without the rest of it). */
function dropIfExpired(ctx: Pick<ShardContext, 'shard' | 'expiredLegs'>, deadline: number | undefined, searched = 0): void {
  if (deadline === undefined || Date.now() < deadline) return;
  ctx.expiredLegs.inc();
  const done = searched === 0 ? 'not searched' : `stopped after ${searched} of its vectors`;
  throw new ProtocolError('deadline', `shard ${ctx.shard}: the leg's deadline passed ${Date.now() - deadline} ms ago; ${done}`);
}

/** The search of a decoded leg (a group leg decodes once for all its shards). */
export async function answerParsed(ctx: ShardContext, query: Query, wait: LegWait | undefined): Promise<ShardReply> {
  dropIfExpired(ctx, query.deadline);
  if (wait) {
    await waitUntilApplied(ctx, wait);
    dropIfExpired(ctx, query.deadline);
  }
  const { index } = ctx;
  const options = query.approximate ? { approximate: true, effort: query.effort } : undefined;
  // In turn and in slices; a leg whose deadline passes is dropped at its next slice.
  const neighbors = await ctx.queue.submit({
    vectors: query.vectors,
    search: (vectors) => index.search(vectors, query.k, query.maxDistance, options),
    beforeSlice: (searched) => dropIfExpired(ctx, query.deadline, searched),
    batch: { target: index, key: `${query.k}/${query.maxDistance ?? '-'}/${query.approximate ? `approximate ${query.effort ?? 1}` : 'exact'}` },
  });
  return {
    shard: ctx.shard,
    faces: index.size,
    appliedSeq: ctx.replay.state.appliedSeq,
    results: neighbors.map((list) =>
      list.map((n) => (n.meta === undefined ? { id: n.id, distance: n.distance } : { id: n.id, distance: n.distance, meta: n.meta })),
    ),
  };
}

export async function waitUntilApplied(ctx: ShardContext, wait: LegWait): Promise<void> {
  const applied = ctx.replay.state.appliedSeq;
  let target = wait.appliedSeq ?? 0;
  if (wait.streamSeq !== undefined && wait.streamSeq > applied) {
    // A stream sequence counts every shard's records: wait only for records of our own log.
    target = Math.max(target, Math.min(wait.streamSeq, await lastSequenceFor(ctx.nc, ctx.subjects, ctx.shard)));
  }
  if (target <= applied) return;
  if (!(await ctx.replay.waitForSeq(target, wait.waitMs))) {
    throw new ProtocolError(
      'behind',
      `shard ${ctx.shard} has applied its log up to sequence ${ctx.replay.state.appliedSeq}, the query needs ${target}; still behind after ${wait.waitMs} ms`,
    );
  }
}
