/**
 * Exact scan of a range of rows for one query without the pre-filter (small indexes,
 * the pre-filter off): a block at a time, the rows' kernel keeps a superset of the rows
 * whose stored vector can be within the query's current k-th distance, and those get
 * the exact float64 distance. The query must be set first (`store.arena.setQuery`).
 */
import { INT16_GATHER_ROWS } from '../simd-kernel/int16.js';
import type { TopK } from '../topk/index.js';
import type { RowStore } from './row-store.js';

export function scanRows(store: RowStore, start: number, end: number, queries: Float32Array, queryOffset: number, selector: TopK): void {
  const arena = store.arena;
  const deleted = store.deleted;
  for (let block = start; block < end; block += INT16_GATHER_ROWS) {
    const kept = arena.gatherRange(block, Math.min(INT16_GATHER_ROWS, end - block), selector.worst);
    const list = arena.list;
    for (let i = 0; i < kept; i++) {
      const row = list[i];
      if (deleted[row] !== 0) continue;
      const worst = selector.worst;
      const distance = store.distanceWithin(row, queries, queryOffset, worst);
      if (distance <= worst) selector.push(row, distance);
    }
  }
}
