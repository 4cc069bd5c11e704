/** One shard's page of a listing: entries in key order, and whether entries past the last one pass too. */
export interface ShardPage<T> {
  items: readonly T[];
  more: boolean;
}

/**
 * Merges shard pages of a listing into one page of at most `limit` entries in key order.
 * A shard that has more stops the merged page at its last key (past it, entries of that
 * shard are unknown), so the next page, asked from the cursor `next`, misses nothing and
 * repeats nothing. Equal keys from several shards are `combine`d (persons' counts add up);
 * without `combine`, keys are unique across shards (face ids: each lives on one shard).
 */
export function mergePages<T>(
  pages: readonly ShardPage<T>[],
  keyOf: (item: T) => string,
  limit: number,
  combine: (a: T, b: T) => T = (a) => a,
): { items: T[]; next?: string } {
  let bound: string | undefined;
  for (const page of pages) {
    const last = page.items[page.items.length - 1];
    if (page.more && last !== undefined && (bound === undefined || keyOf(last) < bound)) bound = keyOf(last);
  }
  const byKey = new Map<string, T>();
  for (const page of pages) {
    for (const item of page.items) {
      const key = keyOf(item);
      if (bound !== undefined && key > bound) break; // a page is in key order
      const seen = byKey.get(key);
      byKey.set(key, seen === undefined ? item : combine(seen, item));
    }
  }
  const keys = [...byKey.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const items = keys.slice(0, limit).map((key) => byKey.get(key)!);
  const more = bound !== undefined || keys.length > limit;
  return more && items.length ? { items, next: keyOf(items[items.length - 1]) } : { items };
}
