/**
 * The n best (smallest-value) rows of a stream of small-integer-valued candidates, kept
 * loosely (the shape of FAISS's ReservoirTopN): candidates are appended while their
 * value is at most `limit`; when 2n are held, a counting pass keeps the best n and
 * tightens `limit`. Appending costs two array writes, where a heap costs a sift per
 * candidate. Of several rows tied at the cut-off value, the first to arrive are kept
 * (deterministic for a deterministic stream).
 */

/** Values are 0..RESERVOIR_MAX_VALUE (the 4-bit kernel's saturated sums, at most 255, fit with room to spare). */
export const RESERVOIR_MAX_VALUE = 65535;

export class Reservoir {
  private rows: Int32Array;
  private values: Int32Array;
  private readonly batch: number;
  /** Per value, a count (then a running position) for the counting passes; zero between passes. */
  private readonly histogram = new Int32Array(RESERVOIR_MAX_VALUE + 2);
  private spareRows: Int32Array;
  private spareValues: Int32Array;
  private n = 0;
  private count = 0;
  /** Largest value that can still enter (Infinity until 2n have arrived). */
  limit = Infinity;

  constructor(n = 16, batch = 1024) {
    this.batch = batch;
    this.rows = new Int32Array(2 * n + batch);
    this.values = new Int32Array(2 * n + batch);
    this.spareRows = new Int32Array(n);
    this.spareValues = new Int32Array(n);
  }

  /** Rows held (after `finish`: at most n, best first). */
  get length(): number {
    return this.count;
  }

  /** Starts a new selection of the n best; grows the buffers when needed (the only allocation). */
  reset(n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
    const capacity = 2 * n + this.batch;
    if (capacity > this.rows.length) {
      this.rows = new Int32Array(capacity);
      this.values = new Int32Array(capacity);
    }
    if (n > this.spareRows.length) {
      this.spareRows = new Int32Array(n);
      this.spareValues = new Int32Array(n);
    }
    this.n = n;
    this.count = 0;
    this.limit = Infinity;
  }

  /**
   * Appends the m (<= batch) candidates rows[i], values[i] (0..RESERVOIR_MAX_VALUE) whose
   * value is <= limit and whose `skip[row]` is 0.
   */
  addAll(rows: Int32Array, values: Int32Array, m: number, skip: Uint8Array): void {
    if (m > this.batch) throw new RangeError(`at most ${this.batch} candidates at a time, got ${m}`);
    const limit = this.limit;
    let count = this.count;
    for (let i = 0; i < m; i++) {
      const row = rows[i];
      const value = values[i];
      if (value > limit || skip[row] !== 0) continue;
      this.rows[count] = row;
      this.values[count] = value;
      count++;
    }
    this.count = count;
    if (count >= 2 * this.n) this.shrink();
  }

  /** Keeps the n best, ordered by value (ties in arrival order); read them with rowAt / valueAt. */
  finish(): void {
    if (this.count > this.n) this.shrink();
    const { rows, values, histogram, spareRows, spareValues } = this;
    const count = this.count;
    let top = 0;
    for (let i = 0; i < count; i++) {
      const value = values[i];
      histogram[value + 1]++;
      if (value > top) top = value;
    }
    // histogram[v] becomes the first position of value v.
    for (let v = 1; v <= top + 1; v++) histogram[v] += histogram[v - 1];
    spareRows.set(rows.subarray(0, count));
    spareValues.set(values.subarray(0, count));
    for (let i = 0; i < count; i++) {
      const value = spareValues[i];
      const at = histogram[value]++;
      rows[at] = spareRows[i];
      values[at] = value;
    }
    histogram.fill(0, 0, top + 2);
  }

  rowAt(i: number): number {
    return this.rows[i];
  }

  valueAt(i: number): number {
    return this.values[i];
  }

  /** Keeps the n best held (ties at the cut-off in arrival order); limit = cut-off - 1. */
  private shrink(): void {
    const { rows, values, histogram, n } = this;
    const count = this.count;
    let top = 0;
    for (let i = 0; i < count; i++) {
      const value = values[i];
      histogram[value]++;
      if (value > top) top = value;
    }
    // The cut-off: the smallest value v with at least n held at values <= v.
    let cut = 0;
    let atOrBelow = histogram[0];
    while (atOrBelow < n) atOrBelow += histogram[++cut];
    let tiesLeft = n - (atOrBelow - histogram[cut]);
    histogram.fill(0, 0, top + 1);
    let kept = 0;
    for (let i = 0; i < count; i++) {
      const value = values[i];
      if (value < cut || (value === cut && tiesLeft-- > 0)) {
        rows[kept] = rows[i];
        values[kept] = value;
        kept++;
      }
    }
    this.count = kept;
    // n are held at values <= cut: only a strictly smaller value can improve the set.
    this.limit = cut - 1;
  }
}
