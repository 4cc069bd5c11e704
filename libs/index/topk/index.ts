/**
 * Bounded top-k selector over parallel typed arrays (the shape of mourner/flatqueue).
 *
 * Keeps the k best (row, squared distance) pairs seen so far, ordered by
 * (distance asc, id asc) where id = ids[row] (or as `order` compares rows), or (distance asc, row asc) without ids. Internally a max-heap whose root is the
 * worst kept pair, so a new candidate costs one comparison when it does not qualify.
 * Storage is preallocated; `push` never allocates.
 */

export { nthSmallest } from './select.js';
export { Reservoir } from './reservoir.js';

/** Tie-break order for ids: plain UTF-16 code-unit order, the same as `a < b`. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class TopK {
  private rows: Int32Array;
  private distances: Float64Array;
  private order: ((rowA: number, rowB: number) => number) | undefined;
  private k = 0;
  private count = 0;
  private bound = Infinity;

  constructor(capacity = 16) {
    this.rows = new Int32Array(Math.max(1, capacity));
    this.distances = new Float64Array(Math.max(1, capacity));
  }

  get capacity(): number {
    return this.rows.length;
  }

  /** Number of pairs currently kept (at most k). */
  get length(): number {
    return this.count;
  }

  /**
   * Starts a new selection of at most `k` rows. `ids[row]` breaks distance ties, or
   * `order(rowA, rowB)` (< 0: rowA first) where ids are not strings in an array; without
   * either, the lower row number wins.
   * `bound` (squared distance) rejects anything farther, whether or not k is reached.
   * Grows the buffers when k exceeds the capacity (the only allocation).
   */
  reset(k: number, ids?: readonly string[] | ((rowA: number, rowB: number) => number), bound = Infinity): void {
    if (!Number.isInteger(k) || k < 0) throw new RangeError(`k must be a non-negative integer, got ${k}`);
    if (k > this.rows.length) {
      this.rows = new Int32Array(k);
      this.distances = new Float64Array(k);
    }
    this.k = k;
    this.order = ids === undefined || typeof ids === 'function' ? ids : (a, b) => compareIds(ids[a], ids[b]);
    this.count = 0;
    this.bound = bound;
  }

  /**
   * Squared distance a candidate must not exceed to have a chance: the bound while
   * fewer than k are kept, else the current k-th distance. A candidate exactly equal to
   * it may still enter on the id tie-break, so callers prune only on strictly greater.
   */
  get worst(): number {
    return this.count < this.k ? this.bound : this.distances[0];
  }

  push(row: number, distance: number): void {
    if (this.count < this.k) {
      if (distance > this.bound) return;
      this.siftUp(this.count++, row, distance);
      return;
    }
    if (this.k === 0) return;
    const rootDistance = this.distances[0];
    if (distance > rootDistance) return;
    if (distance === rootDistance && !this.isWorse(distance, this.rows[0], distance, row)) return;
    this.siftDown(0, this.count, row, distance);
  }

  /**
   * Sorts the kept pairs by (distance asc, id asc) in place (heap sort, no allocation).
   * Afterwards read them with `rowAt(i)` / `distanceAt(i)`; call `reset` before pushing again.
   */
  sort(): void {
    for (let end = this.count - 1; end > 0; end--) {
      const row = this.rows[end];
      const distance = this.distances[end];
      this.rows[end] = this.rows[0];
      this.distances[end] = this.distances[0];
      this.siftDown(0, end, row, distance);
    }
  }

  rowAt(i: number): number {
    return this.rows[i];
  }

  /** Squared distance of the i-th kept pair. */
  distanceAt(i: number): number {
    return this.distances[i];
  }

  /** True when (d1, row1) sorts after (d2, row2). */
  private isWorse(d1: number, row1: number, d2: number, row2: number): boolean {
    return d1 > d2 || (d1 === d2 && (this.order === undefined ? row1 > row2 : this.order(row1, row2) > 0));
  }

  private siftUp(pos: number, row: number, distance: number): void {
    const { rows, distances } = this;
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      if (!this.isWorse(distance, row, distances[parent], rows[parent])) break;
      rows[pos] = rows[parent];
      distances[pos] = distances[parent];
      pos = parent;
    }
    rows[pos] = row;
    distances[pos] = distance;
  }

  /** Places (row, distance) at `pos` and sinks it within heap[0, end). */
  private siftDown(pos: number, end: number, row: number, distance: number): void {
    const { rows, distances } = this;
    for (;;) {
      let child = 2 * pos + 1;
      if (child >= end) break;
      const right = child + 1;
      if (right < end && this.isWorse(distances[right], rows[right], distances[child], rows[child])) child = right;
      if (!this.isWorse(distances[child], rows[child], distance, row)) break;
      rows[pos] = rows[child];
      distances[pos] = distances[child];
      pos = child;
    }
    rows[pos] = row;
    distances[pos] = distance;
  }
}
