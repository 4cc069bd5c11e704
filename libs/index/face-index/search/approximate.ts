/**
 * Approximate search (`search(..., { approximate: true })`) over the probed IVF lists:
 * per query its `probes` nearest lists (in list order), then the recent rows of those
 * lists, then the rows not assigned yet (`IvfLists.forProbedRows`). Three variants, by
 * what the index has:
 *  - `shortlisted`: the probed rows ranked on the pre-filter's 4-bit principal-axes
 *    codes, and only the best `shortlistRows` re-checked through the rows' kernel and
 *    given the exact distance (the default once the pre-filter is ready);
 *  - `filtered`: every probed row through the int8 pre-filter (option `shortlist: false`,
 *    or no ranking stage);
 *  - `rowScan`: every probed row through the rows' kernel (no pre-filter yet, or off).
 */
import { SCAN_BLOCK_ROWS } from '../../simd-kernel/index.js';
import { Reservoir, type TopK } from '../../topk/index.js';
import type { Int8Filter } from '../int8-filter.js';
import type { IvfLists } from '../ivf-lists.js';
import { SHORTLIST_AT_EFFORT_1 } from '../options.js';
import type { Prefilter } from '../prefilter.js';
import type { RowStore } from '../row-store.js';
import { filteredRange } from './filtered-range.js';
import { pushExact, scanRows } from './row-scan.js';
import type { ScanCounts } from './scan-counts.js';

/**
 * Probed lists scanned first, nearest first (the rest in memory order): their rows set
 * a tight shortlist cut-off early. Measured at 250,000 faces, shortlist 256: candidates
 * out of the kernel 2,322 -> 1,598 a query, time 0.44 -> 0.39 ms (0, 4, 8, 16 lists:
 * 8 best, 16 no better).
 */
const NEAREST_LISTS_FIRST = 8;
/** Shortlisted rows checked through the rows' kernel at a time (the k-th distance tightens between chunks). */
const RERANK_CHUNK_ROWS = 16;

export class ApproximateSearch {
  private readonly store: RowStore;
  private readonly ivfLists: IvfLists;
  private readonly prefilter: Prefilter;
  private readonly counts: ScanCounts;
  private readonly useShortlist: boolean;
  /** Rows in the shortlist at effort 1 (option `shortlistRows`). */
  private readonly shortlistRows: number;
  /** Approximate search: the rows with the best 4-bit rank values. */
  private readonly shortlist = new Reservoir(SHORTLIST_AT_EFFORT_1, SCAN_BLOCK_ROWS);

  constructor(store: RowStore, ivfLists: IvfLists, prefilter: Prefilter, counts: ScanCounts, useShortlist: boolean, shortlistRows: number) {
    this.store = store;
    this.ivfLists = ivfLists;
    this.prefilter = prefilter;
    this.counts = counts;
    this.useShortlist = useShortlist;
    this.shortlistRows = shortlistRows;
  }

  /**
   * The approximate k nearest rows of each query into its selector (reset by the
   * caller, each for `k` rows), through its `probes` nearest lists (probes > 0: there
   * are lists); a shortlist scales with `effort` and holds at least k rows.
   */
  run(queries: Float32Array, queryCount: number, selectors: TopK[], probes: number, effort: number, k: number): void {
    const filter = this.prefilter.filter;
    if (filter === undefined) this.rowScan(queries, queryCount, selectors, probes);
    else if (this.useShortlist && filter.ranks)
      this.shortlisted(filter, queries, queryCount, selectors, probes, Math.max(k, Math.ceil(effort * this.shortlistRows)));
    else this.filtered(filter, queries, queryCount, selectors, probes);
  }

  /**
   * Rows ranked by their 4-bit principal-axes value, and the best `shortlistRows`
   * pre-selected by the rows' kernel and, when they can still enter, given the exact
   * distance (so `maxDistance` holds as in exact search).
   */
  private shortlisted(filter: Int8Filter, queries: Float32Array, queryCount: number, selectors: TopK[], probes: number, shortlistRows: number): void {
    const store = this.store;
    const ivf = this.ivfLists.ivf!;
    const dims = store.dimensions;
    ivf.stage(queries);
    const lists = this.ivfLists.probeLists(probes);
    const shortlist = this.shortlist;
    const counts = this.counts;
    const rankRange = (start: number, end: number) => this.rankRange(filter, start, end);
    for (let q = 0; q < queryCount; q++) {
      const selector = selectors[q];
      const queryOffset = q * dims;
      filter.setQuery(queries, queryOffset);
      shortlist.reset(shortlistRows);
      const n = ivf.probe(q, probes, lists);
      ivf.nearestFirst(q, lists, n, NEAREST_LISTS_FIRST);
      this.ivfLists.forProbedRows(lists, n, rankRange);
      // Best rank values first, a few rows at a time through the rows' kernel: only rows
      // that can still enter get the exact distance.
      shortlist.finish();
      const held = shortlist.length;
      const out = filter.out;
      for (let from = 0; from < held; from += RERANK_CHUNK_ROWS) {
        const count = Math.min(RERANK_CHUNK_ROWS, held - from);
        for (let i = 0; i < count; i++) out[i] = shortlist.rowAt(from + i);
        const passed = filter.gather(count, selector.worst);
        counts.addCandidates(passed);
        pushExact(store, out, passed, queries, queryOffset, selector);
      }
    }
  }

  /** Rows [start, end) into the shortlist by their 4-bit rank value (the query set by `filter.setQuery`). */
  private rankRange(filter: Int8Filter, start: number, end: number): void {
    const shortlist = this.shortlist;
    const deleted = this.store.deleted;
    this.counts.addScanned(end - start);
    for (let block = start; block < end; block += SCAN_BLOCK_ROWS) {
      const n = filter.rank(block, Math.min(SCAN_BLOCK_ROWS, end - block), shortlist.limit);
      shortlist.addAll(filter.rankOut, filter.rankValues, n, deleted);
    }
  }

  /** Every probed row through the int8 pre-filter; probed rows are near the query, so its principal-axes stage is skipped (measured slower there). */
  private filtered(filter: Int8Filter, queries: Float32Array, queryCount: number, selectors: TopK[], probes: number): void {
    const { store, ivfLists, counts } = this;
    const ivf = ivfLists.ivf!;
    const dims = store.dimensions;
    ivf.stage(queries);
    const lists = ivfLists.probeLists(probes);
    for (let q = 0; q < queryCount; q++) {
      const selector = selectors[q];
      const queryOffset = q * dims;
      filter.setQuery(queries, queryOffset);
      const n = ivf.probe(q, probes, lists);
      ivfLists.forProbedRows(lists, n, (start, end) => filteredRange(store, filter, counts, start, end, queries, queryOffset, selector, false));
    }
  }

  /** Every probed row through the rows' kernel (`scanRows`). */
  private rowScan(queries: Float32Array, queryCount: number, selectors: TopK[], probes: number): void {
    const store = this.store;
    const ivf = this.ivfLists.ivf!;
    const dims = store.dimensions;
    ivf.stage(queries);
    const lists = this.ivfLists.probeLists(probes);
    for (let q = 0; q < queryCount; q++) {
      const selector = selectors[q];
      const n = ivf.probe(q, probes, lists);
      store.arena.setQuery(queries, q * dims);
      this.ivfLists.forProbedRows(lists, n, (start, end) => scanRows(store, start, end, queries, q * dims, selector));
    }
  }
}
