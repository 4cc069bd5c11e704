import type { QueryReply } from '../../protocol/index.js';

/**
 * Ranges [start, end) of items, each range's bytes within `budget` and at most `maxItems`
 * long (an item larger than the budget goes alone; no items, one empty range: the server
 * then says what is wrong).
 */
export function rangesWithin(sizes: ArrayLike<number>, budget: number, maxItems = Infinity): Array<[number, number]> {
  if (sizes.length === 0) return [[0, 0]];
  const ranges: Array<[number, number]> = [];
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < sizes.length; i++) {
    if (i > start && (bytes + sizes[i] > budget || i - start >= maxItems)) {
      ranges.push([start, i]);
      start = i;
      bytes = 0;
    }
    bytes += sizes[i];
  }
  if (sizes.length > start) ranges.push([start, sizes.length]);
  return ranges;
}

/** The replies of a query's parts, in order, as one reply: partial when any part was. */
export function joinReplies(replies: QueryReply[], tookMs: number): QueryReply {
  if (replies.length === 1) return replies[0];
  const missing = new Map<number, string>();
  for (const r of replies) for (const m of r.missing ?? []) if (!missing.has(m.shard)) missing.set(m.shard, m.reason);
  const partial = replies.some((r) => r.partial);
  return {
    results: replies.flatMap((r) => r.results),
    shards: { total: replies[0].shards.total, answered: Math.min(...replies.map((r) => r.shards.answered)) },
    partial,
    ...(partial ? { missing: [...missing].sort((a, b) => a[0] - b[0]).map(([shard, reason]) => ({ shard, reason })) } : {}),
    searched: Math.min(...replies.map((r) => r.searched)),
    tookMs,
  };
}
