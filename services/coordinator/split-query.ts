import type { Query, ShardReply } from '../../libs/protocol/index.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import type { LegOutcome } from './scatter.js';

/** The query in slices of at most `maxVectors` (views of its vectors, not copies). */
export function sliceQuery(query: Query, maxVectors: number): Query[] {
  if (query.count <= maxVectors) return [query];
  const slices: Query[] = [];
  for (let start = 0; start < query.count; start += maxVectors) {
    const count = Math.min(maxVectors, query.count - start);
    slices.push({ ...query, vectors: query.vectors.subarray(start * FACE_DIMENSIONS, (start + count) * FACE_DIMENSIONS), count });
  }
  return slices;
}

/**
 * One outcome a shard from its outcome for each slice, in slice order: answered only
 * when every slice was (a shard missing from one slice is missing from the answer).
 */
export function joinSlices(slices: readonly LegOutcome[][]): LegOutcome[] {
  if (slices.length === 1) return slices[0];
  return slices[0].map((first, i) => {
    const own = slices.map((outcomes) => outcomes[i]);
    const attempts = Math.max(...own.map((o) => o.attempts));
    const shardMismatches = own.reduce((n, o) => n + o.shardMismatches, 0);
    const failed = own.find((o) => !o.ok);
    if (failed && !failed.ok) return { ...failed, shard: first.shard, attempts, shardMismatches }; // a busy slice keeps its retry hint
    const replies = own.map((o) => (o as Extract<LegOutcome, { ok: true }>).reply);
    const reply: ShardReply = {
      shard: first.shard,
      faces: Math.max(...replies.map((r) => r.faces)),
      appliedSeq: Math.min(...replies.map((r) => r.appliedSeq)),
      results: replies.flatMap((r) => r.results),
    };
    return { shard: first.shard, ok: true, reply, attempts, shardMismatches };
  });
}
