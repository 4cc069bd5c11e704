/**
 * FaceIndex's int8 pre-filter wiring (option `prefilter`; the codes and kernels are
 * int8-filter.ts): when the filter is created, learned and learned again, and coding each
 * new row. Searches take the filter from here once it is `ready` (search/). The filter's code arenas are attached to the RowStore as columns, so row moves carry
 * its codes.
 */
import { Int8Filter } from './int8-filter.js';
import { runToEnd } from '../stepwise/index.js';
import type { RowStore } from './row-store.js';
import type { FaceIndexPrefilterState } from './options.js';

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
/** Rows coded a maintenance step in `learnSteps` (~3 us a row: ~12 ms). */
const LEARN_STEP_ROWS = 4096;
/**
 * Rows, spread over the index, that `adopt` codes again and compares with the codes it
 * was given: codes that do not belong to these rows (or these parameters) are refused.
 */
const ADOPT_CHECKED_ROWS = 1024;

export class Prefilter {
  private readonly store: RowStore;
  /** Set when the pre-filter is on: it is created (wasm memories and all) once FILTER_MIN_ROWS faces are held. */
  private readonly options: { axes: number | undefined } | undefined;
  /** A learning in steps (`learnSteps`) is under way. */
  private learning = false;
  /** Created once the index first holds FILTER_MIN_ROWS faces (with the option on). */
  private int8Filter: Int8Filter | undefined;

  constructor(store: RowStore, options: { axes: number | undefined } | undefined) {
    this.store = store;
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
   * The filter's parameters and the codes of the store's live rows (`liveRows`: the
   * store's rows in the order they are exported), when it is ready; else undefined.
   */
  exportState(liveRows: Int32Array): FaceIndexPrefilterState | undefined {
    const filter = this.filter;
    const parameters = filter?.exportParameters();
    if (filter === undefined || parameters === undefined) return undefined;
    const faces = liveRows.length;
    const state: FaceIndexPrefilterState = {
      ...parameters,
      codes: new Int8Array(faces * parameters.codeDims),
      residuals: new Float32Array(faces),
      rankCodes: new Uint8Array((faces * parameters.rankAxes) / 2),
    };
    filter.readCodes(liveRows, state);
    return state;
  }

  /**
   * Takes a state from `exportState` for the store's rows 0..faces-1 (just adopted from
   * the same export): the parameters, every row's codes, then ADOPT_CHECKED_ROWS rows
   * coded again to check them. True when the filter is ready with them; false (the
   * filter not ready: learn it) when there is none, it is off, or the state does not fit.
   */
  adopt(state: FaceIndexPrefilterState | undefined, faces: number): boolean {
    if (this.options === undefined || state === undefined || this.store.size < FILTER_MIN_ROWS) return false;
    const { codeDims, rankAxes } = state;
    if (state.codes.length !== faces * codeDims || state.residuals.length !== faces || state.rankCodes.length !== (faces * rankAxes) / 2) return false;
    for (let i = 0; i < faces; i++) if (!(state.residuals[i] >= 0 && state.residuals[i] < Infinity)) return false;
    const filter = this.int8Filter ?? this.createFilter();
    filter.invalidate();
    try {
      filter.importParameters(state);
    } catch {
      return false;
    }
    filter.writeCodes(state, faces);
    const step = Math.max(1, Math.floor(faces / ADOPT_CHECKED_ROWS));
    for (let row = 0; row < faces; row += step) {
      if (!filter.rowCodesMatch(this.store, row)) {
        filter.invalidate();
        return false;
      }
    }
    filter.codesComplete();
    return true;
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
}
