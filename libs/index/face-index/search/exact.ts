/**
 * Exact search (`search(...)` without `approximate`): every live row is considered and
 * the answer is the oracle's over the stored values. Two variants:
 *  - through the int8 pre-filter, once it is ready (`filtered`): with IVF lists, the
 *    nearest EXACT_FIRST_SHARE of them first (a small k-th distance early prunes the
 *    rest), then the other lists in row order, then the rows after them; past the
 *    nearest lists, chunk by chunk for all the search's queries (EXACT_CHUNK_ROWS);
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
/**
 * Past the nearest lists, exact search scans the rows in chunks of about this many, each
 * chunk for every query of the search in turn: a chunk's codes (48 prefix bytes a row:
 * ~390 KB) stay in cache across the queries, where a query at a time read the whole
 * shard's codes from memory once per query.
 */
const EXACT_CHUNK_ROWS = 8192;

export class ExactSearch {
  private readonly store: RowStore;
  private readonly ivfLists: IvfLists;
  private readonly prefilter: Prefilter;
  private readonly counts: ScanCounts;
  /** Which query the filter holds (`stage`); -1 at the start of a search. */
  private stagedQuery = -1;
  /** Scratch: a mark per (query, list) scanned in the nearest-lists stage. */
  private scanned = new Uint8Array(0);

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
    this.stagedQuery = -1;
    if (ivf === undefined) {
      this.chunkedRows(filter, queries, queryCount, selectors, 0, rowCount);
      return;
    }
    const lists = ivf.lists;
    const first = Math.min(lists, Math.max(1, Math.ceil(lists * EXACT_FIRST_SHARE)));
    ivf.stage(queries);
    const probed = ivfLists.probeLists(first);
    const scanned = this.scannedMarks(queryCount * lists);
    // Each query's nearest lists first, alone: they differ from query to query.
    for (let q = 0; q < queryCount; q++) {
      this.stage(filter, queries, q);
      const n = ivf.probe(q, first, probed);
      // The nearest lists are near the query: both stages measured slower there (the prefix passes too many rows).
      for (let i = 0; i < n; i++) {
        const list = probed[i];
        const start = listStart[list];
        const end = listStart[list + 1];
        if (start < end) filteredRange(store, filter, counts, start, end, queries, q * dims, selectors[q], false);
        scanned[q * lists + list] = 1;
      }
    }
    // Then every list in row order, a chunk of them for every query in turn: the chunk's
    // codes are read from memory once for all the queries, not once each.
    let chunkFirst = 0;
    while (chunkFirst < lists) {
      let chunkEnd = chunkFirst + 1;
      while (chunkEnd < lists && listStart[chunkEnd + 1] - listStart[chunkFirst] <= EXACT_CHUNK_ROWS) chunkEnd++;
      for (let q = 0; q < queryCount; q++) this.unscannedLists(filter, queries, q, selectors[q], scanned, q * lists, chunkFirst, chunkEnd);
      chunkFirst = chunkEnd;
    }
    // Then every row after the lists.
    this.chunkedRows(filter, queries, queryCount, selectors, listedRows, rowCount);
    scanned.fill(0, 0, queryCount * lists);
  }

  /** Rows [start, end), far from the queries, a chunk of EXACT_CHUNK_ROWS for every query in turn. */
  private chunkedRows(filter: Int8Filter, queries: Float32Array, queryCount: number, selectors: TopK[], start: number, end: number): void {
    const { store, counts } = this;
    const dims = store.dimensions;
    for (let chunk = start; chunk < end; chunk += EXACT_CHUNK_ROWS) {
      const chunkEnd = Math.min(end, chunk + EXACT_CHUNK_ROWS);
      for (let q = 0; q < queryCount; q++) {
        this.stage(filter, queries, q);
        filteredRange(store, filter, counts, chunk, chunkEnd, queries, q * dims, selectors[q], true);
      }
    }
  }

  /** Lists [firstList, endList) that query q has not scanned yet (its marks at scanned[marks + list]), consecutive ones as one range. */
  private unscannedLists(
    filter: Int8Filter,
    queries: Float32Array,
    q: number,
    selector: TopK,
    scanned: Uint8Array,
    marks: number,
    firstList: number,
    endList: number,
  ): void {
    const { store, counts } = this;
    const listStart = this.ivfLists.listStart;
    const queryOffset = q * store.dimensions;
    let runStart = -1;
    for (let l = firstList; l < endList; l++) {
      if (scanned[marks + l] === 0) {
        if (runStart < 0) runStart = listStart[l];
      } else if (runStart >= 0) {
        this.stage(filter, queries, q);
        filteredRange(store, filter, counts, runStart, listStart[l], queries, queryOffset, selector, true);
        runStart = -1;
      }
    }
    if (runStart >= 0 && runStart < listStart[endList]) {
      this.stage(filter, queries, q);
      filteredRange(store, filter, counts, runStart, listStart[endList], queries, queryOffset, selector, true);
    }
  }

  /** Codes query q for the filter unless it is the one coded last (one query: once a search). */
  private stage(filter: Int8Filter, queries: Float32Array, q: number): void {
    if (this.stagedQuery === q) return;
    filter.setQuery(queries, q * this.store.dimensions);
    this.stagedQuery = q;
  }

  /** A mark per (query, list), all 0 (the search puts them back to 0). */
  private scannedMarks(length: number): Uint8Array {
    if (this.scanned.length < length) this.scanned = new Uint8Array(length);
    return this.scanned;
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
