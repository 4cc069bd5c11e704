/**
 * Exact search (`search(...)` without `approximate`): every live row is considered and
 * the answer is the oracle's over the stored values. Two variants:
 *  - through the int8 pre-filter, once it is ready (`filtered`): with IVF lists, the
 *    nearest EXACT_FIRST_SHARE of them first (a small k-th distance early prunes the
 *    rest), then the other lists in row order, then the rows after them;
 *  - through the rows' kernel (`rowScan`): the rows a KD-tree covers through the tree
 *    (tree-cover.ts: only with strategy 'tree' or under 17 dimensions), every other row scanned.
 */
import type { TopK } from '../../topk/index.js';
import type { Int8Filter } from '../int8-filter.js';
import type { IvfLists } from '../ivf-lists.js';
import type { Prefilter } from '../prefilter.js';
import type { RowStore } from '../row-store.js';
import { filteredRange } from './filtered-range.js';
import { scanRows } from './row-scan.js';
import type { ScanCounts } from './scan-counts.js';
import type { TreeCover } from './tree-cover.js';

/** Exact search with IVF lists and the pre-filter: the nearest lists (this share of them) are scanned first, so the k-th distance is small before the other rows are. */
const EXACT_FIRST_SHARE = 1 / 32;

export class ExactSearch {
  private readonly store: RowStore;
  private readonly ivfLists: IvfLists;
  private readonly prefilter: Prefilter;
  private readonly counts: ScanCounts;

  constructor(store: RowStore, ivfLists: IvfLists, prefilter: Prefilter, counts: ScanCounts) {
    this.store = store;
    this.ivfLists = ivfLists;
    this.prefilter = prefilter;
    this.counts = counts;
  }

  /** The k nearest rows of each query into its selector (reset by the caller). */
  run(queries: Float32Array, queryCount: number, selectors: TopK[], tree: TreeCover | undefined): void {
    const filter = this.prefilter.filter;
    if (filter !== undefined) this.filtered(filter, queries, queryCount, selectors);
    else this.rowScan(queries, queryCount, selectors, tree);
  }

  private filtered(filter: Int8Filter, queries: Float32Array, queryCount: number, selectors: TopK[]): void {
    const { store, ivfLists, counts } = this;
    const ivf = ivfLists.ivf;
    const dims = store.dimensions;
    const { listStart, listedRows } = ivfLists;
    const rowCount = store.rowCount;
    if (ivf === undefined) {
      for (let q = 0; q < queryCount; q++) {
        filter.setQuery(queries, q * dims);
        filteredRange(store, filter, counts, 0, rowCount, queries, q * dims, selectors[q], true);
      }
      return;
    }
    const first = Math.min(ivf.lists, Math.max(1, Math.ceil(ivf.lists * EXACT_FIRST_SHARE)));
    ivf.stage(queries);
    const lists = ivfLists.probeLists(first);
    const mark = ivfLists.probeMarks();
    for (let q = 0; q < queryCount; q++) {
      const selector = selectors[q];
      const queryOffset = q * dims;
      filter.setQuery(queries, queryOffset);
      const n = ivf.probe(q, first, lists);
      // The nearest lists are near the query: both stages measured slower there (the prefix passes too many rows).
      for (let i = 0; i < n; i++) {
        const start = listStart[lists[i]];
        const end = listStart[lists[i] + 1];
        if (start < end) filteredRange(store, filter, counts, start, end, queries, queryOffset, selector, false);
      }
      for (let i = 0; i < n; i++) mark[lists[i]] = 1;
      // Every list not scanned yet, consecutive ones as one range; then every row after the lists.
      let runStart = -1;
      for (let l = 0; l < ivf.lists; l++) {
        if (mark[l] === 0) {
          if (runStart < 0) runStart = listStart[l];
        } else if (runStart >= 0) {
          filteredRange(store, filter, counts, runStart, listStart[l], queries, queryOffset, selector, true);
          runStart = -1;
        }
      }
      if (runStart >= 0) filteredRange(store, filter, counts, runStart, listedRows, queries, queryOffset, selector, true);
      if (listedRows < rowCount) filteredRange(store, filter, counts, listedRows, rowCount, queries, queryOffset, selector, true);
      for (let i = 0; i < n; i++) mark[lists[i]] = 0;
    }
  }

  private rowScan(queries: Float32Array, queryCount: number, selectors: TopK[], tree: TreeCover | undefined): void {
    const store = this.store;
    const dims = store.dimensions;
    const first = tree?.rows ?? 0;
    for (let q = 0; q < queryCount; q++) {
      tree?.search(queries, q * dims, selectors[q], store.deleted);
      if (store.rowCount > first) {
        store.arena.setQuery(queries, q * dims);
        scanRows(store, first, store.rowCount, queries, q * dims, selectors[q]);
      }
    }
  }
}
