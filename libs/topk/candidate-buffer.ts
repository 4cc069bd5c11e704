/**
 * The best k (row, value) pairs of a stream where most candidates arrive in bursts and
 * are then rejected by a limit (a scan kernel passes only rows at or under `limit`):
 * candidates are appended, not sifted through a heap; when the buffer is full it is cut
 * back to the best k (a quickselect) and the limit becomes the k-th value. The kept set
 * is the k smallest by (value, row), the same as TopK's without ids.
 */
import { nthSmallest } from './select.js';

/** Buffer length, in multiples of k: a cut every (SLACK - 1) k candidates. */
const SLACK = 4;

export class CandidateBuffer {
  private rows = new Int32Array(0);
  private values = new Float64Array(0);
  private scratch = new Float64Array(0);
  private order = new Int32Array(0);
  private k = 0;
  private count = 0;
  /** Candidates above it cannot be among the best k: the bound, then the k-th value after a cut. */
  limit = Infinity;

  /** Starts a new selection of the best k (k >= 1), none above `bound`. */
  reset(k: number, bound = Infinity): void {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
    if (this.rows.length < k * SLACK) {
      this.rows = new Int32Array(k * SLACK);
      this.values = new Float64Array(k * SLACK);
      this.scratch = new Float64Array(k * SLACK);
      this.order = new Int32Array(k * SLACK);
    }
    this.k = k;
    this.count = 0;
    this.limit = bound;
  }

  push(row: number, value: number): void {
    if (value > this.limit) return;
    this.rows[this.count] = row;
    this.values[this.count] = value;
    if (++this.count === this.rows.length) this.cut();
  }

  /** Keeps the best k only, sorted by (value, row); read them with rowAt / valueAt. */
  finish(): void {
    if (this.count > this.k) this.cut();
    const { rows, values, order, count } = this;
    for (let i = 0; i < count; i++) order[i] = i;
    order.subarray(0, count).sort((a, b) => values[a] - values[b] || rows[a] - rows[b]);
    const scratch = this.scratch;
    for (let i = 0; i < count; i++) scratch[i] = values[order[i]];
    values.set(scratch.subarray(0, count));
    for (let i = 0; i < count; i++) order[i] = rows[order[i]];
    rows.set(order.subarray(0, count));
  }

  get length(): number {
    return this.count;
  }

  rowAt(i: number): number {
    return this.rows[i];
  }

  valueAt(i: number): number {
    return this.values[i];
  }

  /** Cuts the buffer to the best k: every value under the k-th, then the lowest rows at it. */
  private cut(): void {
    const { rows, values, scratch, k, count } = this;
    scratch.set(values.subarray(0, count));
    const kth = nthSmallest(scratch, count, k - 1);
    const tied = this.order;
    let kept = 0;
    let ties = 0;
    // In place: position i is read before anything is written at or after it.
    for (let i = 0; i < count; i++) {
      const value = values[i];
      if (value < kth) {
        rows[kept] = rows[i];
        values[kept++] = value;
      } else if (value === kth) tied[ties++] = rows[i];
    }
    // At the k-th value, the lowest rows (ties are rare: float values).
    if (ties > k - kept) tied.subarray(0, ties).sort();
    for (let i = 0; i < ties && kept < k; i++) {
      rows[kept] = tied[i];
      values[kept++] = kth;
    }
    this.count = kept;
    this.limit = kth;
  }
}
