/**
 * What one shard holds: faces (id, 128-d vector, optional meta) and exact k-NN search.
 *
 * Rows live in one growable Float32Array. When the index uses a KD-tree, rows
 * 0..treeRows-1 are covered by it and the rows after them are the "delta", scanned
 * exhaustively until `rebuild` folds them in. In 128 dimensions the tree prunes too
 * little to beat a flat scan, so by default there is no tree and every row is scanned
 * (see TREE_MAX_DIMENSIONS). Replacing or deleting a face only flags its row; `rebuild`
 * compacts flagged rows away.
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
 * FILTER_MIN_ROWS faces every row also has int8 codes in a second wasm memory
 * (int8-filter.ts), kept in row order with the vectors (upsert, compaction, merges and
 * sorts move them together). Searches scan the codes (a quarter of the bytes, integer
 * SIMD) for a lower bound of each row's distance and compute the exact float64
 * distance only for rows whose bound can beat the current k-th: results are identical
 * to the oracle's. Exact searches with IVF lists take the nearest lists first, so the
 * k-th distance is small early.
 */
import { IvfQuantizer, type IvfState } from '../ann/ivf.js';
import { KDTree } from '../kdtree/index.js';
import { VectorArena } from '../simd-kernel/index.js';
import { TopK, compareIds } from '../topk/index.js';
import { squaredDistance, squaredDistanceWithin } from './distance.js';
import { Int8Filter } from './int8-filter.js';
import { SCAN_BLOCK_ROWS } from '../simd-kernel/int8.js';
import { simdFlatScan, simdScanRange, stageQueries } from './simd-scan.js';

export { squaredDistance } from './distance.js';

export interface Neighbor {
  id: string;
  /** Euclidean distance (square root of the squared distance). */
  distance: number;
  meta?: unknown;
}

/**
 * 'tree': KD-tree plus flat-scanned delta. 'flat': no tree, every row scanned.
 * 'auto' (default): the tree only for low dimensions, where it measured faster.
 */
export type SearchStrategy = 'auto' | 'tree' | 'flat';

export interface FaceIndexOptions {
  /** Floats per vector (default 128). */
  dimensions?: number;
  /** Most rows per KD-tree leaf (default 32). */
  leafSize?: number;
  /**
   * Tree mode: delta rows tolerated before `upsert` rebuilds (default 4096, or 10% of
   * the tree when larger). Both modes: dead rows tolerated before compaction (this, or
   * a quarter of the rows when larger).
   */
  deltaLimit?: number;
  /** Default 'auto'; 'tree' and 'flat' force one path. */
  strategy?: SearchStrategy;
  /**
   * Distance kernel of flat scans: 'auto' (default) = WebAssembly SIMD where available
   * (pre-selection, then exact float64 re-check: results identical), 'js' = plain JS.
   */
  kernel?: 'auto' | 'js';
  /**
   * The structure behind `search(..., { approximate: true })`: an inverted file (IVF,
   * k-means lists; rows kept sorted by list, newer rows assigned to a list but kept
   * after the sorted ones until the next merge). Trained in steps once `minRows` faces
   * are held (or at once by `rebuild()`), retrained in steps as the index doubles;
   * `false` turns it off (approximate requests are then answered exactly). Not used
   * with a KD-tree (strategy 'tree', or under 17 dims).
   */
  approximate?: false | ApproximateOptions;
  /**
   * IVF training (the first one, and retraining as the index grows) runs in small steps:
   * one per write, and (default true) more between event-loop tasks from an unref'd
   * `setImmediate`, ~JOB_SLICE_MS at a time. False: only writes and `maintenanceStep`
   * advance it.
   */
  backgroundMaintenance?: boolean;
  /**
   * Exact lower-bound pre-filter (default true where WebAssembly SIMD runs, 16+ dims,
   * no KD-tree), from FILTER_MIN_ROWS faces on: every row also kept as int8 codes (1
   * byte a dimension + 8 a row; at 128 dims +27% of the float32 rows), plus int8 codes
   * of its first `prefilterAxes` principal coordinates (+8% at 128 dims); searches scan
   * the codes and compute the exact distance only for rows whose lower bound can beat
   * the current k-th distance (see int8-filter.ts). Results are identical either way;
   * false saves the memory and scans the float32 rows instead.
   */
  prefilter?: boolean;
  /**
   * Principal axes coded for the pre-filter's first stage (default 32, rounded up to a
   * multiple of 16; used when the vectors have at least twice as many dimensions).
   * 0: one stage (every row's full codes scanned), 40 bytes a row less.
   */
  prefilterAxes?: number;
  /**
   * Approximate search with the pre-filter's principal-axes codes: rows of the probed
   * lists are ranked by their principal-axes bound and only a shortlist of the best
   * gets the exact distance (default true). false: every probed row goes through the
   * full codes (the pre-filter's exact path), slower and a little more accurate.
   */
  shortlist?: boolean;
  /** Rows in the shortlist at effort 1 (default 128; scaled by effort, at least k). */
  shortlistRows?: number;
}

export interface ApproximateOptions {
  /** Below this many rows there is no IVF and approximate requests are answered exactly (default 20,000). */
  minRows?: number;
  /** Lists per sqrt(rows) (default 4: ~2,000 lists at 250,000 rows). */
  listsPerSqrtRow?: number;
}

export interface SearchOptions {
  /** Search only the IVF lists nearest to each query (plus faces added since the last fold). Default false: exact. */
  approximate?: boolean;
  /**
   * Approximate only: how much work to spend, default 1 (recall@1 >= 0.99 on the
   * benchmark data at 250,000 faces a shard). The lists probed per query are effort x
   * 1/8 of the lists (at least 1; effort >= 8 probes every list), and the rows given the
   * exact distance after ranking on principal axes (`shortlist`) are effort x 128 (at
   * least k). Time per query grows about linearly with effort; misses shrink (effort
   * 0.5: recall@1 ~0.94, 1: ~0.99, 1.5: ~0.997 on that data).
   */
  effort?: number;
}

export interface FaceIndexStats {
  /** Live faces. */
  faces: number;
  /** Rows covered by the KD-tree (0 without a tree). */
  treeRows: number;
  /** Rows after the tree, scanned exhaustively (live or dead). */
  deltaRows: number;
  /** Dead rows (deleted or replaced) not yet compacted away. */
  deletedRows: number;
  /** Approximate memory: typed arrays plus id strings at 2 bytes a character. */
  bytes: number;
  /** Which kernel flat scans use. */
  kernel: 'wasm-simd' | 'js';
  /** IVF lists (0 without an IVF). */
  lists: number;
  /** Rows sorted into the IVF lists; rows after them are searched exhaustively by approximate queries too. */
  listedRows: number;
  /** Whether searches run through the int8 pre-filter now (see FaceIndexOptions.prefilter). */
  prefilter: boolean;
  /** Rows the pre-filter examined, all searches so far (one per row per query). */
  prefilterScanned: number;
  /** ... and of those, the rows it passed on to the exact distance. */
  prefilterCandidates: number;
}

/**
 * Everything an index holds, in row order (what a snapshot stores): loading it needs no
 * training and no sorting. Only live faces; `exportState` copies, `importState` adopts.
 */
export interface FaceIndexState {
  dimensions: number;
  /** faces x dimensions floats, row order. */
  vectors: Float32Array;
  ids: string[];
  /** One per face; undefined (or null, from JSON) for none. */
  metas: unknown[];
  /** The IVF, when there is one: rows 0..listedRows-1 are sorted by list. */
  ivf?: FaceIndexIvfState;
}

export interface FaceIndexIvfState extends IvfState {
  /** Rows 0..listedRows-1 are sorted by list (non-decreasing `rowLists`). */
  listedRows: number;
  /** IVF list of every row, -1 for a row (after listedRows) not assigned yet. */
  rowLists: Int32Array;
}

const DEFAULT_DIMENSIONS = 128;
const DEFAULT_LEAF_SIZE = 32;
const DEFAULT_DELTA_LIMIT = 4096;
const DELTA_FRACTION_OF_TREE = 0.1;
const DELETED_FRACTION_OF_ROWS = 0.25;
const INITIAL_CAPACITY = 64;
/** Rows scanned for every query of a batch before moving on, so the block stays in L2. */
const FLAT_SCAN_BLOCK_ROWS = 256;
/**
 * 'auto' uses the KD-tree only up to this many dimensions. Measured on clustered data
 * (100k rows, k = 1 and 10, one query and batches of 64): the tree is 1-2.5x faster at
 * 8-16 dimensions, ties or loses at 32, and loses at 64 and 128 (where it prunes
 * almost nothing and the batched flat scan reads each row once for four queries).
 */
const TREE_MAX_DIMENSIONS = 16;
const DEFAULT_ANN_MIN_ROWS = 20_000;
/** IVF lists probed at effort 1, as a share of the lists (measured: see bench/results). */
const PROBE_SHARE_AT_EFFORT_1 = 1 / 8;
/**
 * Rows after the sorted lists ("recent" rows, each already assigned to its list and
 * skipped by approximate queries unless its list is probed) tolerated before they are
 * merged into the sorted lists (or deltaLimit, when larger). A merge moves every row
 * once (memmove), so it runs every FOLD_FRACTION of growth.
 */
const ANN_FOLD_FRACTION = 0.1;
/** New rows are assigned to their IVF lists in batches of this many (one kernel batch). */
const ANN_ASSIGN_BATCH = 256;
/**
 * The IVF is retrained (new centroids, in steps: see `maintenanceStep`) once the index
 * holds this many times the rows it was trained on. Measured at 250,000 faces (effort 1):
 * lists trained at a quarter of the rows recall@1 0.985, at half 0.99+, fresh 0.996.
 */
const ANN_RETRAIN_GROWTH = 2;
/** Milliseconds of training work per background slice (between event-loop tasks). */
const JOB_SLICE_MS = 8;
/**
 * Squared-distance bound for a `maxDistance` filter, a hair loose so the final
 * `Math.sqrt(d) <= maxDistance` check (the one the oracle uses) decides the edge cases.
 */
const MAX_DISTANCE_SLACK = 1e-12;
/** The int8 pre-filter learns its offset and scale once the index holds this many faces. */
const FILTER_MIN_ROWS = 1024;
/**
 * ... and learns them again (re-encoding every row) when a write finds the index grew
 * this much since, up to FILTER_RELEARN_MAX_ROWS rows (learning takes ~50-150 ms and
 * re-encoding ~2 us a row: too much for one write beyond that). `rebuild()`, `importState` and
 * `resumeMaintenance()` learn again when the index doubled since parameters learned on
 * fewer than FILTER_RELEARN_MAX_ROWS / 4 rows (the samples are capped: more rows teach
 * little more).
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
/**
 * Approximate search, shortlist: rows given the exact distance at effort 1 (scaled by
 * effort, at least k). Measured at 250,000 faces, effort 1 (1,000 benchmark queries):
 * every probed row through the full int8 codes 0.88 ms a query, recall@1 0.994 /
 * recall@10 0.979; ranked on 32 principal axes with a shortlist of 48: 0.32 ms, 0.970 /
 * 0.856; 96: 0.37 ms, 0.989 / 0.934; 128: 0.41 ms, 0.993 / 0.953; 192: 0.49 ms, 0.993 /
 * 0.969. On 48 axes, 96: 0.994 / 0.973 as fast in process, but slower in the cluster
 * (see DEFAULT_PREFIX_DIMS).
 */
const SHORTLIST_AT_EFFORT_1 = 128;
/** Shortlisted rows checked against the full codes at a time (the k-th distance tightens between chunks). */
const RERANK_CHUNK_ROWS = 16;

export class FaceIndex {
  readonly dimensions: number;
  private readonly leafSize: number;
  private readonly deltaLimit: number;
  /** Whether tree rows are searched through a KD-tree (else everything is flat-scanned). */
  private readonly usesTree: boolean;

  /** Owns the rows' memory (WebAssembly memory when the SIMD kernel runs). */
  private readonly arena: VectorArena;
  /** View of the arena's rows; taken again after the arena grows or moves. */
  private vectors: Float32Array;
  private deleted: Uint8Array;
  private ids: string[] = [];
  private metas: unknown[] = [];
  /**
   * id -> slot, a number that stays with the face while its row moves (merges, sorts,
   * compaction), so moving rows updates typed arrays, not this Map.
   */
  private readonly slotById = new Map<string, number>();
  /** UTF-16 units of every id held (for stats().bytes without walking the ids). */
  private idChars = 0;
  /** Row of each slot in use. */
  private slotRow: Int32Array;
  /** Slot of each live row (stale for dead rows). */
  private rowSlot: Int32Array;
  private freeSlots: Int32Array;
  private freeSlotCount = 0;
  private nextSlot = 0;
  private rowCount = 0;
  private deletedRows = 0;
  private tree: KDTree | undefined;
  private treeRows = 0;
  /** One selector per query of a batch, reused across calls. */
  private readonly selectors: TopK[] = [];

  private readonly annMinRows: number;
  private maintenancePaused = false;
  private readonly annListsPerSqrtRow: number;
  private ivf: IvfQuantizer | undefined;
  /** IVF list of each row, -1 for rows not yet assigned. */
  private rowList: Int32Array;
  /** Rows 0..listedRows-1 are sorted by list; list l is rows listStart[l]..listStart[l+1]-1. */
  private listedRows = 0;
  /** Rows listedRows..assignedRows-1 know their list (rowList) but are not sorted; later rows do not. */
  private assignedRows = 0;
  private listStart: Int32Array = new Int32Array(1);
  private probeScratch = new Int32Array(64);
  /** Per list: 1 while it is probed by the current query (filters the recent rows). */
  private probeMark = new Uint8Array(0);
  /** IVF training in progress: rows do not move (no merge, no compaction) until it is done. */
  private job: Generator<void, void, void> | undefined;
  /** The job's list of each row (row-indexed, like rowList). */
  private jobLists: Int32Array | undefined;
  private jobTimer: ReturnType<typeof setImmediate> | undefined;
  private readonly backgroundMaintenance: boolean;
  /** The int8 pre-filter (undefined when off); its codes exist for every row once `ready`. */
  private filter: Int8Filter | undefined;
  /** Set when the pre-filter is on: it is created (wasm memories and all) once FILTER_MIN_ROWS faces are held. */
  private readonly filterOptions: { axes: number | undefined } | undefined;
  private filterScanned = 0;
  private filterCandidates = 0;
  private readonly useShortlist: boolean;
  private readonly shortlistRows: number;
  /** Approximate search: the rows with the best principal-axes bounds (no ids: ties by row). */
  private readonly shortlist = new TopK(SHORTLIST_AT_EFFORT_1);

  constructor(options: FaceIndexOptions = {}) {
    const dimensions = options.dimensions ?? DEFAULT_DIMENSIONS;
    const leafSize = options.leafSize ?? DEFAULT_LEAF_SIZE;
    const deltaLimit = options.deltaLimit ?? DEFAULT_DELTA_LIMIT;
    if (!Number.isInteger(dimensions) || dimensions < 1) throw new RangeError(`dimensions must be a positive integer, got ${dimensions}`);
    if (!Number.isInteger(leafSize) || leafSize < 2) throw new RangeError(`leafSize must be an integer >= 2, got ${leafSize}`);
    if (!Number.isInteger(deltaLimit) || deltaLimit < 1) throw new RangeError(`deltaLimit must be a positive integer, got ${deltaLimit}`);
    this.dimensions = dimensions;
    this.leafSize = leafSize;
    this.deltaLimit = deltaLimit;
    const strategy = options.strategy ?? 'auto';
    this.usesTree = strategy === 'tree' || (strategy === 'auto' && dimensions <= TREE_MAX_DIMENSIONS);
    this.arena = new VectorArena(dimensions, { forceJs: options.kernel === 'js', initialRows: INITIAL_CAPACITY });
    this.vectors = this.arena.rows;
    this.deleted = new Uint8Array(INITIAL_CAPACITY);
    this.rowList = new Int32Array(INITIAL_CAPACITY).fill(-1);
    this.slotRow = new Int32Array(INITIAL_CAPACITY);
    this.rowSlot = new Int32Array(INITIAL_CAPACITY);
    this.freeSlots = new Int32Array(INITIAL_CAPACITY);
    const approximate = options.approximate ?? {};
    this.annMinRows = approximate === false || this.usesTree ? Infinity : (approximate.minRows ?? DEFAULT_ANN_MIN_ROWS);
    this.annListsPerSqrtRow = approximate === false ? 1 : (approximate.listsPerSqrtRow ?? 4);
    this.backgroundMaintenance = options.backgroundMaintenance ?? true;
    this.useShortlist = options.shortlist !== false;
    this.shortlistRows = options.shortlistRows ?? SHORTLIST_AT_EFFORT_1;
    if (!Number.isInteger(this.shortlistRows) || this.shortlistRows < 1) throw new RangeError(`shortlistRows must be a positive integer, got ${options.shortlistRows}`);
    this.filterOptions = options.prefilter !== false && !this.usesTree && this.arena.simd && Int8Filter.supported(dimensions) ? { axes: options.prefilterAxes } : undefined;
    if (!(this.annMinRows >= 1)) throw new RangeError(`approximate.minRows must be >= 1`);
    if (!(this.annListsPerSqrtRow > 0)) throw new RangeError(`approximate.listsPerSqrtRow must be > 0`);
  }

  /** Live faces (deleted and replaced rows excluded). */
  get size(): number {
    return this.slotById.size;
  }

  has(id: string): boolean {
    return this.slotById.has(id);
  }

  /** Every live face, in row order (what a snapshot writes). `vector` is a view: copy it to keep it. */
  forEachFace(visit: (id: string, vector: Float32Array, meta: unknown) => void): void {
    const dims = this.dimensions;
    for (let row = 0; row < this.rowCount; row++) {
      if (this.deleted[row]) continue;
      visit(this.ids[row], this.vectors.subarray(row * dims, (row + 1) * dims), this.metas[row]);
    }
  }

  /**
   * A copy of everything the index holds (live faces in row order, and the IVF with
   * each row's list), taken synchronously: what a snapshot writes. Loading it with
   * `importState` needs no training and no sorting.
   */
  exportState(): FaceIndexState {
    const dims = this.dimensions;
    const faces = this.size;
    const vectors = new Float32Array(faces * dims);
    const ids = new Array<string>(faces);
    const metas = new Array<unknown>(faces);
    const ivf = this.ivf;
    const rowLists = ivf === undefined ? undefined : new Int32Array(faces);
    const { deleted, rowList, listedRows, assignedRows } = this;
    let out = 0;
    let listed = 0;
    let runStart = 0; // rows runStart..row-1 are live and copied as one block
    let runOut = 0;
    for (let row = 0; row <= this.rowCount; row++) {
      if (row === this.rowCount || deleted[row] !== 0) {
        if (row > runStart) vectors.set(this.vectors.subarray(runStart * dims, row * dims), runOut * dims);
        runStart = row + 1;
        runOut = out;
        continue;
      }
      ids[out] = this.ids[row];
      metas[out] = this.metas[row];
      if (rowLists !== undefined) rowLists[out] = row < assignedRows ? rowList[row] : -1;
      if (row < listedRows) listed++;
      out++;
    }
    const state: FaceIndexState = { dimensions: dims, vectors, ids, metas };
    if (ivf !== undefined) state.ivf = { ...ivf.exportState(), listedRows: listed, rowLists: rowLists! };
    return state;
  }

  /**
   * Replaces everything the index holds by `state` (from `exportState`, possibly
   * through a snapshot). Adopts state.vectors' contents (copied into the arena) and
   * the ids and metas arrays (not copied). The IVF is kept when this index uses one and
   * the state is consistent (RangeError otherwise, before anything changes); a later id
   * replaces an earlier one. With maintenance paused nothing else happens; otherwise
   * the usual maintenance runs (cheap when the IVF fits).
   */
  importState(state: FaceIndexState): void {
    const dims = this.dimensions;
    if (state.dimensions !== dims) throw new RangeError(`state holds ${state.dimensions}-d vectors, the index ${dims}-d`);
    const faces = state.ids.length;
    if (state.vectors.length !== faces * dims) throw new RangeError(`state holds ${state.vectors.length} floats for ${faces} faces`);
    if (state.metas.length !== faces) throw new RangeError(`state holds ${state.metas.length} metas for ${faces} faces`);
    if (!allFinite(state.vectors)) {
      const i = state.vectors.findIndex((v) => !Number.isFinite(v));
      throw new RangeError(`state vector element ${i} is ${state.vectors[i]} (must be finite)`);
    }
    let ivf: IvfQuantizer | undefined;
    let listStart: Int32Array | undefined;
    let listedRows = 0;
    let assignedRows = 0;
    const s = state.ivf;
    if (s !== undefined && !this.usesTree && this.annMinRows !== Infinity) {
      ivf = IvfQuantizer.fromState(dims, s, !this.arena.simd);
      const lists = ivf.lists;
      if (s.rowLists.length !== faces || !Number.isInteger(s.listedRows) || s.listedRows < 0 || s.listedRows > faces) throw new RangeError('state: IVF rows do not match the faces');
      listStart = new Int32Array(lists + 1);
      let previous = 0;
      for (let row = 0; row < s.listedRows; row++) {
        const l = s.rowLists[row];
        if (!(l >= previous && l < lists)) throw new RangeError(`state: row ${row} (list ${l}) breaks the list order`);
        listStart[l + 1]++;
        previous = l;
      }
      for (let l = 0; l < lists; l++) listStart[l + 1] += listStart[l];
      listedRows = s.listedRows;
      assignedRows = listedRows;
      while (assignedRows < faces && s.rowLists[assignedRows] >= 0 && s.rowLists[assignedRows] < lists) assignedRows++;
    }

    this.cancelJob();
    this.ensureCapacity(faces);
    this.vectors.set(state.vectors, 0);
    this.deleted.fill(0);
    this.rowList.fill(-1);
    if (s !== undefined && ivf !== undefined) this.rowList.set(s.rowLists.subarray(0, assignedRows), 0);
    this.ids = state.ids;
    this.metas = state.metas;
    this.slotById.clear();
    this.idChars = 0;
    this.freeSlotCount = 0;
    this.nextSlot = 0;
    this.rowCount = faces;
    this.deletedRows = 0;
    this.tree = undefined;
    this.treeRows = 0;
    for (let row = 0; row < faces; row++) {
      const meta = this.metas[row];
      if (meta === null) this.metas[row] = undefined;
      const id = this.ids[row];
      let slot = this.slotById.get(id);
      if (slot !== undefined) this.markDeleted(this.slotRow[slot]);
      else {
        this.slotById.set(id, (slot = this.nextSlot++));
        this.idChars += id.length;
      }
      this.slotRow[slot] = row;
      this.rowSlot[row] = slot;
    }
    this.ivf = ivf;
    this.listStart = listStart ?? new Int32Array(1);
    this.listedRows = listedRows;
    this.assignedRows = assignedRows;
    if (this.filter !== undefined) this.filter.ready = false;
    this.refreshFilterWhenDue(true);
    this.rebuildWhenDue();
  }

  /** Adds a face, or replaces the face with the same id (last write wins). */
  upsert(id: string, vector: Float32Array, meta?: unknown): void {
    const dims = this.dimensions;
    if (vector.length !== dims) throw new RangeError(`vector has ${vector.length} numbers, expected ${dims}`);
    for (let i = 0; i < dims; i++) {
      if (!Number.isFinite(vector[i])) throw new RangeError(`vector element ${i} is ${vector[i]} (must be finite)`);
    }
    let slot = this.slotById.get(id);
    if (slot !== undefined) this.markDeleted(this.slotRow[slot]);

    if (this.rowCount === this.deleted.length) this.grow();
    if (slot === undefined) {
      slot = this.freeSlotCount > 0 ? this.freeSlots[--this.freeSlotCount] : this.nextSlot++;
      this.slotById.set(id, slot);
      this.idChars += id.length;
    }
    const row = this.rowCount++;
    this.vectors.set(vector, row * dims);
    this.deleted[row] = 0;
    this.rowList[row] = -1;
    this.ids[row] = id;
    this.metas[row] = meta;
    this.slotRow[slot] = row;
    this.rowSlot[row] = slot;
    if (this.filterOptions !== undefined) {
      if (this.filter?.ready) this.filter.encodeRows(this.vectors, row, row + 1);
      this.refreshFilterWhenDue(false);
    }

    this.rebuildWhenDue();
  }

  /** Removes a face; true when the id was present. */
  delete(id: string): boolean {
    const slot = this.slotById.get(id);
    if (slot === undefined) return false;
    this.slotById.delete(id);
    this.idChars -= id.length;
    this.markDeleted(this.slotRow[slot]);
    this.freeSlots[this.freeSlotCount++] = slot;
    this.rebuildWhenDue();
    return true;
  }

  /**
   * Drops deleted rows and, when this index uses a KD-tree, rebuilds it over every live
   * row (the delta becomes empty).
   */
  rebuild(): void {
    this.cancelJob();
    this.compact();
    if (!this.usesTree) {
      this.maintainLists(true);
      this.refreshFilterWhenDue(true);
      return;
    }
    this.tree = new KDTree(this.vectors, this.rowCount, this.dimensions, { leafSize: this.leafSize });
    this.treeRows = this.rowCount;
    this.reorderRowsLikeTree(this.tree);
  }

  /**
   * Exact k nearest live faces for each query of `queries` (nq * dims floats), sorted by
   * (distance asc, id asc); with `maxDistance`, only faces at distance <= maxDistance.
   */
  search(queries: Float32Array, k: number, maxDistance?: number, options: SearchOptions = {}): Neighbor[][] {
    const dims = this.dimensions;
    if (queries.length % dims !== 0) throw new RangeError(`queries hold ${queries.length} floats, not a multiple of ${dims}`);
    if (!Number.isInteger(k) || k < 0) throw new RangeError(`k must be a non-negative integer, got ${k}`);
    if (maxDistance !== undefined && !(maxDistance >= 0)) throw new RangeError(`maxDistance must be >= 0, got ${maxDistance}`);
    const effort = options.effort ?? 1;
    if (!(effort > 0) || !Number.isFinite(effort)) throw new RangeError(`effort must be a positive number, got ${options.effort}`);
    for (let i = 0; i < queries.length; i++) {
      // A NaN would compare false everywhere and silently return nothing.
      if (!Number.isFinite(queries[i])) throw new RangeError(`query element ${i} is ${queries[i]} (must be finite)`);
    }
    const queryCount = queries.length / dims;
    const limit = Math.min(k, this.size);
    const results: Neighbor[][] = [];
    if (limit === 0) {
      for (let q = 0; q < queryCount; q++) results.push([]);
      return results;
    }

    const bound = maxDistance === undefined ? Infinity : maxDistance * maxDistance * (1 + MAX_DISTANCE_SLACK);
    const selectors = this.selectorsFor(queryCount);
    for (let q = 0; q < queryCount; q++) selectors[q].reset(limit, this.ids, bound);

    let probes = 0; // 0: exact
    if (options.approximate === true && this.ivf !== undefined) {
      const wanted = Math.max(1, Math.ceil(effort * PROBE_SHARE_AT_EFFORT_1 * this.ivf.lists));
      if (wanted < this.ivf.lists) probes = wanted;
    }
    if (probes > 0 && this.useShortlist && this.filter?.ready && this.filter.ranks) {
      this.shortlistScan(queries, queryCount, selectors, probes, Math.max(limit, Math.ceil(effort * this.shortlistRows)));
      for (let q = 0; q < queryCount; q++) results.push(this.neighbors(selectors[q], maxDistance));
      return results;
    }
    if (this.filter?.ready) {
      this.filteredScan(queries, queryCount, selectors, probes);
      for (let q = 0; q < queryCount; q++) results.push(this.neighbors(selectors[q], maxDistance));
      return results;
    }
    if (probes > 0) {
      this.approximateScan(queries, queryCount, selectors, probes);
      for (let q = 0; q < queryCount; q++) results.push(this.neighbors(selectors[q], maxDistance));
      return results;
    }

    const simd = this.arena.simd && this.rowCount > this.treeRows;
    const outFloat = simd ? stageQueries(this.arena, queries) : 0;
    this.vectors = this.arena.rows; // staging may have moved the rows
    const tree = this.tree;
    if (tree !== undefined) {
      for (let q = 0; q < queryCount; q++) tree.search(this.vectors, queries, q * dims, selectors[q], this.deleted);
    }
    if (simd) simdFlatScan(this.arena, outFloat, this.treeRows, this.rowCount, queries, queryCount, selectors, this.deleted);
    else flatScan(this.vectors, dims, this.treeRows, this.rowCount, queries, queryCount, selectors, this.deleted);

    for (let q = 0; q < queryCount; q++) results.push(this.neighbors(selectors[q], maxDistance));
    return results;
  }

  stats(): FaceIndexStats {
    return {
      faces: this.size,
      treeRows: this.treeRows,
      deltaRows: this.rowCount - this.treeRows,
      deletedRows: this.deletedRows,
      bytes: this.arena.bytes + this.deleted.byteLength + (this.tree?.bytes ?? 0) + (this.filter?.bytes ?? 0) + this.idChars * 2,
      kernel: this.arena.simd ? 'wasm-simd' : 'js',
      lists: this.ivf?.lists ?? 0,
      listedRows: this.ivf ? this.listedRows : 0,
      prefilter: this.filter?.ready ?? false,
      prefilterScanned: this.filterScanned,
      prefilterCandidates: this.filterCandidates,
    };
  }

  /**
   * Search through the int8 pre-filter, one query at a time. probes > 0 (approximate):
   * the probed lists nearest first, then the recent rows of those lists, then the rows
   * not assigned yet, as `approximateScan`. probes = 0 (exact): every row once; with
   * IVF lists the nearest EXACT_FIRST_SHARE of them first (a small k-th distance
   * early prunes the rest), then the other lists in row order, then the rows after them.
   */
  private filteredScan(queries: Float32Array, queryCount: number, selectors: TopK[], probes: number): void {
    const filter = this.filter!;
    const ivf = this.ivf;
    const dims = this.dimensions;
    this.vectors = this.arena.rows;
    const { listStart, listedRows, rowCount } = this;
    const first = ivf === undefined ? 0 : probes > 0 ? probes : Math.min(ivf.lists, Math.max(1, Math.ceil(ivf.lists * EXACT_FIRST_SHARE)));
    let centroidOut = 0;
    if (ivf !== undefined) {
      centroidOut = ivf.stage(queries);
      if (this.probeScratch.length < first) this.probeScratch = new Int32Array(first);
      if (this.probeMark.length < ivf.lists) this.probeMark = new Uint8Array(ivf.lists);
    }
    const lists = this.probeScratch;
    const mark = this.probeMark;
    for (let q = 0; q < queryCount; q++) {
      const selector = selectors[q];
      const queryOffset = q * dims;
      filter.setQuery(queries, queryOffset);
      if (ivf === undefined) {
        this.filterRange(0, rowCount, queries, queryOffset, selector, true);
        continue;
      }
      const n = ivf.probe(q, first, centroidOut, lists);
      if (probes > 0) {
        // Probed lists are near the query: both stages measured slower there (the prefix passes too many rows).
        this.forProbedRows(lists, n, (start, end) => this.filterRange(start, end, queries, queryOffset, selector, false));
        continue;
      }
      for (let i = 0; i < n; i++) {
        const start = listStart[lists[i]];
        const end = listStart[lists[i] + 1];
        if (start < end) this.filterRange(start, end, queries, queryOffset, selector, false);
      }
      for (let i = 0; i < n; i++) mark[lists[i]] = 1;
      // Every list not scanned yet, consecutive ones as one range; then every row after the lists.
      let runStart = -1;
      for (let l = 0; l < ivf.lists; l++) {
        if (mark[l] === 0) {
          if (runStart < 0) runStart = listStart[l];
        } else if (runStart >= 0) {
          this.filterRange(runStart, listStart[l], queries, queryOffset, selector, true);
          runStart = -1;
        }
      }
      if (runStart >= 0) this.filterRange(runStart, listedRows, queries, queryOffset, selector, true);
      if (listedRows < rowCount) this.filterRange(listedRows, rowCount, queries, queryOffset, selector, true);
      for (let i = 0; i < n; i++) mark[lists[i]] = 0;
    }
  }

  /**
   * Approximate search through the principal-axes codes: per query, the rows of its
   * `probes` nearest lists (then the recent rows of those lists, then the rows not
   * assigned yet) ranked by their principal-axes bound, and the best `shortlistRows`
   * given the exact distance. A row whose bound exceeds the query's k-th distance
   * bound (maxDistance) is never shortlisted.
   */
  private shortlistScan(queries: Float32Array, queryCount: number, selectors: TopK[], probes: number, shortlistRows: number): void {
    const filter = this.filter!;
    const ivf = this.ivf!;
    const dims = this.dimensions;
    this.vectors = this.arena.rows;
    const vectors = this.vectors;
    const centroidOut = ivf.stage(queries);
    if (this.probeScratch.length < probes) this.probeScratch = new Int32Array(probes);
    const lists = this.probeScratch;
    const shortlist = this.shortlist;
    const rankRange = (start: number, end: number) => this.rankRange(start, end);
    for (let q = 0; q < queryCount; q++) {
      const selector = selectors[q];
      const queryOffset = q * dims;
      filter.setQuery(queries, queryOffset);
      shortlist.reset(shortlistRows, undefined, filter.rankLimitFor(selector.worst));
      this.forProbedRows(lists, ivf.probe(q, probes, centroidOut, lists), rankRange);
      // Best bounds first, a few rows at a time through the full codes (3 cache lines a
      // row, not the float row's 8): only rows that can still enter get the exact distance.
      shortlist.sort();
      const held = shortlist.length;
      const out = filter.out;
      let worst = selector.worst;
      for (let from = 0; from < held; from += RERANK_CHUNK_ROWS) {
        if (shortlist.distanceAt(from) > filter.rankLimitFor(worst)) break;
        const count = Math.min(RERANK_CHUNK_ROWS, held - from);
        for (let i = 0; i < count; i++) out[i] = shortlist.rowAt(from + i);
        const passed = filter.gather(count, worst);
        this.filterCandidates += passed;
        for (let i = 0; i < passed; i++) {
          const row = out[i];
          const distance = squaredDistanceWithin(vectors, row * dims, queries, queryOffset, dims, worst);
          if (distance <= worst) {
            selector.push(row, distance);
            worst = selector.worst;
          }
        }
      }
    }
  }

  /**
   * The rows an approximate query reads, as ranges to `visit`: its n probed lists
   * (lists[0..n), nearest first), then the recent rows (assigned, not yet merged) of
   * those lists in runs of consecutive rows, then every row not assigned yet (at most
   * one batch).
   */
  private forProbedRows(lists: Int32Array, n: number, visit: (start: number, end: number) => void): void {
    const { listStart, listedRows, assignedRows, rowCount, rowList } = this;
    for (let i = 0; i < n; i++) {
      const start = listStart[lists[i]];
      const end = listStart[lists[i] + 1];
      if (start < end) visit(start, end);
    }
    if (assignedRows > listedRows) {
      if (this.probeMark.length < this.ivf!.lists) this.probeMark = new Uint8Array(this.ivf!.lists);
      const mark = this.probeMark;
      for (let i = 0; i < n; i++) mark[lists[i]] = 1;
      let runStart = -1;
      for (let row = listedRows; row < assignedRows; row++) {
        if (mark[rowList[row]] !== 0) {
          if (runStart < 0) runStart = row;
        } else if (runStart >= 0) {
          visit(runStart, row);
          runStart = -1;
        }
      }
      if (runStart >= 0) visit(runStart, assignedRows);
      for (let i = 0; i < n; i++) mark[lists[i]] = 0;
    }
    if (assignedRows < rowCount) visit(assignedRows, rowCount);
  }

  /** Rows [start, end) into the shortlist by their principal-axes bound (the query set by `filter.setQuery`). */
  private rankRange(start: number, end: number): void {
    const filter = this.filter!;
    const shortlist = this.shortlist;
    const deleted = this.deleted;
    this.filterScanned += end - start;
    for (let block = start; block < end; block += SCAN_BLOCK_ROWS) {
      const n = filter.rank(block, Math.min(SCAN_BLOCK_ROWS, end - block), shortlist.worst);
      const out = filter.rankOut;
      const values = filter.rankValues;
      for (let i = 0; i < n; i++) {
        const row = out[i];
        if (deleted[row] === 0) shortlist.push(row, values[i]);
      }
    }
  }

  /**
   * Rows [start, end) for one query through the pre-filter: candidates get the exact
   * distance. `far`: rows mostly far from the query (exact search past the nearest
   * lists), where the principal-axes stage pays; near rows go to the full codes at once.
   */
  private filterRange(start: number, end: number, queries: Float32Array, queryOffset: number, selector: TopK, far: boolean): void {
    const filter = this.filter!;
    const { vectors, deleted } = this;
    const dims = this.dimensions;
    let worst = selector.worst;
    this.filterScanned += end - start;
    // Until k rows are held nothing can be pruned: take rows as they come.
    while (worst === Infinity && start < end) {
      if (deleted[start] === 0) {
        selector.push(start, squaredDistanceWithin(vectors, start * dims, queries, queryOffset, dims, Infinity));
        worst = selector.worst;
      }
      start++;
    }
    for (let block = start; block < end; block += SCAN_BLOCK_ROWS) {
      const n = filter.candidates(block, Math.min(SCAN_BLOCK_ROWS, end - block), worst, far);
      const out = filter.out;
      this.filterCandidates += n;
      for (let i = 0; i < n; i++) {
        const row = out[i];
        if (deleted[row] !== 0) continue;
        const distance = squaredDistanceWithin(vectors, row * dims, queries, queryOffset, dims, worst);
        if (distance <= worst) {
          selector.push(row, distance);
          worst = selector.worst;
        }
      }
    }
  }

  /**
   * Learns the pre-filter's parameters and codes every row: when it has none and the
   * index reached FILTER_MIN_ROWS; again when a write (`explicit` false) finds it grew
   * FILTER_RELEARN_GROWTH times since (small indexes only), or when rebuild, import or
   * resume (`explicit`) find it doubled. Below FILTER_MIN_ROWS the filter is off.
   */
  private refreshFilterWhenDue(explicit: boolean): void {
    if (this.filterOptions === undefined) return;
    const live = this.size;
    if (live < FILTER_MIN_ROWS) {
      if (explicit && this.filter !== undefined) this.filter.ready = false;
      return;
    }
    const filter = (this.filter ??= new Int8Filter(this.dimensions, this.deleted.length, this.filterOptions.axes));
    if (filter.ready && (explicit ? live < filter.learnedRows * 2 || filter.learnedRows >= FILTER_RELEARN_MAX_ROWS / 4 : live < filter.learnedRows * FILTER_RELEARN_GROWTH || live > FILTER_RELEARN_MAX_ROWS)) return;
    filter.learn(this.vectors, this.rowCount, this.deleted);
    filter.encodeRows(this.vectors, 0, this.rowCount);
  }

  /** Each query: its `probes` nearest lists, nearest first, then the rows not yet listed. */
  private approximateScan(queries: Float32Array, queryCount: number, selectors: TopK[], probes: number): void {
    const ivf = this.ivf!;
    const dims = this.dimensions;
    const simd = this.arena.simd;
    const outFloat = simd ? stageQueries(this.arena, queries) : 0;
    this.vectors = this.arena.rows;
    const centroidOut = ivf.stage(queries);
    if (this.probeScratch.length < probes) this.probeScratch = new Int32Array(probes);
    const lists = this.probeScratch;
    const deleted = this.deleted;
    for (let q = 0; q < queryCount; q++) {
      const selector = selectors[q];
      const n = ivf.probe(q, probes, centroidOut, lists);
      const one = simd ? undefined : queries.subarray(q * dims, (q + 1) * dims);
      const scan = (start: number, end: number) => {
        if (simd) simdScanRange(this.arena, outFloat, start, end, queries, q, selector, deleted);
        else flatScan(this.vectors, dims, start, end, one!, 1, [selector], deleted);
      };
      this.forProbedRows(lists, n, scan);
    }
  }

  /**
   * Puts every row into the IVF lists: trains the quantizer (and re-sorts every row)
   * when there is none, or when `retrainWhenGrown` and the rows outgrew it; otherwise
   * assigns the recent rows and merges them into the sorted lists (one pass of memmove).
   * Drops the IVF when the index is under `annMinRows`.
   */
  private maintainLists(retrainWhenGrown: boolean): void {
    this.cancelJob();
    const live = this.rowCount - this.deletedRows;
    if (live < this.annMinRows) {
      this.dropLists();
      return;
    }
    if (this.ivf === undefined || (retrainWhenGrown && live >= this.ivf.trainedRows * ANN_RETRAIN_GROWTH)) {
      this.trainAndSort();
      return;
    }
    this.assignPending();
    if (this.rowCount > this.listedRows) this.mergeRecent();
  }

  private dropLists(): void {
    this.cancelJob();
    this.ivf = undefined;
    this.listedRows = 0;
    this.assignedRows = 0;
    this.listStart = new Int32Array(1);
    this.rowList.fill(-1, 0, this.rowCount);
  }

  private listsFor(live: number): number {
    return Math.max(8, Math.min(8192, Math.round(Math.sqrt(live) * this.annListsPerSqrtRow)));
  }

  /** Trains a new quantizer on the live rows, assigns every row and sorts all rows by list (deleted rows last). */
  private trainAndSort(): void {
    const rowCount = this.rowCount;
    const lists = this.listsFor(rowCount - this.deletedRows);
    this.ivf = IvfQuantizer.train(this.vectors, rowCount, this.dimensions, { lists, forceJs: !this.arena.simd }, this.deleted);
    this.ivf.assign(this.vectors, 0, rowCount, this.rowList);
    this.sortByList();
  }

  /**
   * Training in steps (the job): sample and train (IvfQuantizer.trainSteps), assign
   * every row to the new lists a batch at a time (into jobLists: the current lists keep
   * serving), then switch: adopt the new quantizer and sort the rows by list in one
   * pass. Rows do not move while it runs (merges and compaction wait), writes only
   * append or flag rows.
   */
  private *retrainSteps(): Generator<void, void, void> {
    const lists = this.listsFor(this.size);
    const ivf = yield* IvfQuantizer.trainSteps(this.vectors, this.rowCount, this.dimensions, { lists, forceJs: !this.arena.simd }, this.deleted);
    this.jobLists = new Int32Array(this.rowList.length).fill(-1);
    let done = 0;
    while (done < this.rowCount) {
      yield;
      const end = Math.min(this.rowCount, done + ANN_ASSIGN_BATCH);
      ivf.assign(this.vectors, done, end, this.jobLists);
      done = end;
    }
    this.rowList.set(this.jobLists.subarray(0, this.rowCount));
    this.jobLists = undefined;
    this.ivf = ivf;
    this.sortByList();
  }

  /**
   * Runs pending IVF training steps for about `budgetMs` (at least one step); true
   * while work remains. Writes run one step each and, unless `backgroundMaintenance` is
   * false, an unref'd setImmediate runs slices between event-loop tasks; call this to
   * drive it yourself. Nothing runs while maintenance is paused.
   */
  maintenanceStep(budgetMs = JOB_SLICE_MS): boolean {
    const job = this.job;
    if (job === undefined) return false;
    if (this.maintenancePaused) return true;
    const until = performance.now() + budgetMs;
    do {
      if (job.next().done) {
        if (this.job === job) this.job = undefined;
        return false;
      }
    } while (performance.now() < until);
    return true;
  }

  /** Whether IVF training is in progress (see `maintenanceStep`). */
  get maintenancePending(): boolean {
    return this.job !== undefined;
  }

  private startJob(): void {
    if (this.job !== undefined) return;
    this.job = this.retrainSteps();
    this.scheduleJob();
  }

  private scheduleJob(): void {
    if (!this.backgroundMaintenance || this.jobTimer !== undefined || this.job === undefined) return;
    this.jobTimer = setImmediate(() => {
      this.jobTimer = undefined;
      if (this.maintenancePaused) return; // resumeMaintenance decides what happens to the job
      if (this.maintenanceStep(JOB_SLICE_MS)) this.scheduleJob();
    });
    this.jobTimer.unref();
  }

  private cancelJob(): void {
    if (this.job === undefined) return;
    const job = this.job;
    this.job = undefined;
    this.jobLists = undefined;
    job.return();
    if (this.jobTimer !== undefined) clearImmediate(this.jobTimer);
    this.jobTimer = undefined;
  }

  /** Stable counting sort of every row by rowList (all assigned); deleted rows last, unlisted. */
  private sortByList(): void {
    const ivf = this.ivf!;
    const rowCount = this.rowCount;

    // Stable counting sort of rows by list; deleted rows (if any) go last, unlisted.
    const listCount = ivf.lists;
    const starts = new Int32Array(listCount + 1);
    let liveRows = 0;
    for (let row = 0; row < rowCount; row++) {
      if (this.deleted[row] !== 0) continue;
      starts[this.rowList[row] + 1]++;
      liveRows++;
    }
    for (let l = 0; l < listCount; l++) starts[l + 1] += starts[l];
    const order = new Int32Array(rowCount);
    const next = starts.slice(0, listCount);
    let tail = liveRows;
    for (let row = 0; row < rowCount; row++) {
      if (this.deleted[row] !== 0) order[tail++] = row;
      else order[next[this.rowList[row]]++] = row;
    }
    this.applyOrder(order);
    this.listStart = starts;
    this.listedRows = liveRows;
    this.assignedRows = rowCount;
  }

  /** Assigns the rows not yet assigned to their lists. */
  private assignPending(): void {
    if (this.ivf === undefined || this.assignedRows >= this.rowCount) return;
    if (this.assignedRows < this.listedRows) this.assignedRows = this.listedRows;
    this.ivf.assign(this.vectors, this.assignedRows, this.rowCount, this.rowList);
    this.assignedRows = this.rowCount;
  }

  /**
   * Merges the recent rows (all assigned) into the sorted lists, dropping the deleted
   * ones among them. The recent rows are sorted by list into a side buffer, then the
   * lists are walked from the last down, each slid right (memmove) by the number of
   * recent rows of the lists before it, with its own recent rows put after it. Rows
   * only move right and the highest destinations are written first, so nothing is
   * overwritten before it is moved. Costs one memmove of the rows, no training.
   */
  private mergeRecent(): void {
    const ivf = this.ivf!;
    const dims = this.dimensions;
    const listCount = ivf.lists;
    const first = this.listedRows;
    const rowCount = this.rowCount;
    const { rowList, deleted, rowSlot, slotRow } = this;
    const vectors = this.vectors;
    const ids = this.ids;
    const metas = this.metas;
    // Counting sort of the live recent rows into the side buffer.
    const sideStart = new Int32Array(listCount + 1);
    let dropped = 0;
    for (let row = first; row < rowCount; row++) {
      if (deleted[row] !== 0) dropped++;
      else sideStart[rowList[row] + 1]++;
    }
    for (let l = 0; l < listCount; l++) sideStart[l + 1] += sideStart[l];
    const recent = sideStart[listCount];
    const sideVectors = new Float32Array(recent * dims);
    const sideIds = new Array<string>(recent);
    const sideMetas = new Array<unknown>(recent);
    const sideSlots = new Int32Array(recent);
    const filter = this.filter?.ready ? this.filter : undefined;
    filter?.sideBegin(recent);
    const next = sideStart.slice(0, listCount);
    for (let row = first; row < rowCount; row++) {
      if (deleted[row] !== 0) continue;
      const p = next[rowList[row]]++;
      sideVectors.set(vectors.subarray(row * dims, (row + 1) * dims), p * dims);
      filter?.toSide(row, p);
      sideIds[p] = ids[row];
      sideMetas[p] = metas[row];
      sideSlots[p] = rowSlot[row];
    }
    const listStart = this.listStart;
    const merged = new Int32Array(listCount + 1);
    merged.set(listStart);
    const newRowCount = first + recent;
    merged[listCount] = newRowCount;
    for (let l = listCount - 1; l >= 0; l--) {
      const shift = sideStart[l];
      const from = listStart[l];
      const size = listStart[l + 1] - from;
      const to = from + shift;
      merged[l] = to;
      if (shift > 0 && size > 0) {
        vectors.copyWithin(to * dims, from * dims, (from + size) * dims);
        if (filter !== undefined) filter.copyRows(to, from, from + size);
        deleted.copyWithin(to, from, from + size);
        rowSlot.copyWithin(to, from, from + size);
        for (let i = size - 1; i >= 0; i--) {
          ids[to + i] = ids[from + i];
          metas[to + i] = metas[from + i];
        }
        for (let row = to; row < to + size; row++) if (deleted[row] === 0) slotRow[rowSlot[row]] = row;
      }
      const sideFrom = sideStart[l];
      const sideEnd = sideStart[l + 1];
      if (sideEnd > sideFrom) {
        const at = to + size;
        vectors.set(sideVectors.subarray(sideFrom * dims, sideEnd * dims), at * dims);
        filter?.fromSide(sideFrom, at, sideEnd - sideFrom);
        deleted.fill(0, at, at + sideEnd - sideFrom);
        for (let i = sideFrom; i < sideEnd; i++) {
          const row = at + i - sideFrom;
          ids[row] = sideIds[i];
          metas[row] = sideMetas[i];
          rowSlot[row] = sideSlots[i];
          slotRow[sideSlots[i]] = row;
        }
      }
      if (shift + size + sideEnd - sideFrom > 0) rowList.fill(l, to, to + size + sideEnd - sideFrom);
      if (shift === 0) break; // lists before l neither move nor receive rows
    }
    deleted.fill(0, newRowCount, rowCount);
    rowList.fill(-1, newRowCount, rowCount);
    ids.length = newRowCount;
    metas.length = newRowCount;
    this.deletedRows -= dropped;
    this.rowCount = newRowCount;
    this.listStart = merged;
    this.listedRows = newRowCount;
    this.assignedRows = newRowCount;
    filter?.sideEnd();
  }

  /** Moves row order[pos] to position pos for every pos (vectors in place, one cycle at a time). */
  private applyOrder(order: Int32Array): void {
    const dims = this.dimensions;
    const rowCount = this.rowCount;
    const vectors = this.vectors;
    const done = new Uint8Array(rowCount);
    const held = new Float32Array(dims);
    const filter = this.filter?.ready ? this.filter : undefined;
    for (let start = 0; start < rowCount; start++) {
      if (done[start] !== 0 || order[start] === start) continue;
      held.set(vectors.subarray(start * dims, (start + 1) * dims));
      let pos = start;
      for (;;) {
        done[pos] = 1;
        const from = order[pos];
        if (from === start) {
          vectors.set(held, pos * dims);
          break;
        }
        vectors.copyWithin(pos * dims, from * dims, (from + 1) * dims);
        pos = from;
      }
    }
    filter?.permuteRows(order, rowCount);
    const ids = new Array<string>(rowCount);
    const metas = new Array<unknown>(rowCount);
    const rowList = new Int32Array(this.rowList.length).fill(-1);
    const deleted = new Uint8Array(this.deleted.length);
    const rowSlot = new Int32Array(this.rowSlot.length);
    const slotRow = this.slotRow;
    for (let pos = 0; pos < rowCount; pos++) {
      const row = order[pos];
      ids[pos] = this.ids[row];
      metas[pos] = this.metas[row];
      rowList[pos] = this.rowList[row];
      deleted[pos] = this.deleted[row];
      rowSlot[pos] = this.rowSlot[row];
      if (deleted[pos] === 0) slotRow[rowSlot[pos]] = pos;
    }
    this.ids = ids;
    this.metas = metas;
    this.rowList = rowList;
    this.deleted = deleted;
    this.rowSlot = rowSlot;
  }

  private neighbors(selector: TopK, maxDistance: number | undefined): Neighbor[] {
    selector.sort();
    const found: Neighbor[] = [];
    for (let i = 0; i < selector.length; i++) {
      const distance = Math.sqrt(selector.distanceAt(i));
      if (maxDistance !== undefined && !(distance <= maxDistance)) break;
      const row = selector.rowAt(i);
      const meta = this.metas[row];
      found.push(meta === undefined ? { id: this.ids[row], distance } : { id: this.ids[row], distance, meta });
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
    this.maintenancePaused = true;
  }

  /**
   * Ends a bulk load. With a KD-tree: one `rebuild()`. With IVF lists (imported from a
   * snapshot, or trained before): only the rows written since are assigned and merged
   * in (one memmove pass, no training); when the index outgrew the lists
   * (ANN_RETRAIN_GROWTH) a retraining starts in steps, the current lists serving
   * meanwhile. Without lists (a full replay, a v1 snapshot) they are trained here, once.
   * Dead rows are compacted only past the usual threshold. `inSteps`: a first training
   * runs in steps like a retraining (an index that serves queries meanwhile), not at once.
   */
  resumeMaintenance(options: { inSteps?: boolean } = {}): void {
    this.maintenancePaused = false;
    this.cancelJob();
    this.refreshFilterWhenDue(true);
    if (this.usesTree) {
      this.rebuild();
      return;
    }
    if (this.deletedRows > this.deadRowLimit()) this.compact();
    const ivf = this.ivf;
    if (ivf === undefined) {
      if (this.size < this.annMinRows) return;
      if (options.inSteps) this.startJob();
      else this.maintainLists(true);
      return;
    }
    if (this.size < this.annMinRows) {
      this.dropLists();
      return;
    }
    this.assignPending();
    if (this.rowCount > this.listedRows) this.mergeRecent();
    if (this.size >= ivf.trainedRows * ANN_RETRAIN_GROWTH) this.startJob();
  }

  private deadRowLimit(): number {
    return Math.max(this.deltaLimit, this.rowCount * DELETED_FRACTION_OF_ROWS);
  }

  /** The maintenance a write may call for: compaction, tree rebuild, IVF assignment, merge or retraining. */
  private rebuildWhenDue(): void {
    if (this.maintenancePaused) return;
    if (this.usesTree) {
      const deltaRows = this.rowCount - this.treeRows;
      if (deltaRows > Math.max(this.deltaLimit, this.treeRows * DELTA_FRACTION_OF_TREE) || this.deletedRows > this.deadRowLimit()) this.rebuild();
      return;
    }
    // Rows stay put while a training job runs: compaction and merges wait for it.
    if (this.job === undefined && this.deletedRows > this.deadRowLimit()) this.compact();
    const ivf = this.ivf;
    if (this.size < this.annMinRows) {
      if (ivf !== undefined || this.job !== undefined) this.dropLists();
      return;
    }
    if (this.job !== undefined) this.maintenanceStep(0);
    else if (ivf === undefined || this.size >= ivf.trainedRows * ANN_RETRAIN_GROWTH) this.startJob();
    if (this.ivf === undefined) return;
    if (this.rowCount - this.assignedRows >= ANN_ASSIGN_BATCH) this.assignPending();
    if (this.job === undefined && this.rowCount - this.listedRows > Math.max(this.deltaLimit, this.listedRows * ANN_FOLD_FRACTION)) {
      this.assignPending();
      this.mergeRecent();
    }
  }

  private markDeleted(row: number): void {
    if (this.deleted[row] !== 0) return;
    this.deleted[row] = 1;
    this.metas[row] = undefined;
    this.deletedRows++;
  }

  /** Row capacity for at least `rows` rows. */
  private ensureCapacity(rows: number): void {
    let capacity = this.deleted.length;
    while (capacity < rows) capacity *= 2;
    if (capacity > this.deleted.length) this.grow(capacity);
  }

  private grow(capacity = this.deleted.length * 2): void {
    this.arena.ensureRowCapacity(capacity);
    this.vectors = this.arena.rows;
    this.filter?.ensureRowCapacity(capacity);
    const deleted = new Uint8Array(capacity);
    deleted.set(this.deleted.subarray(0, this.rowCount));
    this.deleted = deleted;
    const rowList = new Int32Array(capacity).fill(-1);
    rowList.set(this.rowList.subarray(0, this.rowCount));
    this.rowList = rowList;
    const grown = (old: Int32Array) => {
      const out = new Int32Array(capacity);
      out.set(old);
      return out;
    };
    this.slotRow = grown(this.slotRow);
    this.rowSlot = grown(this.rowSlot);
    this.freeSlots = grown(this.freeSlots);
    if (this.jobLists !== undefined) {
      const jobLists = new Int32Array(capacity).fill(-1);
      jobLists.set(this.jobLists.subarray(0, this.rowCount));
      this.jobLists = jobLists;
    }
  }

  /** Slides live rows down over deleted ones, keeping their order (and so the IVF lists). */
  private compact(): void {
    if (this.deletedRows === 0) return;
    const dims = this.dimensions;
    const ivf = this.ivf;
    const counts = ivf === undefined ? undefined : new Int32Array(ivf.lists + 1);
    const { listedRows, assignedRows } = this;
    const filter = this.filter?.ready ? this.filter : undefined;
    let newListed = 0;
    let newAssigned = 0;
    let write = 0;
    for (let read = 0; read < this.rowCount; read++) {
      if (this.deleted[read] !== 0) continue;
      if (read < listedRows) {
        counts![this.rowList[read] + 1]++;
        newListed++;
      }
      if (read < assignedRows) newAssigned++;
      if (write !== read) {
        this.vectors.copyWithin(write * dims, read * dims, (read + 1) * dims);
        this.ids[write] = this.ids[read];
        this.metas[write] = this.metas[read];
        this.rowList[write] = this.rowList[read];
        const slot = this.rowSlot[read];
        this.rowSlot[write] = slot;
        this.slotRow[slot] = write;
      }
      write++;
    }
    if (filter !== undefined) {
      // The same moves for the codes, a run of live rows at a time.
      let to = 0;
      let runStart = -1;
      for (let read = 0; read <= this.rowCount; read++) {
        if (read < this.rowCount && this.deleted[read] === 0) {
          if (runStart < 0) runStart = read;
        } else if (runStart >= 0) {
          if (to !== runStart) filter.copyRows(to, runStart, read);
          to += read - runStart;
          runStart = -1;
        }
      }
    }
    this.deleted.fill(0, 0, this.rowCount);
    this.rowList.fill(-1, write, this.rowCount);
    this.ids.length = write;
    this.metas.length = write;
    this.rowCount = write;
    this.deletedRows = 0;
    if (counts !== undefined) {
      for (let l = 0; l < ivf!.lists; l++) counts[l + 1] += counts[l];
      this.listStart = counts;
      this.listedRows = newListed;
      this.assignedRows = newAssigned;
    }
  }

  /**
   * Stores rows in the tree's leaf order so each leaf reads one contiguous block of
   * memory, then tells the tree its order is now the identity.
   */
  private reorderRowsLikeTree(tree: KDTree): void {
    const dims = this.dimensions;
    const order = tree.order;
    const source = this.vectors.slice(0, this.rowCount * dims);
    const vectors = this.vectors;
    const ids: string[] = new Array<string>(this.rowCount);
    const metas: unknown[] = new Array<unknown>(this.rowCount);
    const rowSlot = new Int32Array(this.rowSlot.length);
    for (let pos = 0; pos < this.rowCount; pos++) {
      const row = order[pos];
      vectors.set(source.subarray(row * dims, (row + 1) * dims), pos * dims);
      ids[pos] = this.ids[row];
      metas[pos] = this.metas[row];
      rowSlot[pos] = this.rowSlot[row];
      this.slotRow[rowSlot[pos]] = pos;
    }
    this.rowSlot = rowSlot;
    this.ids = ids;
    this.metas = metas;
    tree.adoptIdentityOrder();
  }
}

/**
 * Flat scan of rows [rowStart, rowEnd) for a batch of queries. Rows are taken in
 * blocks that stay in cache while every query of the batch scans them, and queries go
 * four at a time through one pass over each row: four independent sums keep the FPU
 * busy where one sum would wait on its own additions. Each sum still adds its terms in
 * dimension order, so every distance equals `squaredDistance` bit for bit.
 * Pushes candidates into `selectors[q]` (already reset); skips deleted rows.
 */
export function flatScan(
  vectors: Float32Array,
  dims: number,
  rowStart: number,
  rowEnd: number,
  queries: Float32Array,
  queryCount: number,
  selectors: readonly TopK[],
  deleted?: Uint8Array,
): void {
  for (let blockStart = rowStart; blockStart < rowEnd; blockStart += FLAT_SCAN_BLOCK_ROWS) {
    const blockEnd = Math.min(rowEnd, blockStart + FLAT_SCAN_BLOCK_ROWS);
    let q = 0;
    for (; q + 4 <= queryCount; q += 4) scanFourQueries(vectors, dims, blockStart, blockEnd, queries, q, selectors, deleted);
    for (; q < queryCount; q++) scanOneQuery(vectors, dims, blockStart, blockEnd, queries, q, selectors[q], deleted);
  }
}

function scanOneQuery(
  vectors: Float32Array,
  dims: number,
  rowStart: number,
  rowEnd: number,
  queries: Float32Array,
  query: number,
  selector: TopK,
  deleted: Uint8Array | undefined,
): void {
  const queryOffset = query * dims;
  for (let row = rowStart; row < rowEnd; row++) {
    if (deleted !== undefined && deleted[row] !== 0) continue;
    const worst = selector.worst;
    const distance = squaredDistanceWithin(vectors, row * dims, queries, queryOffset, dims, worst);
    if (distance <= worst) selector.push(row, distance);
  }
}

/** `scanOneQuery` for queries firstQuery..firstQuery+3, sharing each row read. */
function scanFourQueries(
  vectors: Float32Array,
  dims: number,
  rowStart: number,
  rowEnd: number,
  queries: Float32Array,
  firstQuery: number,
  selectors: readonly TopK[],
  deleted: Uint8Array | undefined,
): void {
  const top0 = selectors[firstQuery];
  const top1 = selectors[firstQuery + 1];
  const top2 = selectors[firstQuery + 2];
  const top3 = selectors[firstQuery + 3];
  const q0 = firstQuery * dims;
  const q1 = q0 + dims;
  const q2 = q1 + dims;
  const q3 = q2 + dims;
  const blockEnd = dims - (dims & 7);
  for (let row = rowStart; row < rowEnd; row++) {
    if (deleted !== undefined && deleted[row] !== 0) continue;
    const worst0 = top0.worst;
    const worst1 = top1.worst;
    const worst2 = top2.worst;
    const worst3 = top3.worst;
    let sum0 = 0;
    let sum1 = 0;
    let sum2 = 0;
    let sum3 = 0;
    // v walks the row, d the dimension; queries are read at q0 + d .. q3 + d.
    let v = row * dims;
    let d = 0;
    while (d < blockEnd) {
      for (const stop = d + 8; d < stop; d++, v++) {
        const value = vectors[v];
        const d0 = value - queries[q0 + d];
        const d1 = value - queries[q1 + d];
        const d2 = value - queries[q2 + d];
        const d3 = value - queries[q3 + d];
        sum0 += d0 * d0;
        sum1 += d1 * d1;
        sum2 += d2 * d2;
        sum3 += d3 * d3;
      }
      // Partial sums only grow: once all four are past their bounds, none can qualify.
      if (sum0 > worst0 && sum1 > worst1 && sum2 > worst2 && sum3 > worst3) break;
    }
    if (d === blockEnd) {
      for (; d < dims; d++, v++) {
        const value = vectors[v];
        const d0 = value - queries[q0 + d];
        const d1 = value - queries[q1 + d];
        const d2 = value - queries[q2 + d];
        const d3 = value - queries[q3 + d];
        sum0 += d0 * d0;
        sum1 += d1 * d1;
        sum2 += d2 * d2;
        sum3 += d3 * d3;
      }
    }
    if (sum0 <= worst0) top0.push(row, sum0);
    if (sum1 <= worst1) top1.push(row, sum1);
    if (sum2 <= worst2) top2.push(row, sum2);
    if (sum3 <= worst3) top3.push(row, sum3);
  }
}

/** Whether every value is finite: x * 0 is 0 for finite x and NaN for NaN and ±Infinity; one branch-free pass. */
function allFinite(values: Float32Array): boolean {
  let a = 0;
  let b = 0;
  const n = values.length;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    a += values[i] * 0 + values[i + 1] * 0;
    b += values[i + 2] * 0 + values[i + 3] * 0;
  }
  for (; i < n; i++) a += values[i] * 0;
  return a === 0 && b === 0;
}

/**
 * The oracle: distance from every query to every row, sorted by (distance, id), cut to
 * k and to maxDistance. Simple on purpose; tests and integration checks compare with it.
 */
export function bruteForceSearch(
  vectors: Float32Array,
  ids: readonly string[],
  queries: Float32Array,
  k: number,
  dims: number,
  maxDistance?: number,
): Neighbor[][] {
  const rows = ids.length;
  const results: Neighbor[][] = [];
  for (let q = 0; q * dims < queries.length; q++) {
    const all: { id: string; squared: number }[] = [];
    for (let row = 0; row < rows; row++) {
      const squared = squaredDistance(vectors, row * dims, queries, q * dims, dims);
      if (maxDistance === undefined || Math.sqrt(squared) <= maxDistance) all.push({ id: ids[row], squared });
    }
    all.sort((a, b) => a.squared - b.squared || compareIds(a.id, b.id));
    results.push(all.slice(0, k).map(({ id, squared }) => ({ id, distance: Math.sqrt(squared) })));
  }
  return results;
}
