/**
 * One range of rows for one query through the int8 pre-filter (int8-filter.ts): the
 * rows whose lower bound can beat the current k-th distance get the exact distance.
 * Exact search uses it for every row, approximate search (without the shortlist) for
 * the probed rows.
 */
import { SCAN_BLOCK_ROWS } from '../../simd-kernel/index.js';
import type { TopK } from '../../topk/index.js';
import type { Int8Filter } from '../int8-filter.js';
import type { RowStore } from '../row-store.js';
import { pushExact } from './row-scan.js';
import type { ScanCounts } from './scan-counts.js';

/**
 * Rows [start, end) for the query (set first: `filter.setQuery`). `far`: rows mostly far
 * from the query (exact search past the nearest lists), where the principal-axes stage
 * pays; near rows go to the rows' kernel at once.
 */
export function filteredRange(
  store: RowStore,
  filter: Int8Filter,
  counts: ScanCounts,
  start: number,
  end: number,
  queries: Float32Array,
  queryOffset: number,
  selector: TopK,
  far: boolean,
): void {
  const deleted = store.deleted;
  let worst = selector.worst;
  counts.addScanned(end - start);
  // Until k rows are held nothing can be pruned: take rows as they come.
  while (worst === Infinity && start < end) {
    if (deleted[start] === 0) {
      selector.push(start, store.distanceWithin(start, queries, queryOffset, Infinity));
      worst = selector.worst;
    }
    start++;
  }
  for (let block = start; block < end; block += SCAN_BLOCK_ROWS) {
    const n = filter.candidates(block, Math.min(SCAN_BLOCK_ROWS, end - block), selector.worst, far);
    counts.addCandidates(n);
    pushExact(store, filter.out, n, queries, queryOffset, selector);
  }
}
