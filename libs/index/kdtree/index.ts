/**
 * KD-tree over a flat row-major Float32Array (`dims` floats a row) for exact k-NN.
 *
 * Layout (no object per node): `order` is a permutation of the row numbers, and every
 * node owns the contiguous range order[start, end). Inner nodes split their range at the
 * median along the axis of largest variance; children are stored next to each other
 * (right = left + 1). Leaves hold at most `leafSize` rows.
 *
 * The tree keeps no reference to the vectors: `search` takes them, so the owner may grow
 * (reallocate) its buffer as long as rows 0..rowCount-1 keep their contents.
 */
import { squaredDistanceWithin } from '../exact-distance/index.js';
import type { TopK } from '../topk/index.js';

export interface KDTreeOptions {
  /** Most rows in a leaf bucket (default 32). */
  leafSize?: number;
}

const DEFAULT_LEAF_SIZE = 32;
/** Rows sampled per node when choosing the split axis; enough to rank variances. */
const AXIS_SAMPLE_ROWS = 1024;
/**
 * Relative slack on box-distance pruning. The incrementally updated box distance can
 * carry ~1e-14 relative rounding error against the kernel's distance; pruning only when
 * it exceeds the k-th distance by 1e-9 keeps the search exact (ties included).
 */
const PRUNE_SLACK = 1e-9;

export class KDTree {
  readonly dims: number;
  readonly leafSize: number;
  readonly rowCount: number;
  /** Position -> row number; each node covers order[start, end). */
  readonly order: Int32Array;

  private readonly nodeStart: Int32Array;
  private readonly nodeEnd: Int32Array;
  /** Split axis, or -1 for a leaf. */
  private readonly nodeAxis: Int32Array;
  private readonly nodeSplit: Float64Array;
  /** First child; the second child is nodeLeft + 1. */
  private readonly nodeLeft: Int32Array;
  private nodeCount = 0;
  private maxDepth = 0;

  // Search scratch, sized once after the build (search never allocates).
  private readonly gaps: Float64Array;
  private stackNode!: Int32Array;
  private stackBox!: Float64Array;
  private stackAxis!: Int32Array;
  private stackGap!: Float64Array;
  private stackDepth!: Int32Array;
  private undoAxis!: Int32Array;
  private undoGap!: Float64Array;

  /** Builds over rows 0..rowCount-1 of `vectors`. */
  constructor(vectors: Float32Array, rowCount: number, dims: number, options: KDTreeOptions = {}) {
    const leafSize = options.leafSize ?? DEFAULT_LEAF_SIZE;
    if (!Number.isInteger(dims) || dims < 1) throw new RangeError(`dims must be a positive integer, got ${dims}`);
    if (!Number.isInteger(leafSize) || leafSize < 2) throw new RangeError(`leafSize must be an integer >= 2, got ${leafSize}`);
    if (!Number.isInteger(rowCount) || rowCount < 0 || rowCount * dims > vectors.length) {
      throw new RangeError(`rowCount ${rowCount} does not fit ${vectors.length} floats of ${dims} dimensions`);
    }
    this.dims = dims;
    this.leafSize = leafSize;
    this.rowCount = rowCount;
    this.order = new Int32Array(rowCount);
    for (let i = 0; i < rowCount; i++) this.order[i] = i;

    // Every leaf of a split node holds at least floor((leafSize + 1) / 2) rows.
    const maxLeaves = rowCount <= leafSize ? 1 : Math.ceil(rowCount / Math.floor((leafSize + 1) / 2));
    const maxNodes = 2 * maxLeaves;
    this.nodeStart = new Int32Array(maxNodes);
    this.nodeEnd = new Int32Array(maxNodes);
    this.nodeAxis = new Int32Array(maxNodes);
    this.nodeSplit = new Float64Array(maxNodes);
    this.nodeLeft = new Int32Array(maxNodes);
    this.gaps = new Float64Array(dims);

    if (rowCount > 0) {
      const keys = new Float64Array(rowCount);
      const sums = new Float64Array(dims);
      const squares = new Float64Array(dims);
      this.nodeCount = 1;
      this.buildNode(vectors, keys, sums, squares, 0, 0, rowCount, 0);
    }
    this.allocateSearchScratch();
  }

  /** Approximate memory held by the tree's typed arrays. */
  get bytes(): number {
    return (
      this.order.byteLength +
      this.nodeStart.byteLength +
      this.nodeEnd.byteLength +
      this.nodeAxis.byteLength +
      this.nodeSplit.byteLength +
      this.nodeLeft.byteLength
    );
  }

  /**
   * For owners that physically reorder their rows by `order` (row i now holds what was
   * row order[i]) so leaves read contiguous memory: makes `order` the identity.
   */
  adoptIdentityOrder(): void {
    for (let i = 0; i < this.order.length; i++) this.order[i] = i;
  }

  /**
   * Exact k-NN: pushes every row that can belong to the top-k of `query` into `topk`
   * (already reset by the caller, possibly holding candidates from elsewhere). Rows
   * with `deleted[row] !== 0` are skipped. `vectors` must be the data the tree was built
   * over.
   */
  search(vectors: Float32Array, query: Float32Array, queryOffset: number, topk: TopK, deleted?: Uint8Array): void {
    if (this.nodeCount === 0) return;
    const { dims, order, nodeStart, nodeEnd, nodeAxis, nodeSplit, nodeLeft, gaps } = this;
    const { stackNode, stackBox, stackAxis, stackGap, stackDepth, undoAxis, undoGap } = this;
    gaps.fill(0);

    // Depth-first with an explicit stack of far children. `gaps[a]` is the distance
    // from the query to the current node's box along axis a; the box distance is the
    // sum of their squares. Entering a far child changes one gap; the change is logged
    // per depth (undoAxis/undoGap) and rolled back when the walk jumps to a shallower frame.
    stackNode[0] = 0;
    stackBox[0] = 0;
    stackAxis[0] = -1;
    stackGap[0] = 0;
    stackDepth[0] = 0;
    let top = 1;
    let applied = 0; // undo entries 0..applied-1 are in effect

    while (top > 0) {
      top--;
      const box = stackBox[top];
      let worst = topk.worst;
      if (box > worst + worst * PRUNE_SLACK) continue;
      let node = stackNode[top];
      let depth = stackDepth[top];
      while (applied > depth) {
        applied--;
        const axis = undoAxis[applied];
        if (axis >= 0) gaps[axis] = undoGap[applied];
      }
      const enteredAxis = stackAxis[top];
      undoAxis[depth] = enteredAxis;
      if (enteredAxis >= 0) {
        undoGap[depth] = gaps[enteredAxis];
        gaps[enteredAxis] = stackGap[top];
      }
      applied = depth + 1;

      // Walk down the near side, stacking far sides that may still hold neighbours.
      let axis = nodeAxis[node];
      while (axis >= 0) {
        const diff = query[queryOffset + axis] - nodeSplit[node];
        const left = nodeLeft[node];
        const near = diff < 0 ? left : left + 1;
        const far = diff < 0 ? left + 1 : left;
        const oldGap = gaps[axis];
        const farBox = box + (diff * diff - oldGap * oldGap);
        worst = topk.worst;
        depth++;
        if (farBox <= worst + worst * PRUNE_SLACK) {
          stackNode[top] = far;
          stackBox[top] = farBox;
          stackAxis[top] = axis;
          stackGap[top] = diff < 0 ? -diff : diff;
          stackDepth[top] = depth;
          top++;
        }
        undoAxis[depth] = -1; // the near child keeps its parent's box distance
        applied = depth + 1;
        node = near;
        axis = nodeAxis[node];
      }

      for (let pos = nodeStart[node], end = nodeEnd[node]; pos < end; pos++) {
        const row = order[pos];
        if (deleted !== undefined && deleted[row] !== 0) continue;
        worst = topk.worst;
        const distance = squaredDistanceWithin(vectors, row * dims, query, queryOffset, dims, worst);
        if (distance <= worst) topk.push(row, distance);
      }
    }
  }

  private buildNode(
    vectors: Float32Array,
    keys: Float64Array,
    sums: Float64Array,
    squares: Float64Array,
    node: number,
    start: number,
    end: number,
    depth: number,
  ): void {
    this.nodeStart[node] = start;
    this.nodeEnd[node] = end;
    if (depth > this.maxDepth) this.maxDepth = depth;
    if (end - start <= this.leafSize) {
      this.nodeAxis[node] = -1;
      return;
    }
    const { dims, order } = this;
    const axis = this.widestAxis(vectors, sums, squares, start, end);
    for (let pos = start; pos < end; pos++) keys[pos] = vectors[order[pos] * dims + axis];
    const mid = start + ((end - start) >> 1);
    selectMedian(keys, order, mid, start, end - 1);

    const left = this.nodeCount;
    this.nodeCount += 2;
    this.nodeAxis[node] = axis;
    this.nodeSplit[node] = keys[mid]; // rows before mid are <= it, rows from mid on are >= it
    this.nodeLeft[node] = left;
    this.buildNode(vectors, keys, sums, squares, left, start, mid, depth + 1);
    this.buildNode(vectors, keys, sums, squares, left + 1, mid, end, depth + 1);
  }

  /** Axis of largest variance over (a stride sample of) order[start, end). */
  private widestAxis(vectors: Float32Array, sums: Float64Array, squares: Float64Array, start: number, end: number): number {
    const { dims, order } = this;
    const step = Math.max(1, Math.floor((end - start) / AXIS_SAMPLE_ROWS));
    sums.fill(0);
    squares.fill(0);
    let count = 0;
    for (let pos = start; pos < end; pos += step) {
      const offset = order[pos] * dims;
      for (let a = 0; a < dims; a++) {
        const value = vectors[offset + a];
        sums[a] += value;
        squares[a] += value * value;
      }
      count++;
    }
    let bestAxis = 0;
    let bestVariance = -1;
    for (let a = 0; a < dims; a++) {
      const mean = sums[a] / count;
      const variance = squares[a] / count - mean * mean;
      if (variance > bestVariance) {
        bestVariance = variance;
        bestAxis = a;
      }
    }
    return bestAxis;
  }

  private allocateSearchScratch(): void {
    // At most one pending far child per level, plus the root frame.
    const frames = this.maxDepth + 2;
    this.stackNode = new Int32Array(frames);
    this.stackBox = new Float64Array(frames);
    this.stackAxis = new Int32Array(frames);
    this.stackGap = new Float64Array(frames);
    this.stackDepth = new Int32Array(frames);
    this.undoAxis = new Int32Array(frames);
    this.undoGap = new Float64Array(frames);
  }
}

/**
 * Floyd-Rivest selection (as in mourner/kdbush): reorders keys[left..right] (and `order`
 * alongside) so keys[k] is the value that sorted order would put there, with smaller
 * or equal keys before it and greater or equal after it.
 */
function selectMedian(keys: Float64Array, order: Int32Array, k: number, left: number, right: number): void {
  while (right > left) {
    if (right - left > 600) {
      const n = right - left + 1;
      const m = k - left + 1;
      const z = Math.log(n);
      const s = 0.5 * Math.exp((2 * z) / 3);
      const sd = 0.5 * Math.sqrt((z * s * (n - s)) / n) * (m - n / 2 < 0 ? -1 : 1);
      const newLeft = Math.max(left, Math.floor(k - (m * s) / n + sd));
      const newRight = Math.min(right, Math.floor(k + ((n - m) * s) / n + sd));
      selectMedian(keys, order, k, newLeft, newRight);
    }
    const pivot = keys[k];
    let i = left;
    let j = right;
    swap(keys, order, left, k);
    if (keys[right] > pivot) swap(keys, order, left, right);
    while (i < j) {
      swap(keys, order, i, j);
      i++;
      j--;
      while (keys[i] < pivot) i++;
      while (keys[j] > pivot) j--;
    }
    if (keys[left] === pivot) swap(keys, order, left, j);
    else {
      j++;
      swap(keys, order, j, right);
    }
    if (j <= k) left = j + 1;
    if (k <= j) right = j - 1;
  }
}

function swap(keys: Float64Array, order: Int32Array, i: number, j: number): void {
  const key = keys[i];
  keys[i] = keys[j];
  keys[j] = key;
  const row = order[i];
  order[i] = order[j];
  order[j] = row;
}
