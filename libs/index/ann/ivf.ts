/**
 * Coarse quantizer of an inverted-file (IVF) index: `lists` centroids trained by k-means
 * on a sample of the rows. Each row belongs to the list of its nearest centroid; a
 * query searches only the lists whose centroids are nearest to it ("probes").
 *
 * This file knows only centroids: assigning rows and picking a query's lists. Keeping
 * the rows of a list together (and searching them) is the owner's job (FaceIndex sorts
 * its rows by list, so a list is one contiguous range of memory).
 *
 * Training and assigning rows compare them with centroids through the float32 SIMD
 * kernel; a query's lists are picked by the int16 centroid ranker (~2x faster, measured
 * 12 vs 26 us a query at 1,000 lists): the choice of lists is a heuristic, so rounding
 * only trades a list at the edge of the probes for its neighbour.
 */
import { seededRandom } from '../seeded-random/index.js';
import { runToEnd } from '../stepwise/index.js';
import { CentroidRanker, VectorArena } from '../simd-kernel/index.js';
import { TopK, nthSmallest } from '../topk/index.js';
import type { ListPartition } from './list-partition.js';

/** Where training and assignment read rows (stored in some other form than float32): `count` rows from `first` into out[at..]. */
export interface RowReader {
  readRows(first: number, count: number, out: Float32Array, at: number): void;
}

/** A RowReader over plain float32 rows, `dims` a row. */
export function float32RowReader(vectors: Float32Array, dims: number): RowReader {
  return { readRows: (first, count, out, at) => out.set(vectors.subarray(first * dims, (first + count) * dims), at) };
}

export function readerOf(vectors: Float32Array | RowReader, dims: number): RowReader {
  return vectors instanceof Float32Array ? float32RowReader(vectors, dims) : vectors;
}

export interface IvfTrainingOptions {
  /** Number of lists (leaf centroids), approximately (each group gets a share). */
  lists: number;
  /** Lloyd iterations per level (default 6). */
  iterations?: number;
  /** Training sample = this many rows per list, at most all rows (default 16). */
  samplePerList?: number;
  seed?: number;
  /** Force the JS kernel. */
  forceJs?: boolean;
}

/** Everything needed to rebuild a trained quantizer without training (what a snapshot stores). */
export interface IvfState {
  /** Leaf centroids, lists x dims, grouped: group g owns leaves groupStart[g]..groupStart[g+1]-1. */
  centroids: Float32Array;
  /** Group centroids, groups x dims. */
  groupCentroids: Float32Array;
  /** groups + 1 offsets into the leaves, 0 first, lists last, non-decreasing. */
  groupStart: Int32Array;
  trainedRows: number;
}

/** Rows staged into the centroid arena per kernel pass when assigning. */
const ASSIGN_BATCH = 256;
/** Groups whose leaf centroids are compared when assigning a row (the rest are skipped). */
const ASSIGN_GROUPS = 2;
/** Staged queries whose centroid keys are ranked together (bounds the keys' memory). */
const STAGE_CHUNK = 64;

/**
 * Two-level k-means: sqrt(lists) groups, then each group's members split into leaf lists
 * (in proportion to the group's size). Training and assigning cost ~2 sqrt(lists)
 * distances a row instead of `lists`; a query still ranks every leaf centroid.
 */
export class IvfQuantizer implements ListPartition {
  readonly dims: number;
  /** Leaf lists. */
  readonly lists: number;
  readonly groups: number;
  /** Rows the quantizer was trained on (the owner retrains once it holds many more). */
  readonly trainedRows: number;
  /** Arena rows: leaf centroids 0..lists-1 (grouped), then the group centroids. */
  private readonly arena: VectorArena;
  /** Leaf centroids of group g are groupStart[g]..groupStart[g+1]-1. */
  private readonly groupStart: Int32Array;
  /** Ranks the leaf centroids for queries (int16 codes; `probe`, `nearestFirst`). */
  private readonly ranker: CentroidRanker;
  /** Queries in the staged batch, and the first query of the chunk whose keys are ranked (-1: none). */
  private stagedCount = 0;
  private stagedChunk = -1;
  /** `probe`'s copy of the keys, reordered by the selection, and its lists at the threshold key. */
  private probeKeys = new Float32Array(0);
  private probeTies = new Int32Array(0);

  private constructor(dims: number, centroids: Float32Array, groupCentroids: Float32Array, groupStart: Int32Array, trainedRows: number, forceJs: boolean) {
    this.dims = dims;
    this.lists = centroids.length / dims;
    this.groups = groupCentroids.length / dims;
    this.trainedRows = trainedRows;
    this.groupStart = groupStart;
    this.arena = new VectorArena(dims, { forceJs, initialRows: this.lists + this.groups });
    this.arena.rows.set(centroids, 0);
    this.arena.rows.set(groupCentroids, centroids.length);
    this.ranker = new CentroidRanker(dims, centroids, { forceJs });
  }

  /** A copy of the trained state (centroids, groups, trainedRows). */
  exportState(): IvfState {
    const leafFloats = this.lists * this.dims;
    return {
      centroids: this.arena.rows.slice(0, leafFloats),
      groupCentroids: this.arena.rows.slice(leafFloats, leafFloats + this.groups * this.dims),
      groupStart: this.groupStart.slice(),
      trainedRows: this.trainedRows,
    };
  }

  /** A quantizer from `exportState()` output; RangeError when the state is inconsistent. */
  static fromState(dims: number, state: IvfState, forceJs = false): IvfQuantizer {
    const { centroids, groupCentroids, groupStart, trainedRows } = state;
    if (!Number.isInteger(dims) || dims < 1) throw new RangeError(`dims must be a positive integer, got ${dims}`);
    if (centroids.length === 0 || centroids.length % dims !== 0) throw new RangeError(`IVF state: ${centroids.length} centroid floats for ${dims} dims`);
    if (groupCentroids.length === 0 || groupCentroids.length % dims !== 0)
      throw new RangeError(`IVF state: ${groupCentroids.length} group centroid floats for ${dims} dims`);
    const lists = centroids.length / dims;
    const groups = groupCentroids.length / dims;
    if (groupStart.length !== groups + 1 || groupStart[0] !== 0 || groupStart[groups] !== lists)
      throw new RangeError('IVF state: group offsets do not cover the lists');
    for (let g = 0; g < groups; g++) if (groupStart[g + 1] < groupStart[g]) throw new RangeError('IVF state: group offsets decrease');
    if (!Number.isInteger(trainedRows) || trainedRows < 0) throw new RangeError(`IVF state: trainedRows ${trainedRows}`);
    for (let i = 0; i < centroids.length; i++) if (!Number.isFinite(centroids[i])) throw new RangeError('IVF state: a centroid is not finite');
    for (let i = 0; i < groupCentroids.length; i++) if (!Number.isFinite(groupCentroids[i])) throw new RangeError('IVF state: a group centroid is not finite');
    return new IvfQuantizer(dims, centroids, groupCentroids, Int32Array.from(groupStart), trainedRows, forceJs);
  }

  /** Bytes held (the centroid arena and the query ranker). */
  get bytes(): number {
    return this.arena.bytes + this.ranker.bytes;
  }

  /** Two-level k-means over a sample of rows [0, rowCount) of `vectors`, skipping rows with deleted[row] !== 0. */
  static train(vectors: Float32Array | RowReader, rowCount: number, dims: number, options: IvfTrainingOptions, deleted?: Uint8Array): IvfQuantizer {
    return runToEnd(IvfQuantizer.trainSteps(vectors, rowCount, dims, options, deleted));
  }

  /**
   * `train` in small steps: the sample is copied at the first step, so the rows may
   * change between steps; each later step is one kernel batch (ASSIGN_BATCH sample
   * points against the centroids of one k-means level, about a millisecond at 128 dims
   * and a few thousand lists). Returns the quantizer when done.
   */
  static *trainSteps(
    vectors: Float32Array | RowReader,
    rowCount: number,
    dims: number,
    options: IvfTrainingOptions,
    deleted?: Uint8Array,
  ): Generator<void, IvfQuantizer, void> {
    const rows = readerOf(vectors, dims);
    const random = seededRandom(options.seed ?? 12345);
    const forceJs = options.forceJs ?? false;
    const iterations = options.iterations ?? 6;
    const liveCount = countLive(rowCount, deleted);
    const lists = Math.max(1, Math.min(options.lists, liveCount));
    const sampleSize = Math.min(liveCount, lists * (options.samplePerList ?? 16));
    const sample = sampleLiveRows(rows, rowCount, dims, deleted, sampleSize, random);
    yield;

    const groups = Math.max(1, Math.min(lists, Math.round(Math.sqrt(lists))));
    const top = yield* kMeansSteps(sample, sampleSize, dims, groups, iterations, random, forceJs);
    const members: number[][] = Array.from({ length: groups }, () => []);
    for (let i = 0; i < sampleSize; i++) members[top.assignment[i]].push(i);
    const leaves: Float32Array[] = [];
    const groupStart = new Int32Array(groups + 1);
    const groupCentroids = new Float32Array(groups * dims);
    let kept = 0;
    for (let g = 0; g < groups; g++) {
      const own = members[g];
      if (own.length === 0) continue;
      const points = new Float32Array(own.length * dims);
      own.forEach((i, n) => points.set(sample.subarray(i * dims, (i + 1) * dims), n * dims));
      const k = Math.max(1, Math.min(own.length, Math.round((lists * own.length) / sampleSize)));
      leaves.push((yield* kMeansSteps(points, own.length, dims, k, iterations, random, forceJs)).centroids);
      groupCentroids.set(top.centroids.subarray(g * dims, (g + 1) * dims), kept * dims);
      groupStart[kept + 1] = groupStart[kept] + k;
      kept++;
    }
    const centroids = new Float32Array(groupStart[kept] * dims);
    let offset = 0;
    for (const leaf of leaves) {
      centroids.set(leaf, offset);
      offset += leaf.length;
    }
    return new IvfQuantizer(dims, centroids, groupCentroids.slice(0, kept * dims), groupStart.slice(0, kept + 1), liveCount, forceJs);
  }

  /** Writes the list of each row in [rowStart, rowEnd) of `vectors` to out[row]: the nearest leaf of its nearest groups. */
  assign(vectors: Float32Array | RowReader, rowStart: number, rowEnd: number, out: Int32Array): void {
    const { dims, lists, groups, arena, groupStart } = this;
    const rows = readerOf(vectors, dims);
    const outFloat = (ASSIGN_BATCH * dims * 4) >> 2;
    arena.scratch(ASSIGN_BATCH * dims * 4 + (lists + groups) * 4);
    const heap = arena.heap;
    const checkGroups = Math.min(ASSIGN_GROUPS, groups);
    const nearestGroups = new TopK(checkGroups);
    for (let start = rowStart; start < rowEnd; start += ASSIGN_BATCH) {
      const count = Math.min(ASSIGN_BATCH, rowEnd - start);
      rows.readRows(start, count, heap, 0);
      for (let i = 0; i < count; i++) {
        arena.distances(1, lists, groups, i * dims * 4, outFloat * 4);
        nearestGroups.reset(checkGroups);
        for (let g = 0; g < groups; g++) nearestGroups.push(g, heap[outFloat + g]);
        nearestGroups.sort();
        let best = -1;
        let bestDistance = Infinity;
        for (let j = 0; j < nearestGroups.length; j++) {
          const g = nearestGroups.rowAt(j);
          const first = groupStart[g];
          const size = groupStart[g + 1] - first;
          arena.distances(1, first, size, i * dims * 4, outFloat * 4);
          for (let l = 0; l < size; l++) {
            const d = heap[outFloat + l];
            if (d < bestDistance) {
              bestDistance = d;
              best = first + l;
            }
          }
        }
        out[start + i] = best;
      }
    }
  }

  /**
   * Stages a batch of queries for `probe` (call once per batch). `probe` then ranks the
   * centroids for STAGE_CHUNK queries at a time (the int16 ranker reads each centroid
   * once for up to 8 of them); the chunk bounds the keys' memory whatever the batch size.
   */
  stage(queries: Float32Array): void {
    const count = Math.floor(queries.length / this.dims);
    this.ranker.stage(queries, count);
    this.stagedCount = count;
    this.stagedChunk = -1;
  }

  /** The keys of staged query `q` (its chunk ranked first): the centroid l's at ranker.keys[returned + l]. */
  private keysOf(q: number): number {
    const chunk = q - (q % STAGE_CHUNK);
    if (chunk !== this.stagedChunk) {
      this.ranker.rank(chunk, Math.min(STAGE_CHUNK, this.stagedCount - chunk));
      this.stagedChunk = chunk;
    }
    return (q - chunk) * this.lists;
  }

  /**
   * The `probes` lists nearest to staged query `q` (ties: the lower list first), written
   * to `out` (length >= probes) in list order, which is the order of their rows in the
   * owner's memory. Returns how many were written (min(probes, lists)). A selection, not a
   * sort: measured ~6% of a shard's time under load when a bounded heap ranked them.
   * The query is the q-th of the batch last given to `stage`.
   */
  probe(q: number, probes: number, out: Int32Array): number {
    const lists = this.lists;
    const n = Math.min(probes, lists);
    if (n <= 0) return 0;
    if (!(q >= 0 && q < this.stagedCount)) throw new RangeError(`probe: query ${q} of a staged batch of ${this.stagedCount}`);
    const base = this.keysOf(q);
    const keys = this.ranker.keys;
    if (this.probeKeys.length < lists) {
      this.probeKeys = new Float32Array(lists);
      this.probeTies = new Int32Array(lists);
    }
    const copy = this.probeKeys;
    copy.set(keys.subarray(base, base + lists));
    const threshold = nthSmallest(copy, lists, n - 1);
    let count = 0;
    for (let l = 0; l < lists; l++) if (keys[base + l] < threshold) out[count++] = l;
    if (count < n) {
      // Lists at exactly the threshold key, lowest first, until n: merged in list order.
      const tied = this.probeTies;
      let ties = 0;
      for (let l = 0; l < lists && count + ties < n; l++) if (keys[base + l] === threshold) tied[ties++] = l;
      let i = count - 1;
      for (let t = ties - 1; t >= 0; t--) {
        const l = tied[t];
        while (i >= 0 && out[i] > l) {
          out[i + t + 1] = out[i];
          i--;
        }
        out[i + t + 1] = l;
      }
      count += ties;
    }
    return count;
  }

  /**
   * Moves the `m` lists nearest to staged query `q` among out[0..n) (as `probe` wrote
   * them) to the front, nearest first; the others keep their order behind them. Scanned
   * first, they fill a shortlist with good rows early, so its cut-off is tight for the rest.
   */
  nearestFirst(q: number, out: Int32Array, n: number, m: number): void {
    const base = this.keysOf(q);
    const keys = this.ranker.keys;
    const take = Math.min(m, n);
    // Selection sort of the first `take` positions: m is a handful, n a few hundred.
    for (let i = 0; i < take; i++) {
      let best = i;
      let bestDistance = keys[base + out[i]];
      for (let j = i + 1; j < n; j++) {
        const d = keys[base + out[j]];
        if (d < bestDistance) {
          bestDistance = d;
          best = j;
        }
      }
      const list = out[best];
      out.copyWithin(i + 1, i, best);
      out[i] = list;
    }
  }
}

/** Rows of [0, rowCount) not flagged in `deleted`. */
export function countLive(rowCount: number, deleted: Uint8Array | undefined): number {
  if (deleted === undefined) return rowCount;
  let live = 0;
  for (let row = 0; row < rowCount; row++) if (deleted[row] === 0) live++;
  return live;
}

/** `size` live rows of [0, rowCount), uniform without repetition (partial Fisher-Yates), as float32 rows. */
export function sampleLiveRows(
  rows: RowReader,
  rowCount: number,
  dims: number,
  deleted: Uint8Array | undefined,
  size: number,
  random: () => number,
): Float32Array {
  const live = new Int32Array(rowCount);
  let liveCount = 0;
  for (let row = 0; row < rowCount; row++) if (deleted === undefined || deleted[row] === 0) live[liveCount++] = row;
  const take = Math.min(size, liveCount);
  for (let i = 0; i < take; i++) {
    const j = i + Math.floor(random() * (liveCount - i));
    const t = live[i];
    live[i] = live[j];
    live[j] = t;
  }
  const sample = new Float32Array(take * dims);
  for (let i = 0; i < take; i++) rows.readRows(live[i], 1, sample, i * dims);
  return sample;
}

/**
 * Lloyd's k-means (initial centroids: k distinct random points). Returns centroids and
 * each point's cluster. Yields after every batch of points (assignment and update).
 */
function* kMeansSteps(
  points: Float32Array,
  count: number,
  dims: number,
  k: number,
  iterations: number,
  random: () => number,
  forceJs: boolean,
): Generator<void, { centroids: Float32Array; assignment: Int32Array }, void> {
  const arena = new VectorArena(dims, { forceJs, initialRows: k });
  const seen = new Set<number>();
  for (let c = 0; c < k; c++) {
    let pick = Math.floor(random() * count);
    while (seen.has(pick)) pick = (pick + 1) % count;
    seen.add(pick);
    arena.rows.set(points.subarray(pick * dims, (pick + 1) * dims), c * dims);
  }
  const assignment = new Int32Array(count);
  const sums = new Float64Array(k * dims);
  const counts = new Int32Array(k);
  const batch = ASSIGN_BATCH;
  const outFloat = (batch * dims * 4) >> 2;
  for (let it = 0; it <= iterations; it++) {
    arena.scratch(batch * dims * 4 + k * 4);
    const heap = arena.heap;
    for (let start = 0; start < count; start += batch) {
      const n = Math.min(batch, count - start);
      heap.set(points.subarray(start * dims, (start + n) * dims), 0);
      for (let i = 0; i < n; i++) {
        arena.distances(1, 0, k, i * dims * 4, outFloat * 4);
        let best = 0;
        let bestDistance = heap[outFloat];
        for (let c = 1; c < k; c++) {
          const d = heap[outFloat + c];
          if (d < bestDistance) {
            bestDistance = d;
            best = c;
          }
        }
        assignment[start + i] = best;
      }
      yield;
    }
    if (it === iterations) break;
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < count; i++) {
      const c = assignment[i];
      counts[c]++;
      const base = c * dims;
      const source = i * dims;
      for (let d = 0; d < dims; d++) sums[base + d] += points[source + d];
      if ((i + 1) % (batch * 8) === 0) yield;
    }
    const rows = arena.rows;
    for (let c = 0; c < k; c++) {
      const base = c * dims;
      if (counts[c] === 0) {
        const pick = Math.floor(random() * count) * dims;
        for (let d = 0; d < dims; d++) rows[base + d] = points[pick + d];
      } else {
        for (let d = 0; d < dims; d++) rows[base + d] = sums[base + d] / counts[c];
      }
    }
  }
  return { centroids: arena.rows.slice(0, k * dims), assignment };
}
