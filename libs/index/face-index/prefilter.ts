/**
 * FaceIndex's int8 pre-filter wiring (option `prefilter`; the codes and kernels are
 * int8-filter.ts): when the filter is created, learned and learned again, coding each
 * new row, and the searches through it (exact, and approximate without the shortlist).
 * The filter's code arenas are attached to the RowStore as columns, so row moves carry
 * its codes.
 */
import type { TopK } from '../topk/index.js';
import { SCAN_BLOCK_ROWS } from '../simd-kernel/index.js';
import { Int8Filter } from './int8-filter.js';
import { runToEnd } from '../stepwise/index.js';
import { pushExact } from './row-scan.js';
import type { IvfLists } from './ivf-lists.js';
import type { RowStore } from './row-store.js';

/** The int8 pre-filter learns its offset and scale once the index holds this many faces. */
const FILTER_MIN_ROWS = 1024;
/**
 * ... and learns them again (re-encoding every row) when a write finds the index grew
 * this much since, up to FILTER_RELEARN_MAX_ROWS rows (learning takes ~50-150 ms and
 * re-encoding ~3 us a row: too much for one write beyond that). `rebuild()`, `importState` and
 * `resumeMaintenance()` learn again when the index doubled since parameters learned on
 * fewer than FILTER_RELEARN_MAX_ROWS / 4 rows (the samples are capped: more rows teach
 * little more). A bulk load (maintenance paused) learns nothing until it ends, then
 * once on every row, in maintenance steps (`learnSteps`).
 * Parameters learned on an unrepresentative start only weaken the pre-filter; answers
 * stay exact.
 */
const FILTER_RELEARN_GROWTH = 16;
const FILTER_RELEARN_MAX_ROWS = 65_536;
/**
 * Exact search with IVF lists and the pre-filter: the nearest lists (this share of
 * them) are scanned first, so the k-th distance is small before the other rows are.
 */
const EXACT_FIRST_SHARE = 1 / 32;
/** Rows coded a maintenance step in `learnSteps` (~3 us a row: ~12 ms). */
const LEARN_STEP_ROWS = 4096;

export class Prefilter {
  private readonly store: RowStore;
  private readonly ivfLists: IvfLists;
  /** Set when the pre-filter is on: it is created (wasm memories and all) once FILTER_MIN_ROWS faces are held. */
  private readonly options: { axes: number | undefined } | undefined;
  /** Rows the pre-filter examined, all searches so far (stats().prefilterScanned). */
  scanned = 0;
  /** ... and of those, the rows it passed on to the exact distance (stats().prefilterCandidates). */
  candidates = 0;
  /** A learning in steps (`learnSteps`) is under way. */
  private learning = false;
  /** Created once the index first holds FILTER_MIN_ROWS faces (with the option on). */
  private int8Filter: Int8Filter | undefined;

  constructor(store: RowStore, ivfLists: IvfLists, options: { axes: number | undefined } | undefined) {
    this.store = store;
    this.ivfLists = ivfLists;
    this.options = options;
  }

  /** Whether searches run through the pre-filter now. */
  get ready(): boolean {
    return this.int8Filter?.ready ?? false;
  }

  /** The filter when searches may use it (`ready`). */
  get filter(): Int8Filter | undefined {
    return this.int8Filter?.ready ? this.int8Filter : undefined;
  }

  /** Bytes of the filter's codes (0 before it exists). */
  get bytes(): number {
    return this.int8Filter?.bytes ?? 0;
  }

  /**
   * A row was appended: its codes, and a first learning (or a relearning) when due.
   * `deferLearning` (a bulk load, or maintenance steps under way): no learning now; the
   * maintenance steps that follow learn once, on every row (`learnSteps`), and code the
   * rows appended meanwhile themselves.
   */
  rowAdded(row: number, deferLearning: boolean): void {
    if (this.options === undefined) return;
    const filter = this.int8Filter;
    if (filter?.ready) filter.encodeRows(this.store, row, row + 1);
    if (deferLearning || this.learning) return;
    this.refreshWhenDue(false);
  }

  /** Every row was replaced (import): the codes are stale until the next learning. */
  invalidate(): void {
    this.int8Filter?.invalidate();
  }

  /**
   * Whether a learning is due: the filter has none and the index reached
   * FILTER_MIN_ROWS; or it grew FILTER_RELEARN_GROWTH times since (a write: `explicit`
   * false; small indexes only), or doubled (rebuild, import, the end of a bulk load:
   * `explicit`). Below FILTER_MIN_ROWS the filter is off (`refreshWhenDue` turns it off).
   */
  learnDue(explicit: boolean): boolean {
    if (this.options === undefined || this.learning) return false;
    const live = this.store.size;
    if (live < FILTER_MIN_ROWS) return false;
    const filter = this.int8Filter;
    if (filter === undefined || !filter.ready) return true;
    return explicit
      ? live >= filter.learnedRows * 2 && filter.learnedRows < FILTER_RELEARN_MAX_ROWS / 4
      : live >= filter.learnedRows * FILTER_RELEARN_GROWTH && live <= FILTER_RELEARN_MAX_ROWS;
  }

  /** Learns the pre-filter's parameters and codes every row, at once (`learnSteps` run to its end), when `learnDue(explicit)`. */
  refreshWhenDue(explicit: boolean): void {
    if (this.options === undefined) return;
    const store = this.store;
    if (store.size < FILTER_MIN_ROWS) {
      if (explicit) this.int8Filter?.invalidate();
      return;
    }
    runToEnd(this.learnSteps(explicit));
  }

  /**
   * The same learning as maintenance steps, when `learnDue(explicit)` (after a bulk
   * load: ~1 s of coding for 250,000 rows): learn (`Int8Filter.learnSteps`), then code
   * LEARN_STEP_ROWS rows a step, the rows appended meanwhile included; searches skip the
   * filter until every row has codes.
   * Rows must not move while it runs (the maintenance job's rule).
   */
  *learnSteps(explicit = true): Generator<void, void, void> {
    if (!this.learnDue(explicit)) return;
    const store = this.store;
    const filter = this.int8Filter ?? this.createFilter();
    filter.invalidate();
    this.learning = true;
    try {
      yield;
      yield* filter.learnSteps(store, store.rowCount);
      let coded = 0;
      while (coded < store.rowCount) {
        yield;
        const end = Math.min(store.rowCount, coded + LEARN_STEP_ROWS);
        filter.encodeRows(store, coded, end);
        coded = end;
      }
      filter.codesComplete();
    } finally {
      this.learning = false;
    }
  }

  /** The filter, its code arenas attached to the store (grown to its capacity). */
  private createFilter(): Int8Filter {
    const store = this.store;
    const filter = new Int8Filter(store.dimensions, store.capacity, store.arena, this.options!.axes);
    for (const column of filter.columns) store.attach(column);
    this.int8Filter = filter;
    return filter;
  }

  /**
   * Search through the int8 pre-filter, one query at a time. probes > 0 (approximate):
   * the probed lists, then the recent rows of those lists, then the rows
   * not assigned yet, as `ApproximateScan.rowScan`. probes = 0 (exact): every row once; with
   * IVF lists the nearest EXACT_FIRST_SHARE of them first (a small k-th distance
   * early prunes the rest), then the other lists in row order, then the rows after them.
   */
  scan(queries: Float32Array, queryCount: number, selectors: TopK[], probes: number): void {
    const store = this.store;
    const ivfLists = this.ivfLists;
    const filter = this.int8Filter!;
    const ivf = ivfLists.ivf;
    const dims = store.dimensions;
    const { listStart, listedRows } = ivfLists;
    const rowCount = store.rowCount;
    const first = ivf === undefined ? 0 : probes > 0 ? probes : Math.min(ivf.lists, Math.max(1, Math.ceil(ivf.lists * EXACT_FIRST_SHARE)));
    let lists: Int32Array | undefined;
    let mark: Uint8Array | undefined;
    if (ivf !== undefined) {
      ivf.stage(queries);
      lists = ivfLists.probeLists(first);
      mark = ivfLists.probeMarks();
    }
    for (let q = 0; q < queryCount; q++) {
      const selector = selectors[q];
      const queryOffset = q * dims;
      filter.setQuery(queries, queryOffset);
      if (ivf === undefined) {
        this.range(0, rowCount, queries, queryOffset, selector, true);
        continue;
      }
      const n = ivf.probe(q, first, lists!);
      if (probes > 0) {
        // Probed lists are near the query: both stages measured slower there (the prefix passes too many rows).
        ivfLists.forProbedRows(lists!, n, (start, end) => this.range(start, end, queries, queryOffset, selector, false));
        continue;
      }
      for (let i = 0; i < n; i++) {
        const start = listStart[lists![i]];
        const end = listStart[lists![i] + 1];
        if (start < end) this.range(start, end, queries, queryOffset, selector, false);
      }
      for (let i = 0; i < n; i++) mark![lists![i]] = 1;
      // Every list not scanned yet, consecutive ones as one range; then every row after the lists.
      let runStart = -1;
      for (let l = 0; l < ivf.lists; l++) {
        if (mark![l] === 0) {
          if (runStart < 0) runStart = listStart[l];
        } else if (runStart >= 0) {
          this.range(runStart, listStart[l], queries, queryOffset, selector, true);
          runStart = -1;
        }
      }
      if (runStart >= 0) this.range(runStart, listedRows, queries, queryOffset, selector, true);
      if (listedRows < rowCount) this.range(listedRows, rowCount, queries, queryOffset, selector, true);
      for (let i = 0; i < n; i++) mark![lists![i]] = 0;
    }
  }

  /**
   * Rows [start, end) for one query through the pre-filter: candidates get the exact
   * distance. `far`: rows mostly far from the query (exact search past the nearest
   * lists), where the principal-axes stage pays; near rows go to the rows' kernel at once.
   */
  private range(start: number, end: number, queries: Float32Array, queryOffset: number, selector: TopK, far: boolean): void {
    const store = this.store;
    const filter = this.int8Filter!;
    const deleted = store.deleted;
    let worst = selector.worst;
    this.scanned += end - start;
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
      this.candidates += n;
      pushExact(store, filter.out, n, queries, queryOffset, selector);
    }
  }
}
