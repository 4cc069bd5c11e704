/**
 * The last step of every search path: rows a kernel pre-selected get the exact float64
 * distance over their stored vector, and those within the query's current k-th enter
 * its selector (`pushExact`). And the exact scan of a range of rows without the
 * pre-filter (small indexes, the pre-filter off): a block at a time, the rows' kernel
 * keeps a superset of the rows that can be within the k-th distance (`scanRows`).
 */
import { INT16_GATHER_ROWS } from '../../simd-kernel/index.js';
import type { TopK } from '../../topk/index.js';
import type { RowStore } from '../row-store.js';

/** The live rows of list[0..n) get the exact distance to queries[queryOffset..]; those within the selector's k-th enter it. */
export function pushExact(store: RowStore, list: Int32Array, n: number, queries: Float32Array, queryOffset: number, selector: TopK): void {
  const deleted = store.deleted;
  let worst = selector.worst;
  for (let i = 0; i < n; i++) {
    const row = list[i];
    if (deleted[row] !== 0) continue;
    const distance = store.distanceWithin(row, queries, queryOffset, worst);
    if (distance <= worst) {
      selector.push(row, distance);
      worst = selector.worst;
    }
  }
}

/** Rows [start, end) for one query through the rows' kernel; the query must be set first (`store.arena.setQuery`). */
export function scanRows(store: RowStore, start: number, end: number, queries: Float32Array, queryOffset: number, selector: TopK): void {
  const arena = store.arena;
  for (let block = start; block < end; block += INT16_GATHER_ROWS) {
    const kept = arena.gatherRange(block, Math.min(INT16_GATHER_ROWS, end - block), selector.worst);
    pushExact(store, arena.list, kept, queries, queryOffset, selector);
  }
}
