/** Room a page keeps for its reply's other fields (cursor, flags, shard numbers). */
const PAGE_OVERHEAD_BYTES = 2048;

/**
 * How many of `items` (in order) fit one message of `budget` body bytes as JSON, at least
 * one: a listing page is cut here, and its cursor says where the next one starts.
 */
export function itemsWithinBytes(items: readonly unknown[], budget: number): number {
  let bytes = PAGE_OVERHEAD_BYTES;
  for (let i = 0; i < items.length; i++) {
    bytes += Buffer.byteLength(JSON.stringify(items[i]), 'utf8') + 1;
    if (bytes > budget) return Math.max(1, i);
  }
  return items.length;
}
