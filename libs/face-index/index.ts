/**
 * What one shard holds: faces (id, 128-d vector, optional meta) and exact k-NN search.
 *
 * Rows live in one growable Float32Array. When the index uses a KD-tree, rows
 * 0..treeRows-1 are covered by it and the rows after them are the "delta", scanned
 * exhaustively until `rebuild` folds them in. In 128 dimensions the tree prunes too
 * little to beat a flat scan, so by default there is no tree and every row is scanned
 * (see TREE_MAX_DIMENSIONS). Replacing or deleting a face only flags its row; `rebuild`
 * compacts flagged rows away.
 */
import { IvfQuantizer } from '../ann/ivf.js';
import { KDTree } from '../kdtree/index.js';
import { VectorArena } from '../simd-kernel/index.js';
import { TopK, compareIds } from '../topk/index.js';
import { squaredDistance, squaredDistanceWithin } from './distance.js';
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
   * k-means lists; rows kept sorted by list). Built by `rebuild()` and automatically
   * once `minRows` faces are held; `false` turns it off (approximate requests are then
   * answered exactly). Not used with a KD-tree (strategy 'tree', or under 17 dims).
   */
  approximate?: false | ApproximateOptions;
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
   * 1/8 of the lists (at least 1; effort >= 8 probes every list, i.e. exact). Time per
   * query grows about linearly with effort; misses shrink (effort 0.5: recall@1 ~0.96,
   * 1: ~0.99, 1.5: ~0.998 on that data).
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
/** Rows not yet in the IVF lists tolerated before they are folded in (or this many). */
const ANN_DELTA_FRACTION = 0.1;
/** The IVF is retrained (new centroids) once it lists this many times the rows it was trained on. */
const ANN_RETRAIN_GROWTH = 2;
/**
 * Squared-distance bound for a `maxDistance` filter, a hair loose so the final
 * `Math.sqrt(d) <= maxDistance` check (the one the oracle uses) decides the edge cases.
 */
const MAX_DISTANCE_SLACK = 1e-12;

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
  private readonly rowById = new Map<string, number>();
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
  private listStart = new Int32Array(1);
  private probeScratch = new Int32Array(64);

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
    const approximate = options.approximate ?? {};
    this.annMinRows = approximate === false || this.usesTree ? Infinity : (approximate.minRows ?? DEFAULT_ANN_MIN_ROWS);
    this.annListsPerSqrtRow = approximate === false ? 1 : (approximate.listsPerSqrtRow ?? 4);
    if (!(this.annMinRows >= 1)) throw new RangeError(`approximate.minRows must be >= 1`);
    if (!(this.annListsPerSqrtRow > 0)) throw new RangeError(`approximate.listsPerSqrtRow must be > 0`);
  }

  /** Live faces (deleted and replaced rows excluded). */
  get size(): number {
    return this.rowById.size;
  }

  has(id: string): boolean {
    return this.rowById.has(id);
  }

  /** Every live face, in row order (what a snapshot writes). `vector` is a view: copy it to keep it. */
  forEachFace(visit: (id: string, vector: Float32Array, meta: unknown) => void): void {
    const dims = this.dimensions;
    for (let row = 0; row < this.rowCount; row++) {
      if (this.deleted[row]) continue;
      visit(this.ids[row], this.vectors.subarray(row * dims, (row + 1) * dims), this.metas[row]);
    }
  }

  /** Adds a face, or replaces the face with the same id (last write wins). */
  upsert(id: string, vector: Float32Array, meta?: unknown): void {
    const dims = this.dimensions;
    if (vector.length !== dims) throw new RangeError(`vector has ${vector.length} numbers, expected ${dims}`);
    for (let i = 0; i < dims; i++) {
      if (!Number.isFinite(vector[i])) throw new RangeError(`vector element ${i} is ${vector[i]} (must be finite)`);
    }
    const previous = this.rowById.get(id);
    if (previous !== undefined) this.markDeleted(previous);

    if (this.rowCount === this.deleted.length) this.grow();
    const row = this.rowCount++;
    this.vectors.set(vector, row * dims);
    this.deleted[row] = 0;
    this.rowList[row] = -1;
    this.ids[row] = id;
    this.metas[row] = meta;
    this.rowById.set(id, row);

    this.rebuildWhenDue();
  }

  /** Removes a face; true when the id was present. */
  delete(id: string): boolean {
    const row = this.rowById.get(id);
    if (row === undefined) return false;
    this.rowById.delete(id);
    this.markDeleted(row);
    this.rebuildWhenDue();
    return true;
  }

  /**
   * Drops deleted rows and, when this index uses a KD-tree, rebuilds it over every live
   * row (the delta becomes empty).
   */
  rebuild(): void {
    this.compact();
    if (!this.usesTree) {
      this.foldIntoLists(true);
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

    if (options.approximate === true && this.ivf !== undefined) {
      const probes = Math.max(1, Math.ceil(effort * PROBE_SHARE_AT_EFFORT_1 * this.ivf.lists));
      if (probes < this.ivf.lists) {
        this.approximateScan(queries, queryCount, selectors, probes);
        for (let q = 0; q < queryCount; q++) results.push(this.neighbors(selectors[q], maxDistance));
        return results;
      }
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
    let idBytes = 0;
    for (const id of this.rowById.keys()) idBytes += id.length * 2;
    return {
      faces: this.size,
      treeRows: this.treeRows,
      deltaRows: this.rowCount - this.treeRows,
      deletedRows: this.deletedRows,
      bytes: this.arena.bytes + this.deleted.byteLength + (this.tree?.bytes ?? 0) + idBytes,
      kernel: this.arena.simd ? 'wasm-simd' : 'js',
      lists: this.ivf?.lists ?? 0,
      listedRows: this.ivf ? this.listedRows : 0,
    };
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
    const { listStart, deleted, listedRows, rowCount } = this;
    for (let q = 0; q < queryCount; q++) {
      const selector = selectors[q];
      const n = ivf.probe(q, probes, centroidOut, lists);
      const one = simd ? undefined : queries.subarray(q * dims, (q + 1) * dims);
      for (let i = 0; i <= n; i++) {
        const start = i < n ? listStart[lists[i]] : listedRows;
        const end = i < n ? listStart[lists[i] + 1] : rowCount;
        if (start >= end) continue;
        if (simd) simdScanRange(this.arena, outFloat, start, end, queries, q, selector, deleted);
        else flatScan(this.vectors, dims, start, end, one!, 1, [selector], deleted);
      }
    }
  }

  /**
   * Sorts every row into its IVF list (rows must be compacted, or `allowDeleted`):
   * trains the quantizer when there is none or the rows outgrew it, assigns the rows
   * not yet assigned, and reorders rows so each list is contiguous. Drops the IVF when
   * the index is under `annMinRows`.
   */
  private foldIntoLists(retrainWhenGrown: boolean): void {
    const dims = this.dimensions;
    const rowCount = this.rowCount;
    if (rowCount - this.deletedRows < this.annMinRows) {
      this.ivf = undefined;
      this.listedRows = 0;
      return;
    }
    const live = rowCount - this.deletedRows;
    if (this.ivf === undefined || (retrainWhenGrown && live >= this.ivf.trainedRows * ANN_RETRAIN_GROWTH)) {
      const lists = Math.max(8, Math.min(8192, Math.round(Math.sqrt(live) * this.annListsPerSqrtRow)));
      this.ivf = IvfQuantizer.train(this.vectors, rowCount, dims, { lists, forceJs: !this.arena.simd }, this.deleted);
      this.rowList.fill(-1, 0, rowCount);
    }
    const ivf = this.ivf;
    let firstUnassigned = 0;
    while (firstUnassigned < rowCount && this.rowList[firstUnassigned] >= 0) firstUnassigned++;
    ivf.assign(this.vectors, firstUnassigned, rowCount, this.rowList);

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
  }

  /** Moves row order[pos] to position pos for every pos (vectors in place, one cycle at a time). */
  private applyOrder(order: Int32Array): void {
    const dims = this.dimensions;
    const rowCount = this.rowCount;
    const vectors = this.vectors;
    const done = new Uint8Array(rowCount);
    const held = new Float32Array(dims);
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
    const ids = new Array<string>(rowCount);
    const metas = new Array<unknown>(rowCount);
    const rowList = new Int32Array(this.rowList.length).fill(-1);
    const deleted = new Uint8Array(this.deleted.length);
    for (let pos = 0; pos < rowCount; pos++) {
      const row = order[pos];
      ids[pos] = this.ids[row];
      metas[pos] = this.metas[row];
      rowList[pos] = this.rowList[row];
      deleted[pos] = this.deleted[row];
      if (deleted[pos] === 0) this.rowById.set(ids[pos], pos);
    }
    this.ids = ids;
    this.metas = metas;
    this.rowList = rowList;
    this.deleted = deleted;
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

  resumeMaintenance(): void {
    this.maintenancePaused = false;
    this.rebuild();
  }

  /** Rebuilds once the delta, or the share of dead rows, costs more than a rebuild saves. */
  private rebuildWhenDue(): void {
    if (this.maintenancePaused) return;
    const deltaRows = this.rowCount - this.treeRows;
    if (this.usesTree && deltaRows > Math.max(this.deltaLimit, this.treeRows * DELTA_FRACTION_OF_TREE)) this.rebuild();
    else if (this.deletedRows > Math.max(this.deltaLimit, this.rowCount * DELETED_FRACTION_OF_ROWS)) this.rebuild();
    else if (this.size >= this.annMinRows && this.rowCount - this.listedRows > Math.max(this.deltaLimit, this.listedRows * ANN_DELTA_FRACTION)) this.rebuild();
  }

  private markDeleted(row: number): void {
    if (this.deleted[row] !== 0) return;
    this.deleted[row] = 1;
    this.metas[row] = undefined;
    this.deletedRows++;
  }

  private grow(): void {
    const capacity = this.deleted.length * 2;
    this.arena.ensureRowCapacity(capacity);
    this.vectors = this.arena.rows;
    const deleted = new Uint8Array(capacity);
    deleted.set(this.deleted.subarray(0, this.rowCount));
    this.deleted = deleted;
    const rowList = new Int32Array(capacity).fill(-1);
    rowList.set(this.rowList.subarray(0, this.rowCount));
    this.rowList = rowList;
  }

  /** Slides live rows down over deleted ones, keeping their order. */
  private compact(): void {
    if (this.deletedRows === 0) return;
    const dims = this.dimensions;
    let write = 0;
    for (let read = 0; read < this.rowCount; read++) {
      if (this.deleted[read] !== 0) continue;
      if (write !== read) {
        this.vectors.copyWithin(write * dims, read * dims, (read + 1) * dims);
        this.ids[write] = this.ids[read];
        this.metas[write] = this.metas[read];
        this.rowList[write] = this.rowList[read];
        this.rowById.set(this.ids[write], write);
      }
      write++;
    }
    this.deleted.fill(0, 0, this.rowCount);
    this.ids.length = write;
    this.metas.length = write;
    this.rowCount = write;
    this.deletedRows = 0;
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
    for (let pos = 0; pos < this.rowCount; pos++) {
      const row = order[pos];
      vectors.set(source.subarray(row * dims, (row + 1) * dims), pos * dims);
      ids[pos] = this.ids[row];
      metas[pos] = this.metas[row];
      this.rowById.set(ids[pos], pos);
    }
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
