/**
 * What cuts an index's rows into lists for approximate search: each row belongs to one
 * list, and a query reads the lists most likely to hold its neighbours. Two kinds:
 * k-means centroids (ivf.ts, the default) and a KD-tree over the leading principal axes
 * (kd-partition.ts). The owner keeps each list's rows together and searches them
 * (libs/index/face-index/ivf-lists.ts).
 */
import type { RowReader } from './ivf.js';

export interface ListPartition {
  readonly dims: number;
  /** Lists (numbered 0..lists-1). */
  readonly lists: number;
  /** Live rows it was trained on (the owner retrains once it holds many more). */
  readonly trainedRows: number;
  /** Bytes held. */
  readonly bytes: number;
  /** Writes the list of each row in [rowStart, rowEnd) of `vectors` to out[row]. */
  assign(vectors: Float32Array | RowReader, rowStart: number, rowEnd: number, out: Int32Array): void;
  /** Stages a batch of queries for `probe` and `nearestFirst` (call once per batch). */
  stage(queries: Float32Array): void;
  /**
   * The `probes` lists most promising for staged query `q`, written to out[0..n) in
   * list order (the order of their rows in the owner's memory); returns n = min(probes, lists).
   */
  probe(q: number, probes: number, out: Int32Array): number;
  /** Moves the `m` most promising of out[0..n) (as `probe` wrote them) to the front, best first; the others keep their order. */
  nearestFirst(q: number, out: Int32Array, n: number, m: number): void;
}

/** The kinds of partition (FaceIndexOptions.approximate.partition). */
export type PartitionKind = 'kmeans' | 'kdtree';
