/**
 * A KD-tree over the leading principal axes as the lists of approximate search: the
 * design the project started from (a KD-tree a shard) where it can pay at 128-d face
 * descriptors, whose variance is concentrated in the leading axes. No k-means: the axes
 * come from the covariance of a sample (principal-axes.ts), and each node splits its
 * sample points at the median of the axis where they spread most, down to `lists`
 * leaves (a power of two). A leaf is a list; a query visits leaves best-bin-first, in
 * order of the distance from its projection to each leaf's box (a lower bound of the
 * distance in those axes, since the axes are orthonormal).
 *
 * Whether it beats the k-means lists is measured in bench/search/partition.ts; the
 * default partition is the one that won there (FaceIndexOptions.approximate.partition).
 */
import { seededRandom } from '../seeded-random/index.js';
import { runToEnd } from '../stepwise/index.js';
import { nthSmallest } from '../topk/index.js';
import { countLive, readerOf, sampleLiveRows, type RowReader } from './ivf.js';
import type { ListPartition } from './list-partition.js';
import { topAxes } from './principal-axes.js';

export interface KdPartitionOptions {
  /** Leaves, rounded down to a power of two (at least 1). */
  lists: number;
  /** Principal axes the tree splits on (default 16). */
  axes?: number;
  /** Sample points a leaf when building (default 32). */
  samplePerList?: number;
  seed?: number;
}

/** Sample rows the covariance is taken over (the axes need only be good, not exact). */
const COVARIANCE_ROWS = 4096;
/** Rows projected a training step. */
const PROJECT_STEP_ROWS = 4096;

export class KdPartition implements ListPartition {
  readonly dims: number;
  readonly lists: number;
  readonly trainedRows: number;
  private readonly axes: number;
  private readonly mean: Float32Array;
  /** axes x dims, orthonormal rows. */
  private readonly basis: Float32Array;
  /** Internal node i (1..lists-1; children 2i and 2i+1, leaves lists..2 lists-1): its split axis and value. */
  private readonly splitAxis: Int32Array;
  private readonly splitValue: Float32Array;
  /** Each node's box (nodes 1..2 lists-1): per axis its low and high edge (±Infinity when open). */
  private readonly boxLow: Float32Array;
  private readonly boxHigh: Float32Array;
  /** Projections of the staged queries, `axes` each. */
  private staged = new Float32Array(0);
  private stagedCount = 0;
  /** One row, and its projection. */
  private readonly row: Float32Array;
  private readonly z: Float32Array;
  /** Best-bin-first heap: bounds and nodes. */
  private heapBound = new Float64Array(64);
  private heapNode = new Int32Array(64);
  private heapSize = 0;
  /** Lower bound of each leaf the last `probe` reached (for `nearestFirst`), and the query it was for. */
  private readonly leafBound: Float64Array;
  private boundsQuery = -1;

  private constructor(dims: number, axes: number, lists: number, trainedRows: number, mean: Float32Array, basis: Float32Array) {
    this.dims = dims;
    this.axes = axes;
    this.lists = lists;
    this.trainedRows = trainedRows;
    this.mean = mean;
    this.basis = basis;
    this.splitAxis = new Int32Array(lists);
    this.splitValue = new Float32Array(lists);
    this.boxLow = new Float32Array(2 * lists * axes).fill(-Infinity);
    this.boxHigh = new Float32Array(2 * lists * axes).fill(Infinity);
    this.row = new Float32Array(dims);
    this.z = new Float32Array(axes);
    this.leafBound = new Float64Array(lists);
  }

  get bytes(): number {
    return this.basis.byteLength + this.splitValue.byteLength * 2 + this.boxLow.byteLength * 2 + this.leafBound.byteLength;
  }

  static train(vectors: Float32Array | RowReader, rowCount: number, dims: number, options: KdPartitionOptions, deleted?: Uint8Array): KdPartition {
    return runToEnd(KdPartition.trainSteps(vectors, rowCount, dims, options, deleted));
  }

  /** `train` in steps: sample, covariance and axes (a step a round), projections a block a step, then the splits. */
  static *trainSteps(
    vectors: Float32Array | RowReader,
    rowCount: number,
    dims: number,
    options: KdPartitionOptions,
    deleted?: Uint8Array,
  ): Generator<void, KdPartition, void> {
    const rows = readerOf(vectors, dims);
    const random = seededRandom(options.seed ?? 12345);
    const axes = Math.max(1, Math.min(options.axes ?? 16, dims));
    const live = countLive(rowCount, deleted);
    const wanted = Math.max(1, Math.min(options.lists, Math.floor(live / 2)));
    const lists = 2 ** Math.floor(Math.log2(wanted));
    const sample = sampleLiveRows(rows, rowCount, dims, deleted, lists * (options.samplePerList ?? 32), random);
    const count = sample.length / dims;
    yield;
    const mean = new Float32Array(dims);
    for (let i = 0; i < count; i++) for (let d = 0; d < dims; d++) mean[d] += sample[i * dims + d] / count;
    const covariance = new Float64Array(dims * dims);
    const covRows = Math.min(count, COVARIANCE_ROWS);
    const y = new Float64Array(dims);
    for (let i = 0; i < covRows; i++) {
      for (let d = 0; d < dims; d++) y[d] = sample[i * dims + d] - mean[d];
      for (let a = 0; a < dims; a++) for (let b = a; b < dims; b++) covariance[a * dims + b] += y[a] * y[b];
    }
    for (let a = 0; a < dims; a++) for (let b = 0; b < a; b++) covariance[a * dims + b] = covariance[b * dims + a];
    const basis64 = new Float64Array(axes * dims);
    yield* topAxes(covariance, dims, basis64, axes);
    const partition = new KdPartition(dims, axes, lists, live, mean, Float32Array.from(basis64));
    const projected = new Float32Array(count * axes);
    for (let i = 0; i < count; i++) {
      partition.project(sample, i * dims, projected, i * axes);
      if ((i + 1) % PROJECT_STEP_ROWS === 0) yield;
    }
    yield;
    partition.split(projected, count);
    return partition;
  }

  /** Builds the splits from the projected sample (count points, `axes` each): median of the widest axis, node by node. */
  private split(points: Float32Array, count: number): void {
    const { axes, lists } = this;
    const order = Int32Array.from({ length: count }, (_, i) => i);
    const values = new Float32Array(count);
    // Node n holds order[start[n]..end[n]) (heap order, breadth first).
    const start = new Int32Array(2 * lists);
    const end = new Int32Array(2 * lists);
    end[1] = count;
    for (let node = 1; node < lists; node++) {
      const from = start[node];
      const to = end[node];
      let axis = 0;
      let widest = -1;
      for (let a = 0; a < axes; a++) {
        let sum = 0;
        let squares = 0;
        for (let i = from; i < to; i++) {
          const v = points[order[i] * axes + a];
          sum += v;
          squares += v * v;
        }
        const n = Math.max(1, to - from);
        const variance = squares / n - (sum / n) ** 2;
        if (variance > widest) {
          widest = variance;
          axis = a;
        }
      }
      const half = (to - from) >> 1;
      let cut = 0;
      if (to > from) {
        for (let i = from; i < to; i++) values[i - from] = points[order[i] * axes + axis];
        cut = nthSmallest(values, to - from, Math.max(0, half - 1));
      }
      // Points <= cut go left (stable partition, so the halves stay near equal).
      let left = from;
      const right: number[] = [];
      for (let i = from; i < to; i++) {
        const p = order[i];
        if (points[p * axes + axis] <= cut) order[left++] = p;
        else right.push(p);
      }
      for (let i = 0; i < right.length; i++) order[left + i] = right[i];
      this.splitAxis[node] = axis;
      this.splitValue[node] = cut;
      for (const child of [2 * node, 2 * node + 1]) {
        this.boxLow.set(this.boxLow.subarray(node * axes, (node + 1) * axes), child * axes);
        this.boxHigh.set(this.boxHigh.subarray(node * axes, (node + 1) * axes), child * axes);
      }
      this.boxHigh[2 * node * axes + axis] = cut;
      this.boxLow[(2 * node + 1) * axes + axis] = cut;
      start[2 * node] = from;
      end[2 * node] = left;
      start[2 * node + 1] = left;
      end[2 * node + 1] = to;
    }
  }

  /** out[at..at + axes) = basis (source[from..] - mean). */
  private project(source: Float32Array, from: number, out: Float32Array, at: number): void {
    const { dims, axes, basis, mean } = this;
    for (let a = 0; a < axes; a++) {
      let sum = 0;
      const b = a * dims;
      for (let d = 0; d < dims; d++) sum += basis[b + d] * (source[from + d] - mean[d]);
      out[at + a] = sum;
    }
  }

  /** The leaf of a projection z[at..]. */
  private leafOf(z: Float32Array, at: number): number {
    let node = 1;
    while (node < this.lists) node = 2 * node + (z[at + this.splitAxis[node]] <= this.splitValue[node] ? 0 : 1);
    return node - this.lists;
  }

  assign(vectors: Float32Array | RowReader, rowStart: number, rowEnd: number, out: Int32Array): void {
    const rows = readerOf(vectors, this.dims);
    for (let row = rowStart; row < rowEnd; row++) {
      rows.readRows(row, 1, this.row, 0);
      this.project(this.row, 0, this.z, 0);
      out[row] = this.leafOf(this.z, 0);
    }
  }

  stage(queries: Float32Array): void {
    const count = Math.floor(queries.length / this.dims);
    if (this.staged.length < count * this.axes) this.staged = new Float32Array(count * this.axes);
    for (let q = 0; q < count; q++) this.project(queries, q * this.dims, this.staged, q * this.axes);
    this.stagedCount = count;
    this.boundsQuery = -1;
  }

  /**
   * Best-bin-first: nodes leave a heap in order of their box's distance to the query's
   * projection; the first `probes` leaves reached are the lists, written in list order.
   * A child's bound is its parent's with the split axis's term replaced.
   */
  probe(q: number, probes: number, out: Int32Array): number {
    const { lists, axes, staged, boxLow, boxHigh } = this;
    const n = Math.min(probes, lists);
    if (n <= 0) return 0;
    if (!(q >= 0 && q < this.stagedCount)) throw new RangeError(`probe: query ${q} of a staged batch of ${this.stagedCount}`);
    const base = q * axes;
    this.heapSize = 0;
    this.push(0, 1);
    let found = 0;
    while (this.heapSize > 0 && found < n) {
      const bound = this.heapBound[0];
      const node = this.heapNode[0];
      this.pop();
      if (node >= lists) {
        const leaf = node - lists;
        this.leafBound[leaf] = bound;
        out[found++] = leaf;
        continue;
      }
      const axis = this.splitAxis[node];
      const z = staged[base + axis];
      const own = gap(z, boxLow[node * axes + axis], boxHigh[node * axes + axis]);
      const left = 2 * node;
      const leftTerm = gap(z, boxLow[left * axes + axis], boxHigh[left * axes + axis]);
      const rightTerm = gap(z, boxLow[(left + 1) * axes + axis], boxHigh[(left + 1) * axes + axis]);
      this.push(bound - own * own + leftTerm * leftTerm, left);
      this.push(bound - own * own + rightTerm * rightTerm, left + 1);
    }
    out.subarray(0, found).sort();
    this.boundsQuery = q;
    return found;
  }

  nearestFirst(q: number, out: Int32Array, n: number, m: number): void {
    if (q !== this.boundsQuery) throw new Error(`nearestFirst: query ${q} was not the last probed (${this.boundsQuery})`);
    const bounds = this.leafBound;
    const take = Math.min(m, n);
    for (let i = 0; i < take; i++) {
      let best = i;
      for (let j = i + 1; j < n; j++) if (bounds[out[j]] < bounds[out[best]]) best = j;
      const list = out[best];
      out.copyWithin(i + 1, i, best);
      out[i] = list;
    }
  }

  private push(bound: number, node: number): void {
    if (this.heapSize === this.heapBound.length) this.growHeap();
    const bounds = this.heapBound;
    const nodes = this.heapNode;
    let i = this.heapSize++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (bounds[parent] <= bound) break;
      bounds[i] = bounds[parent];
      nodes[i] = nodes[parent];
      i = parent;
    }
    bounds[i] = bound;
    nodes[i] = node;
  }

  /** Drops the root: the last entry sifts down from it. */
  private pop(): void {
    const bounds = this.heapBound;
    const nodes = this.heapNode;
    const size = --this.heapSize;
    const lastBound = bounds[size];
    const lastNode = nodes[size];
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && bounds[child + 1] < bounds[child]) child++;
      if (bounds[child] >= lastBound) break;
      bounds[i] = bounds[child];
      nodes[i] = nodes[child];
      i = child;
    }
    bounds[i] = lastBound;
    nodes[i] = lastNode;
  }

  private growHeap(): void {
    const bounds = new Float64Array(this.heapBound.length * 2);
    bounds.set(this.heapBound);
    const nodes = new Int32Array(this.heapNode.length * 2);
    nodes.set(this.heapNode);
    this.heapBound = bounds;
    this.heapNode = nodes;
  }
}

/** Distance from z to the interval [low, high] (0 inside). */
function gap(z: number, low: number, high: number): number {
  return z < low ? low - z : z > high ? z - high : 0;
}
