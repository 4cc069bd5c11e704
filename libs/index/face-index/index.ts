/**
 * What one shard holds: faces (id, 128-d vector, optional meta) and exact k-NN search.
 *
 * Rows live in one growable array of int16 codes at a fixed scale (row-store.ts: a
 * vector is stored rounded to a multiple of 2^-14, so components must be within
 * ±1.99994; searches are exact over the stored values). With the KD-tree strategy
 * (search/tree-cover.ts: strategy 'tree', or 'auto' up to TREE_MAX_DIMENSIONS) the rows
 * a tree covers are searched through it; in 128 dimensions the tree prunes too little to
 * beat a flat scan, so by default there is no tree, and the lists of approximate search
 * are k-means lists (a KD-tree over principal axes as lists, `approximate.partition`
 * 'kdtree', measured slower at the same recall: bench/results/partition.md). Replacing
 * or deleting a face only flags its row; `rebuild` compacts flagged rows away.
 *
 * With IVF lists (approximate search) the rows are, in order:
 *   0..listedRows-1              sorted by list (list l = listStart[l]..listStart[l+1]-1)
 *   listedRows..assignedRows-1   recent rows, each assigned to a list (rowList), unsorted
 *   assignedRows..rowCount-1     at most a batch of rows not assigned yet
 * Writes append; every ANN_ASSIGN_BATCH rows are assigned; past ANN_FOLD_FRACTION of
 * growth the recent rows are merged into the sorted lists (memmove, no training);
 * training and retraining (ANN_RETRAIN_GROWTH) run in small steps (`maintenanceStep`)
 * while the current lists keep serving. `exportState`/`importState` carry all of it
 * (a snapshot loads without training or sorting). Ids map to stable slots, so moving
 * rows never touches the id Map.
 *
 * Pre-filter (option `prefilter`, on by default with WebAssembly SIMD): past
 * FILTER_MIN_ROWS faces every row also has int8 codes on its principal axes in a second
 * wasm memory (int8-filter.ts), kept in row order with the rows (upsert, compaction,
 * merges and sorts move them together). Searches scan those codes for a lower bound of
 * each row's distance, the rows' own kernel checks the rows that pass, and only rows
 * that can beat the current k-th get the exact float64 distance: results are identical
 * to the oracle's over the stored values. Exact searches with IVF lists take the nearest lists first, so the
 * k-th distance is small early.
 *
 * Files: options.ts (public types, defaults), row-store.ts (the rows, their columns and
 * ids; every row move), ivf-lists.ts (the IVF layout and its maintenance),
 * maintenance-rule.ts (when maintenance runs: counts in, actions out), maintenance-job.ts
 * (training in steps), prefilter.ts (the pre-filter's life), search/exact.ts and
 * search/approximate.ts (each search and its variants, ending in search/row-scan.ts),
 * state.ts (export/import), nearest-faces.ts (the interface this index and
 * brute-force.ts, the oracle, share). This file is the public entry point: FaceIndex
 * holds them together and carries out the maintenance the rule calls for.
 */
import { TopK } from '../topk/index.js';
import { Int8Filter } from './int8-filter.js';
import { IvfLists } from './ivf-lists.js';
import { JOB_SLICE_MS, MaintenanceJob } from './maintenance-job.js';
import { nextMaintenance, type MaintenanceAction, type MaintenanceCounts, type MaintenanceOccasion } from './maintenance-rule.js';
import {
  DEFAULT_ANN_MIN_ROWS,
  DEFAULT_LISTS_PER_SQRT_ROW,
  DEFAULT_DELTA_LIMIT,
  DEFAULT_DIMENSIONS,
  DEFAULT_LEAF_SIZE,
  SHORTLIST_AT_EFFORT_1,
  TREE_MAX_DIMENSIONS,
  type FaceIndexOptions,
  type FaceIndexState,
  type FaceIndexStats,
  type Neighbor,
  type SearchOptions,
  type IdFilter,
  type ListedFace,
} from './options.js';
import { checkSearchArguments, type NearestFaces } from './nearest-faces.js';
import { Prefilter } from './prefilter.js';
import { RowStore } from './row-store.js';
import { ApproximateSearch } from './search/approximate.js';
import { ExactSearch } from './search/exact.js';
import { ScanCounts } from './search/scan-counts.js';
import { TreeCover } from './search/tree-cover.js';
import { checkState, exportState } from './state.js';

export { squaredDistance } from '../exact-distance/index.js';
export { BruteForceIndex, bruteForceSearch } from './brute-force.js';
export type { NearestFaces } from './nearest-faces.js';
export { storedVector } from './row-store.js';
export type {
  ApproximateOptions,
  FaceIndexIvfState,
  FaceIndexOptions,
  FaceIndexPrefilterState,
  FaceIndexState,
  FaceIndexStats,
  IdFilter,
  ListedFace,
  Neighbor,
  SearchOptions,
  SearchStrategy,
} from './options.js';

/**
 * Squared-distance bound for a `maxDistance` filter, a hair loose so the final
 * `Math.sqrt(d) <= maxDistance` check (the one the oracle uses) decides the edge cases.
 */
const MAX_DISTANCE_SLACK = 1e-12;

export class FaceIndex implements NearestFaces {
  readonly dimensions: number;
  private readonly deltaLimit: number;
  /** Whether tree rows are searched through a KD-tree (else everything is flat-scanned). */
  private readonly usesTree: boolean;

  /** Vectors, ids, metas, slots, deleted flags, IVF list and pre-filter codes of every row. */
  private readonly store: RowStore;
  /** The KD-tree strategy's tree, when this index uses one (usesTree). */
  private readonly treeCover: TreeCover | undefined;
  /** One selector per query of a batch, reused across calls. */
  private readonly selectors: TopK[] = [];
  private readonly ivfLists: IvfLists;
  /** IVF training in steps, and the maintenance pause. */
  private readonly job: MaintenanceJob;
  private readonly prefilter: Prefilter;
  private readonly exact: ExactSearch;
  private readonly approximate: ApproximateSearch;
  /** Rows the searches examined through the pre-filter, and those that got the exact distance (stats). */
  private readonly scanCounts = new ScanCounts();
  /** Refilled for the maintenance rule before each decision (`readCounts`). */
  private readonly counts: MaintenanceCounts = {
    paused: false,
    jobPending: false,
    usesTree: false,
    rowCount: 0,
    deletedRows: 0,
    live: 0,
    treeRows: 0,
    deltaLimit: 0,
    minRows: 0,
    hasLists: false,
    trainedRows: 0,
    listedRows: 0,
    assignedRows: 0,
    prefilterLearnDue: false,
  };

  constructor(options: FaceIndexOptions = {}) {
    const dimensions = options.dimensions ?? DEFAULT_DIMENSIONS;
    const leafSize = options.leafSize ?? DEFAULT_LEAF_SIZE;
    const deltaLimit = options.deltaLimit ?? DEFAULT_DELTA_LIMIT;
    if (!Number.isInteger(dimensions) || dimensions < 1) throw new RangeError(`dimensions must be a positive integer, got ${dimensions}`);
    if (!Number.isInteger(leafSize) || leafSize < 2) throw new RangeError(`leafSize must be an integer >= 2, got ${leafSize}`);
    if (!Number.isInteger(deltaLimit) || deltaLimit < 1) throw new RangeError(`deltaLimit must be a positive integer, got ${deltaLimit}`);
    this.dimensions = dimensions;
    this.deltaLimit = deltaLimit;
    const strategy = options.strategy ?? 'auto';
    this.usesTree = strategy === 'tree' || (strategy === 'auto' && dimensions <= TREE_MAX_DIMENSIONS);
    this.treeCover = this.usesTree ? new TreeCover(dimensions, leafSize) : undefined;
    const store = (this.store = new RowStore(dimensions, options.kernel === 'js'));
    const approximate = options.approximate ?? {};
    const annMinRows = approximate === false || this.usesTree ? Infinity : (approximate.minRows ?? DEFAULT_ANN_MIN_ROWS);
    const annListsPerSqrtRow = approximate === false ? 1 : (approximate.listsPerSqrtRow ?? DEFAULT_LISTS_PER_SQRT_ROW);
    const shortlistRows = options.shortlistRows ?? SHORTLIST_AT_EFFORT_1;
    if (!Number.isInteger(shortlistRows) || shortlistRows < 1) throw new RangeError(`shortlistRows must be a positive integer, got ${options.shortlistRows}`);
    const filterOptions =
      options.prefilter !== false && !this.usesTree && store.arena.simd && Int8Filter.supported(dimensions) ? { axes: options.prefilterAxes } : undefined;
    if (!(annMinRows >= 1)) throw new RangeError(`approximate.minRows must be >= 1`);
    if (!(annListsPerSqrtRow > 0)) throw new RangeError(`approximate.listsPerSqrtRow must be > 0`);
    const partition = approximate === false ? 'kmeans' : (approximate.partition ?? 'kmeans');
    if (partition !== 'kmeans' && partition !== 'kdtree') throw new RangeError(`approximate.partition must be 'kmeans' or 'kdtree', got ${String(partition)}`);
    this.ivfLists = new IvfLists(store, annMinRows, annListsPerSqrtRow, partition);
    this.job = new MaintenanceJob(options.backgroundMaintenance ?? true);
    this.prefilter = new Prefilter(store, filterOptions);
    this.exact = new ExactSearch(store, this.ivfLists, this.prefilter, this.scanCounts);
    this.approximate = new ApproximateSearch(store, this.ivfLists, this.prefilter, this.scanCounts, options.shortlist !== false, shortlistRows);
  }

  /** Live faces (deleted and replaced rows excluded). */
  get size(): number {
    return this.store.size;
  }

  has(id: string): boolean {
    return this.store.has(id);
  }

  metaOf(id: string): unknown {
    return this.store.metaOf(id);
  }

  /** The first `limit` live faces by id that pass `filter` (a page of a listing), and whether more pass. */
  listIds(filter: IdFilter, limit: number): { faces: ListedFace[]; more: boolean } {
    return this.store.listIds(filter, limit);
  }

  /** The meta of every live face (undefined: none), in row order. */
  forEachMeta(visit: (meta: unknown) => void): void {
    this.store.forEachMeta(visit);
  }

  /** Every live face, in row order (what a snapshot writes). `vector` is a view: copy it to keep it. */
  forEachFace(visit: (id: string, vector: Float32Array, meta: unknown) => void): void {
    this.store.forEachFace(visit);
  }

  /**
   * A copy of everything the index holds (live faces in row order, and the IVF with
   * each row's list), taken synchronously: what a snapshot writes. Loading it with
   * `importState` needs no training and no sorting.
   */
  exportState(): FaceIndexState {
    return exportState(this.store, this.ivfLists, this.prefilter);
  }

  /**
   * Replaces everything the index holds by `state` (from `exportState`, possibly
   * through a snapshot). Adopts state.rows' or state.vectors' contents (copied into the arena), the
   * pre-filter's parameters and codes when it has them, and
   * the ids and metas arrays (not copied). The IVF is kept when this index uses one and
   * the state is consistent (RangeError otherwise, before anything changes); a later id
   * replaces an earlier one. With maintenance paused nothing else happens; otherwise
   * the usual maintenance runs (cheap when the IVF fits).
   */
  importState(state: FaceIndexState): void {
    const keepsLists = !this.usesTree && this.ivfLists.minRows !== Infinity && this.ivfLists.partition === 'kmeans';
    const layout = checkState(state, this.dimensions, keepsLists, !this.store.arena.simd);
    this.cancelJob();
    this.ensureCapacity(state.ids.length);
    this.store.adopt(state);
    this.treeCover?.clear();
    this.ivfLists.adopt(layout, state.ivf?.rowLists);
    this.prefilter.invalidate();
    // Its parameters and codes when the state has them (checked on a sample of rows), else learned here.
    if (!this.prefilter.adopt(state.prefilter, state.ids.length)) this.prefilter.refreshWhenDue(true);
    this.rebuildWhenDue();
  }

  /**
   * Adds a face, or replaces the face with the same id (last write wins). The vector is
   * stored rounded to a multiple of 2^-14 (`storedVector`); a component that is not
   * finite or past ±1.99994 is a RangeError naming it, and nothing changes.
   */
  upsert(id: string, vector: Float32Array, meta?: unknown): void {
    const dims = this.dimensions;
    if (vector.length !== dims) throw new RangeError(`vector has ${vector.length} numbers, expected ${dims}`);
    if (this.store.rowCount === this.store.capacity) this.grow(this.store.capacity * 2);
    const row = this.store.append(id, vector, meta);
    // Paused (a bulk load) or a job under way: the pre-filter learns in that job's last steps, not in this write.
    this.prefilter.rowAdded(row, this.job.paused || this.job.pending);
    this.rebuildWhenDue();
  }

  /** Removes a face; true when the id was present. */
  delete(id: string): boolean {
    if (!this.store.remove(id)) return false;
    this.rebuildWhenDue();
    return true;
  }

  /**
   * Drops deleted rows and, when this index uses a KD-tree, rebuilds it over every live
   * row (the delta becomes empty).
   */
  rebuild(): void {
    this.cancelJob();
    this.maintain('rebuild');
  }

  /**
   * Exact k nearest live faces for each query of `queries` (nq * dims floats), sorted by
   * (distance asc, id asc); with `maxDistance`, only faces at distance <= maxDistance.
   */
  search(queries: Float32Array, k: number, maxDistance?: number, options: SearchOptions = {}): Neighbor[][] {
    const dims = this.dimensions;
    const effort = checkSearchArguments(queries, dims, k, maxDistance, options);
    const queryCount = queries.length / dims;
    const limit = Math.min(k, this.size);
    const results: Neighbor[][] = [];
    if (limit === 0) {
      for (let q = 0; q < queryCount; q++) results.push([]);
      return results;
    }

    const store = this.store;
    const bound = maxDistance === undefined ? Infinity : maxDistance * maxDistance * (1 + MAX_DISTANCE_SLACK);
    const selectors = this.selectorsFor(queryCount);
    for (let q = 0; q < queryCount; q++) selectors[q].reset(limit, store.compareRowIds, bound);

    // Approximate only where there are lists and the effort leaves some unprobed; otherwise exact.
    const probes = options.approximate === true ? this.ivfLists.probesFor(effort) : 0;
    if (probes > 0) this.approximate.run(queries, queryCount, selectors, probes, effort, limit);
    else this.exact.run(queries, queryCount, selectors, this.treeCover);

    for (let q = 0; q < queryCount; q++) results.push(this.neighbors(selectors[q], maxDistance));
    return results;
  }

  stats(): FaceIndexStats {
    const store = this.store;
    const ivf = this.ivfLists.ivf;
    return {
      faces: this.size,
      treeRows: this.treeCover?.rows ?? 0,
      deltaRows: store.rowCount - (this.treeCover?.rows ?? 0),
      deletedRows: store.deletedRows,
      bytes: store.bytes + (this.treeCover?.bytes ?? 0) + this.prefilter.bytes,
      kernel: store.arena.simd ? 'wasm-simd' : 'js',
      lists: ivf?.lists ?? 0,
      listedRows: ivf ? this.ivfLists.listedRows : 0,
      prefilter: this.prefilter.ready,
      prefilterScanned: this.scanCounts.scanned,
      prefilterCandidates: this.scanCounts.candidates,
    };
  }

  /**
   * Runs pending IVF training steps for about `budgetMs` (at least one step); true
   * while work remains. Writes run one step each and, unless `backgroundMaintenance` is
   * false, an unref'd setImmediate runs slices between event-loop tasks; call this to
   * drive it yourself. Nothing runs while maintenance is paused.
   */
  maintenanceStep(budgetMs = JOB_SLICE_MS): boolean {
    return this.job.step(budgetMs);
  }

  /** Whether IVF training is in progress (see `maintenanceStep`). */
  get maintenancePending(): boolean {
    return this.job.pending;
  }

  /** Maintenance in steps: an IVF retraining (`retrain`), then a pre-filter learning when due. */
  private *maintenanceSteps(retrain: boolean): Generator<void, void, void> {
    if (retrain) yield* this.ivfLists.retrainSteps();
    yield* this.prefilter.learnSteps();
  }

  private cancelJob(): void {
    this.job.cancel();
    this.ivfLists.retrainCancelled();
  }

  private neighbors(selector: TopK, maxDistance: number | undefined): Neighbor[] {
    selector.sort();
    const store = this.store;
    const found: Neighbor[] = [];
    for (let i = 0; i < selector.length; i++) {
      const distance = Math.sqrt(selector.distanceAt(i));
      if (maxDistance !== undefined && !(distance <= maxDistance)) break;
      const row = selector.rowAt(i);
      const meta = store.metaAt(row);
      const id = store.idAt(row);
      found.push(meta === undefined ? { id, distance } : { id, distance, meta });
    }
    return found;
  }

  private selectorsFor(queryCount: number): TopK[] {
    while (this.selectors.length < queryCount) this.selectors.push(new TopK());
    return this.selectors;
  }

  /**
   * Bulk loading (a replica replaying its log, or loading a snapshot): no automatic
   * rebuilds until `resumeMaintenance()`, then one `rebuild()` does the work once instead
   * of once per growth step. Searches stay exact meanwhile (new rows are scanned).
   */
  pauseMaintenance(): void {
    this.job.paused = true;
  }

  /**
   * Ends a bulk load. With a KD-tree: one `rebuild()`. With IVF lists (imported from a
   * snapshot, or trained before): only the rows written since are assigned and merged
   * in (one memmove pass, no training); when the index outgrew the lists
   * (ANN_RETRAIN_GROWTH) a retraining starts in steps, the current lists serving
   * meanwhile. Without lists (a full replay, a v1 snapshot) they are trained here, once.
   * Dead rows are compacted only past the usual threshold. `inSteps`: a first training
   * runs in steps like a retraining (an index that serves queries meanwhile), not at once.
   * The int8 pre-filter, not learned during the load, learns after any training: in
   * the same steps when there are any, else at once.
   */
  resumeMaintenance(options: { inSteps?: boolean } = {}): void {
    this.job.paused = false;
    this.cancelJob();
    this.maintain(options.inSteps ? 'resume-in-steps' : 'resume');
  }

  /** The maintenance a write may call for: compaction, tree rebuild, IVF assignment, merge or retraining. */
  private rebuildWhenDue(): void {
    this.maintain('write');
  }

  /**
   * Carries out the maintenance `occasion` calls for (maintenance-rule.ts), an action at
   * a time: each one changes the counts the rule reads for the next.
   */
  private maintain(occasion: MaintenanceOccasion): void {
    let action: MaintenanceAction | undefined;
    while ((action = nextMaintenance(this.readCounts(), occasion, action)) !== undefined) this.carryOut(action);
  }

  /** What the parts hold now, for the maintenance rule (one object, refilled). */
  private readCounts(): MaintenanceCounts {
    const { store, ivfLists, counts } = this;
    const ivf = ivfLists.ivf;
    counts.paused = this.job.paused;
    counts.jobPending = this.job.pending;
    counts.usesTree = this.usesTree;
    counts.rowCount = store.rowCount;
    counts.deletedRows = store.deletedRows;
    counts.live = store.size;
    counts.treeRows = this.treeCover?.rows ?? 0;
    counts.deltaLimit = this.deltaLimit;
    counts.minRows = ivfLists.minRows;
    counts.hasLists = ivf !== undefined;
    counts.trainedRows = ivf?.trainedRows ?? 0;
    counts.listedRows = ivfLists.listedRows;
    counts.assignedRows = ivfLists.assignedRows;
    counts.prefilterLearnDue = this.prefilter.learnDue(true);
    return counts;
  }

  private carryOut(action: MaintenanceAction): void {
    switch (action) {
      case 'rebuild':
        this.rebuild();
        break;
      case 'compact':
        this.compact();
        break;
      case 'build-tree':
        this.treeCover!.build(this.store);
        break;
      case 'drop':
        this.cancelJob();
        this.ivfLists.drop();
        break;
      case 'train':
        this.cancelJob();
        this.ivfLists.trainAndSort();
        break;
      case 'step':
        this.job.step(0);
        break;
      case 'start-training':
      case 'start-learning':
        this.job.start(this.maintenanceSteps(action === 'start-training'));
        break;
      case 'assign':
        this.ivfLists.assignPending();
        break;
      case 'merge':
        // A merge takes assigned rows only.
        this.ivfLists.assignPending();
        this.ivfLists.mergeRecent();
        break;
      case 'refresh-prefilter':
        this.prefilter.refreshWhenDue(true);
        break;
    }
  }

  /** Row capacity for at least `rows` rows. */
  private ensureCapacity(rows: number): void {
    let capacity = this.store.capacity;
    while (capacity < rows) capacity *= 2;
    if (capacity > this.store.capacity) this.grow(capacity);
  }

  private grow(capacity: number): void {
    this.store.grow(capacity);
  }

  /** Slides live rows down over deleted ones, keeping their order (and so the IVF lists). */
  private compact(): void {
    if (this.store.deletedRows === 0) return;
    this.ivfLists.layoutWithoutDeleted();
    this.store.compact();
  }
}
