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
import { KDTree } from '../kdtree/index.js';
import { TopK, compareIds } from '../topk/index.js';
import { squaredDistance, squaredDistanceWithin } from './distance.js';

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
    this.vectors = new Float32Array(INITIAL_CAPACITY * dimensions);
    this.deleted = new Uint8Array(INITIAL_CAPACITY);
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
    if (!this.usesTree) return;
    this.tree = new KDTree(this.vectors, this.rowCount, this.dimensions, { leafSize: this.leafSize });
    this.treeRows = this.rowCount;
    this.reorderRowsLikeTree(this.tree);
  }

  /**
   * Exact k nearest live faces for each query of `queries` (nq * dims floats), sorted by
   * (distance asc, id asc); with `maxDistance`, only faces at distance <= maxDistance.
   */
  search(queries: Float32Array, k: number, maxDistance?: number): Neighbor[][] {
    const dims = this.dimensions;
    if (queries.length % dims !== 0) throw new RangeError(`queries hold ${queries.length} floats, not a multiple of ${dims}`);
    if (!Number.isInteger(k) || k < 0) throw new RangeError(`k must be a non-negative integer, got ${k}`);
    if (maxDistance !== undefined && !(maxDistance >= 0)) throw new RangeError(`maxDistance must be >= 0, got ${maxDistance}`);
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

    const tree = this.tree;
    if (tree !== undefined) {
      for (let q = 0; q < queryCount; q++) tree.search(this.vectors, queries, q * dims, selectors[q], this.deleted);
    }
    flatScan(this.vectors, dims, this.treeRows, this.rowCount, queries, queryCount, selectors, this.deleted);

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
      bytes: this.vectors.byteLength + this.deleted.byteLength + (this.tree?.bytes ?? 0) + idBytes,
    };
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

  /** Rebuilds once the delta, or the share of dead rows, costs more than a rebuild saves. */
  private rebuildWhenDue(): void {
    const deltaRows = this.rowCount - this.treeRows;
    if (this.usesTree && deltaRows > Math.max(this.deltaLimit, this.treeRows * DELTA_FRACTION_OF_TREE)) this.rebuild();
    else if (this.deletedRows > Math.max(this.deltaLimit, this.rowCount * DELETED_FRACTION_OF_ROWS)) this.rebuild();
  }

  private markDeleted(row: number): void {
    if (this.deleted[row] !== 0) return;
    this.deleted[row] = 1;
    this.metas[row] = undefined;
    this.deletedRows++;
  }

  private grow(): void {
    const capacity = this.deleted.length * 2;
    const vectors = new Float32Array(capacity * this.dimensions);
    vectors.set(this.vectors.subarray(0, this.rowCount * this.dimensions));
    const deleted = new Uint8Array(capacity);
    deleted.set(this.deleted.subarray(0, this.rowCount));
    this.vectors = vectors;
    this.deleted = deleted;
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
    const vectors = new Float32Array(this.vectors.length);
    const ids: string[] = new Array<string>(this.rowCount);
    const metas: unknown[] = new Array<unknown>(this.rowCount);
    for (let pos = 0; pos < this.rowCount; pos++) {
      const row = order[pos];
      vectors.set(this.vectors.subarray(row * dims, (row + 1) * dims), pos * dims);
      ids[pos] = this.ids[row];
      metas[pos] = this.metas[row];
      this.rowById.set(ids[pos], pos);
    }
    this.vectors = vectors;
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
