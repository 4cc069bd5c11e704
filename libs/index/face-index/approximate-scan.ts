/**
 * Approximate search (`search(..., { approximate: true })`) over the probed IVF lists:
 * with the pre-filter's principal-axes codes, a shortlist ranked on them and re-checked
 * (`shortlistScan`); without the pre-filter, the rows' kernel on every probed row (`rowScan`). The third
 * path, every probed row through the int8 pre-filter (option `shortlist: false`, or no
 * ranking stage), is `Prefilter.scan`.
 */
import { SCAN_BLOCK_ROWS } from '../simd-kernel/index.js';
import { Reservoir, type TopK } from '../topk/index.js';
import type { IvfLists } from './ivf-lists.js';
import { SHORTLIST_AT_EFFORT_1 } from './options.js';
import type { Prefilter } from './prefilter.js';
import type { RowStore } from './row-store.js';
import { pushExact, scanRows } from './row-scan.js';

/**
 * Probed lists scanned first, nearest first (the rest in memory order): their rows set
 * a tight shortlist cut-off early. Measured at 250,000 faces, shortlist 256: candidates
 * out of the kernel 2,322 -> 1,598 a query, time 0.44 -> 0.39 ms (0, 4, 8, 16 lists:
 * 8 best, 16 no better).
 */
const NEAREST_LISTS_FIRST = 8;
/** Shortlisted rows checked through the rows' kernel at a time (the k-th distance tightens between chunks). */
const RERANK_CHUNK_ROWS = 16;

export class ApproximateScan {
  private readonly store: RowStore;
  private readonly ivfLists: IvfLists;
  /** Counts the rows examined (stats). */
  private readonly prefilter: Prefilter;
  private readonly useShortlist: boolean;
  /** Rows in the shortlist at effort 1 (option `shortlistRows`). */
  readonly shortlistRows: number;
  /** Approximate search: the rows with the best 4-bit rank values. */
  private readonly shortlist = new Reservoir(SHORTLIST_AT_EFFORT_1, SCAN_BLOCK_ROWS);

  constructor(store: RowStore, ivfLists: IvfLists, prefilter: Prefilter, useShortlist: boolean, shortlistRows: number) {
    this.store = store;
    this.ivfLists = ivfLists;
    this.prefilter = prefilter;
    this.useShortlist = useShortlist;
    this.shortlistRows = shortlistRows;
  }

  /** Whether `shortlistScan` can run now (the option is on and the pre-filter is ready and ranks). */
  get canShortlist(): boolean {
    const filter = this.prefilter.filter;
    return this.useShortlist && filter !== undefined && filter.ranks;
  }

  /**
   * Approximate search through the principal-axes codes: per query, the rows of its
   * `probes` nearest lists (then the recent rows of those lists, then the rows not
   * assigned yet) ranked by their 4-bit principal-axes value, and the best
   * `shortlistRows` pre-selected by the rows' kernel and, when they can still
   * enter, given the exact distance (so `maxDistance` holds as in exact search).
   */
  shortlistScan(queries: Float32Array, queryCount: number, selectors: TopK[], probes: number, shortlistRows: number): void {
    const store = this.store;
    const filter = this.prefilter.filter!;
    const ivf = this.ivfLists.ivf!;
    const dims = store.dimensions;
    ivf.stage(queries);
    const lists = this.ivfLists.probeLists(probes);
    const shortlist = this.shortlist;
    const prefilter = this.prefilter;
    const rankRange = (start: number, end: number) => this.rankRange(start, end);
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
        prefilter.candidates += passed;
        pushExact(store, out, passed, queries, queryOffset, selector);
      }
    }
  }

  /** Rows [start, end) into the shortlist by their 4-bit rank value (the query set by `filter.setQuery`). */
  private rankRange(start: number, end: number): void {
    const filter = this.prefilter.filter!;
    const shortlist = this.shortlist;
    const deleted = this.store.deleted;
    this.prefilter.scanned += end - start;
    for (let block = start; block < end; block += SCAN_BLOCK_ROWS) {
      const n = filter.rank(block, Math.min(SCAN_BLOCK_ROWS, end - block), shortlist.limit);
      shortlist.addAll(filter.rankOut, filter.rankValues, n, deleted);
    }
  }

  /**
   * Without the pre-filter, through the rows' kernel (`scanRows`).
   * Each query: its `probes` nearest lists (in list order), then the rows not yet listed.
   */
  rowScan(queries: Float32Array, queryCount: number, selectors: TopK[], probes: number): void {
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
