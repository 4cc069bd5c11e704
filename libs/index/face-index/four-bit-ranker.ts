/**
 * Approximate ranking on 4-bit codes of the principal axes: each axis is cut into 16
 * levels (1-d k-means on a sample), a row stores the nearest level's number per axis
 * (half a byte), and a query turns into a table of its squared distance to every level,
 * rounded to 0..FOUR_BIT_MAX_ENTRY. A row's rank value is its table sum: the squared
 * distance in those axes between the query and the row's levels, in table units,
 * capped at FOUR_BIT_MAX_SUM (the kernel's uint8 lanes saturate; the shortlist's
 * cut-off is far below it, see four-bit-wasm.ts).
 *
 * Measured on the benchmark faces (250,000 rows, 1,000 queries): with 32 axes the true
 * nearest face ranks in the best 128 of all rows for 99.3% of queries, the same as the
 * exact float distance on those 32 axes; rounding the table to 7 bits changes nothing
 * measurable. The kernel reads 16 bytes a row (the int8 codes it replaces: 40).
 */
import { FOUR_BIT_MAX_ENTRY, FourBitCodeArena } from '../simd-kernel/index.js';
import { runToEnd } from '../stepwise/index.js';

const LEVELS = 16;
/** Lloyd iterations from equal-count buckets (each a binary search per level over the sorted sample). */
const LEVEL_ITERATIONS = 24;

export class FourBitRanker {
  readonly axes: number;
  /** The rows' codes: a per-row column the owner moves with the rows. */
  readonly arena: FourBitCodeArena;
  /** Per axis, 16 ascending levels. */
  private readonly levels: Float64Array;
  /** Per axis, the 15 midpoints between neighbouring levels. */
  private readonly cuts: Float64Array;
  private readonly codes: Uint8Array;
  private readonly entries: Float64Array;

  constructor(axes: number, initialRows: number) {
    this.axes = axes;
    this.arena = new FourBitCodeArena(axes, initialRows);
    this.levels = new Float64Array(axes * LEVELS);
    this.cuts = new Float64Array(axes * (LEVELS - 1));
    this.codes = new Uint8Array(axes);
    this.entries = new Float64Array(axes * LEVELS);
  }

  /** Learns the levels from `count` samples, sample i's axis a at samples[i * stride + a]. */
  learn(samples: Float64Array, count: number, stride: number): void {
    runToEnd(this.learnSteps(samples, count, stride));
  }

  /** `learn`, four axes a step (a sort of the samples each). */
  *learnSteps(samples: Float64Array, count: number, stride: number): Generator<void, void, void> {
    const column = new Float64Array(count);
    for (let axis = 0; axis < this.axes; axis++) {
      if (axis % 4 === 0) yield;
      for (let i = 0; i < count; i++) column[i] = samples[i * stride + axis];
      column.sort();
      learnLevels(column, this.levels.subarray(axis * LEVELS, (axis + 1) * LEVELS));
      this.setCuts(axis);
    }
  }

  /** Axis `axis`'s cuts: the midpoints of its levels. */
  private setCuts(axis: number): void {
    const base = axis * LEVELS;
    for (let l = 0; l < LEVELS - 1; l++) this.cuts[axis * (LEVELS - 1) + l] = (this.levels[base + l] + this.levels[base + l + 1]) / 2;
  }

  /** The learned levels (axes x 16, ascending per axis): a copy. */
  exportLevels(): Float64Array {
    return this.levels.slice();
  }

  /** Levels from `exportLevels` (axes x 16); RangeError when they are not that. */
  importLevels(levels: Float64Array): void {
    if (levels.length !== this.levels.length) throw new RangeError(`ranker levels: ${levels.length} values for ${this.axes} axes x ${LEVELS}`);
    for (let axis = 0; axis < this.axes; axis++) {
      const base = axis * LEVELS;
      for (let l = 0; l < LEVELS; l++) {
        const v = levels[base + l];
        if (!Number.isFinite(v) || (l > 0 && v < levels[base + l - 1]))
          throw new RangeError(`ranker levels: axis ${axis} level ${l} is ${v} (finite, ascending)`);
      }
    }
    this.levels.set(levels);
    for (let axis = 0; axis < this.axes; axis++) this.setCuts(axis);
  }

  /** Codes `row` from z[0..axes). */
  encode(row: number, z: Float64Array): void {
    const { cuts, codes } = this;
    for (let axis = 0; axis < this.axes; axis++) {
      const v = z[axis];
      const base = axis * (LEVELS - 1);
      // Binary search over the 15 cuts: the number of cuts below v.
      let code = v > cuts[base + 7] ? 8 : 0;
      if (v > cuts[base + code + 3]) code += 4;
      if (v > cuts[base + code + 1]) code += 2;
      if (v > cuts[base + code]) code += 1;
      codes[axis] = code;
    }
    this.arena.setRow(row, codes);
  }

  /** The table for query z[0..axes): per axis, squared distances to its levels less their minimum, scaled into 0..FOUR_BIT_MAX_ENTRY together. */
  setQuery(z: Float64Array): void {
    const { levels, entries } = this;
    let top = 0;
    for (let axis = 0; axis < this.axes; axis++) {
      const v = z[axis];
      const base = axis * LEVELS;
      let least = Infinity;
      for (let l = 0; l < LEVELS; l++) {
        const d = v - levels[base + l];
        const e = d * d;
        entries[base + l] = e;
        if (e < least) least = e;
      }
      for (let l = 0; l < LEVELS; l++) {
        const e = entries[base + l] - least;
        entries[base + l] = e;
        if (e > top) top = e;
      }
    }
    const scale = top > 0 && Number.isFinite(top) ? FOUR_BIT_MAX_ENTRY / top : 0;
    const lut = this.arena.lut;
    for (let i = 0; i < entries.length; i++) lut[i] = Math.floor(entries[i] * scale + 0.5);
  }

  /** The value code `code` of axis `axis` stands for. */
  level(axis: number, code: number): number {
    return this.levels[axis * LEVELS + code];
  }

  /** Rows of [start, end) with rank value <= limit into arena.out / arena.values; returns how many. */
  scan(start: number, end: number, limit: number): number {
    return this.arena.scan(start, end, limit);
  }
}

/** 16 levels for the sorted values (1-d k-means from equal-count buckets); `levels` ascending. */
function learnLevels(sorted: Float64Array, levels: Float64Array): void {
  const n = sorted.length;
  if (n === 0) {
    levels.fill(0);
    return;
  }
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i] + sorted[i];
  const mean = (from: number, to: number, fallback: number) => (to > from ? (prefix[to] - prefix[from]) / (to - from) : fallback);
  for (let l = 0; l < LEVELS; l++)
    levels[l] = mean(Math.floor((l * n) / LEVELS), Math.floor(((l + 1) * n) / LEVELS), sorted[Math.min(n - 1, Math.floor(((l + 0.5) * n) / LEVELS))]);
  const starts = new Int32Array(LEVELS + 1);
  for (let iteration = 0; iteration < LEVEL_ITERATIONS; iteration++) {
    starts[0] = 0;
    starts[LEVELS] = n;
    for (let l = 1; l < LEVELS; l++) starts[l] = lowerBound(sorted, (levels[l - 1] + levels[l]) / 2);
    for (let l = 0; l < LEVELS; l++) levels[l] = mean(starts[l], starts[l + 1], levels[l]);
  }
}

/** The first index whose value is > cut (values ascending). */
function lowerBound(sorted: Float64Array, cut: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] > cut) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
