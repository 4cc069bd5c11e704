import type { Match } from '../../libs/protocol/index.js';

export interface ShardList {
  shard: number;
  /** Sorted by (distance, id), as every shard returns them. */
  matches: ReadonlyArray<{ id: string; distance: number; meta?: unknown }>;
}

const before = (a: { id: string; distance: number }, b: { id: string; distance: number }) =>
  a.distance < b.distance || (a.distance === b.distance && a.id < b.id);

/**
 * k-way merge of per-shard top-k lists into the global top-k, ties broken by id, a
 * face id seen twice kept once (its nearest). Lists are at most k long, so a linear
 * pick over the shard heads is cheaper than a heap for the shard counts we run.
 */
export function mergeTopK(lists: ShardList[], k: number): Match[] {
  const heads = new Int32Array(lists.length);
  const seen = new Set<string>();
  const out: Match[] = [];
  while (out.length < k) {
    let best = -1;
    for (let s = 0; s < lists.length; s++) {
      const candidate = lists[s].matches[heads[s]];
      if (candidate && (best < 0 || before(candidate, lists[best].matches[heads[best]]))) best = s;
    }
    if (best < 0) break;
    const m = lists[best].matches[heads[best]++];
    if (seen.has(m.id)) continue;
    seen.add(m.id);
    out.push(
      m.meta === undefined
        ? { id: m.id, distance: m.distance, shard: lists[best].shard }
        : { id: m.id, distance: m.distance, shard: lists[best].shard, meta: m.meta },
    );
  }
  return out;
}
