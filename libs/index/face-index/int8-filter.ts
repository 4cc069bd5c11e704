/**
 * The pre-filter for exact search, in two stages, over the int16 rows.
 *
 * Full stage: the rows' int16 codes themselves (libs/index/simd-kernel/int16.ts): the kernel
 * keeps a superset of the rows whose stored vector can be within the query's current
 * k-th distance (its sums in float32, the limit widened for that and for the query's
 * rounding), and only those get the exact float64 distance.
 *
 * Prefix stage (dims >= 2 x prefixDims): int8 codes c[d] = clamp(round(z[d] / scale),
 * -127, 127) of z = B y, y = x - offset, B = the top prefixDims principal axes of the rows
 * (orthonormal rows, learned with the offset; z computed in float32 SIMD, its rounding
 * added to the miss), one uniform `scale`, and the norm of what the codes miss,
 * e = ||z - scale * c|| (float64, stored as a float32 rounded up). The query is coded the
 * same way (its own miss e_q). ||x - q|| >= ||B(x - q)|| for any B with orthonormal rows,
 * so by the triangle inequality, in real numbers,
 *
 *   ||x - q|| >= scale * sqrt(D) - e - e_q,   D = sum over d of (c[d] - c_q[d])^2 (exact, int32),
 *
 * and a row whose bound exceeds the k-th distance cannot enter the top k. 48 axes hold
 * most of the faces' variance, so the bound on 48 codes (56 bytes a row to read, not
 * the row's 256) passes only a few percent of the rows; those are read at the full
 * stage (a gather). A gathered row costs more (scattered reads) than a scanned one, so
 * the two stages pay where most rows are far from the query (exact search past the
 * nearest lists); near rows (probed lists) go to the full stage at once.
 *
 * The prefix kernel (libs/index/simd-kernel/int8.ts) computes D in int32 and the bound in
 * float32; `limitFor` widens the k-th distance by far more than every rounding involved
 * (float32 in the kernel; float64 here and in the oracle's sum; B's rows orthonormal to
 * ~1e-15), so the rows kept are a superset of the rows the oracle could rank in the top
 * k: results stay identical. Clamping is safe (the miss grows). Parameters (offset,
 * scale, axes) learned on few or unrepresentative rows only weaken the bounds.
 */
import { Int8CodeArena, Projector, int8ScanSupported, type Int16RowArena } from '../simd-kernel/index.js';
import { float32RowReader, topAxes, type RowReader } from '../ann/index.js';
import { FourBitRanker } from './four-bit-ranker.js';
import { runToEnd } from '../stepwise/index.js';
import type { RowColumn } from '../row-columns/index.js';
import type { FaceIndexPrefilterState } from './options.js';

/** Sampled rows a learning step takes into the covariance (8x as many into the ranker's projections). */
const LEARN_STEP_SAMPLES = 256;
/** Rows sampled to learn the offset. */
const LEARN_SAMPLE = 16_384;
/** Rows sampled for the ranker's levels. */
const RANK_LEVELS_SAMPLE = 16_384;
/** Rows sampled for the covariance (the principal axes). */
const COVARIANCE_SAMPLE = 2048;
/**
 * scale = this many standard deviations of the widest coordinate / 127 (values beyond
 * are clamped: their rows' misses grow). Measured at 250,000 faces: 5 -> 4 cut the rows
 * reaching the exact distance from 0.041% to 0.026% and the prefix stage's pass rate
 * from 8.3% to 7.6%; 3 cut them a little more (0.018%, 7.3%) with more rows clamped.
 */
const CLAMP_SDS = 4;
/** Relative and absolute widening of the limit: float32 kernel rounding is ~2e-7 relative. */
const LIMIT_RELATIVE = 1e-5;
const LIMIT_ABSOLUTE = 1e-6;
/**
 * Principal axes coded by the prefix stage (0: no prefix stage). Measured at 250,000
 * faces a shard: in process, exact search 2.8 ms a query with 32 axes, 2.1 with 48, 2.2
 * with 64; through the 4-shard cluster at 1,000,000 faces (concurrency 64), exact 198
 * q/s with 48 axes against 168 with 32.
 */
export const DEFAULT_PREFIX_DIMS = 48;
/**
 * Axes approximate search ranks rows on: the first of the prefix axes, in 4-bit codes of
 * their own (four-bit-ranker.ts: 16 bytes a row for 32 axes).
 */
export const DEFAULT_RANK_DIMS = 32;

/** One code set: its arena, its quantizer and the current query's codes. */
class Stage {
  readonly arena: Int8CodeArena;
  readonly dims: number;
  scale = 1e-3;
  inverse = 1e3;
  /** Largest possible scale * sqrt(D): bounds the kernel's absolute rounding. */
  span = 0;
  /** Absolute allowance for float64 rounding in a miss. */
  missFloor = 0;
  queryNorm = 0;
  queryMiss = 0;
  /** The kernel limit for `limitWorst` (cached: limits change only when the k-th distance does). */
  limit = Infinity;
  limitWorst = Infinity;

  constructor(dims: number, initialRows: number) {
    this.dims = dims;
    this.arena = new Int8CodeArena(dims, initialRows);
  }

  setScale(sd: number, missFloor: number): void {
    let scale = Math.fround((CLAMP_SDS * sd) / 127);
    if (!(scale > 1e-30) || !Number.isFinite(scale)) scale = 1e-3;
    this.scale = scale;
    this.inverse = 1 / scale;
    this.span = scale * 254 * Math.sqrt(this.arena.codeDims);
    this.missFloor = 1e-9 * scale * Math.sqrt(this.dims) + missFloor + 1e-300;
  }

  /** Codes of values[0..dims) into `row` (or the query when row < 0); returns the unrounded miss. */
  quantize(values: Float64Array, row: number): number {
    const { dims, scale, inverse } = this;
    const arena = this.arena;
    const codeDims = arena.codeDims;
    const codes: Int8Array | Int16Array = row < 0 ? arena.query : arena.codes;
    const out = row < 0 ? 0 : row * codeDims;
    let miss = 0;
    let norm = 0;
    for (let d = 0; d < dims; d++) {
      const y = values[d];
      // Any integer code is correct (the miss is computed from it); floor(t + 0.5) measured 2x faster than Math.round here.
      let c = Math.floor(y * inverse + 0.5);
      c = c > 127 ? 127 : c < -127 ? -127 : c;
      codes[out + d] = c;
      norm += c * c;
      const r = y - c * scale;
      miss += r * r;
    }
    for (let d = dims; d < codeDims; d++) codes[out + d] = 0;
    if (row < 0) this.queryNorm = norm;
    else arena.norms[row] = norm;
    return Math.sqrt(miss);
  }

  /**
   * The kernel's limit when the k-th squared distance is `worst`: a row with exact
   * (oracle) squared distance <= worst has scale * sqrt(D) - e <= sqrt(worst) + e_q in
   * real numbers; the limit adds margins for the float64 sqrt here, a basis a hair off
   * orthonormal, and the float32 arithmetic of the kernel.
   */
  limitFor(worst: number): number {
    if (worst === this.limitWorst) return this.limit;
    this.limitWorst = worst;
    if (!(worst < Infinity)) return (this.limit = Infinity);
    const exact = (Math.sqrt(worst) * (1 + 1e-6) + this.queryMiss) * (1 + LIMIT_RELATIVE) + LIMIT_RELATIVE * this.span + LIMIT_ABSOLUTE;
    return (this.limit = Math.fround(exact * (1 + 1e-6)));
  }
}

/** Rows as the filter reads them: a RowStore (its stored vectors), or float32 rows in tests. */
export interface StoredRows extends RowReader {
  readonly deleted: Uint8Array;
}

/** StoredRows over plain float32 rows. */
export function float32StoredRows(vectors: Float32Array, dims: number, deleted: Uint8Array): StoredRows {
  return { deleted, ...float32RowReader(vectors, dims) };
}

export class Int8Filter {
  readonly dims: number;
  /** Principal axes in the prefix stage (0: none). */
  readonly prefixDims: number;
  /** The full stage: the rows' own codes and kernel. */
  private readonly rows: Int16RowArena;
  private readonly prefix: Stage | undefined;
  /** Approximate ranking: the first rankDims of the prefix axes in 4-bit codes (with the prefix stage). */
  private readonly ranker: FourBitRanker | undefined;
  private readonly stages: Stage[];
  /** Per-dimension offset (the mean of the sample). */
  private readonly offset: Float64Array;
  /** prefixDims x dims, orthonormal rows (float64). */
  private readonly basis: Float64Array;
  private readonly y: Float64Array;
  /** One stored row, read for coding or learning. */
  private readonly row: Float32Array;
  /** ||y|| of the vector last staged by setY (bounds the projection's rounding). */
  private yNorm = 0;
  private readonly z: Float64Array;
  /** float32 SIMD projection (dims a multiple of 4), else float64 JS. */
  private readonly projector: Projector | undefined;
  /** Allowance for the projection's rounding, times ||y||: 1e-4 over float32's ~2.3e-5, 1e-10 over float64's ~2e-13. */
  private readonly projectionError: number;
  /** Whether offset, scales and axes are learned. */
  private parametersLearned = false;
  /** Whether, besides, every row has its codes (`codesComplete`): searches may use the filter. */
  private coded = false;
  /** Live rows the parameters were learned on. */
  learnedRows = 0;
  /** The spread the prefix stage's scale was set from (kept for `exportParameters`). */
  private prefixSd = 0;

  static supported(dims: number): boolean {
    return int8ScanSupported() && dims >= 16;
  }

  constructor(dims: number, initialRows: number, rows: Int16RowArena, prefixDims = DEFAULT_PREFIX_DIMS, rankDims = DEFAULT_RANK_DIMS) {
    this.dims = dims;
    this.rows = rows;
    this.prefixDims = prefixDims > 0 && dims >= 2 * prefixDims ? Math.ceil(prefixDims / 16) * 16 : 0;
    const rankAxes = Math.min(this.prefixDims, Math.max(2, Math.ceil(rankDims / 2) * 2));
    this.prefix = this.prefixDims > 0 ? new Stage(this.prefixDims, initialRows) : undefined;
    this.ranker = this.prefix !== undefined ? new FourBitRanker(rankAxes, initialRows) : undefined;
    this.stages = this.prefix !== undefined ? [this.prefix] : [];
    this.offset = new Float64Array(dims);
    this.basis = new Float64Array(this.prefixDims * dims);
    this.y = new Float64Array(dims);
    this.row = new Float32Array(dims);
    this.z = new Float64Array(this.prefixDims);
    this.projector = this.prefixDims > 0 && dims % 4 === 0 ? new Projector(dims, this.prefixDims) : undefined;
    this.projectionError = this.projector ? 1e-4 : 1e-10;
  }

  /** Whether offset, scales and axes are learned (`learnSteps` ended). */
  get learned(): boolean {
    return this.parametersLearned;
  }

  /** Whether searches may use the filter: parameters learned and every row coded. */
  get ready(): boolean {
    return this.coded;
  }

  /** The owner coded every row with the current parameters (`encodeRows`). */
  codesComplete(): void {
    if (!this.parametersLearned) throw new Error('the pre-filter has no parameters to code rows with');
    this.coded = true;
  }

  /** The rows' codes are stale (rows were replaced): searches skip the filter until it learns again. */
  invalidate(): void {
    this.coded = false;
  }

  /** The filter's per-row columns (its code arenas): they move with the rows (libs/index/row-columns). */
  get columns(): RowColumn[] {
    const columns: RowColumn[] = this.stages.map((stage) => stage.arena);
    if (this.ranker !== undefined) columns.push(this.ranker.arena);
    return columns;
  }

  get bytes(): number {
    return this.stages.reduce((sum, stage) => sum + stage.arena.bytes, 0) + (this.ranker?.arena.bytes ?? 0);
  }

  /** The rows `candidates` and `gather` found (the row arena's list: write rows here for `gather`). */
  get out(): Int32Array {
    return this.rows.list;
  }

  /** Learns offset (mean), scale and principal axes from a sample of the live rows; the caller then encodes every row. */
  learn(rows: StoredRows, rowCount: number): void {
    runToEnd(this.learnSteps(rows, rowCount));
  }

  /**
   * `learn` in steps of a few tens of milliseconds (one step measured ~210 ms for
   * 250,000 rows): the sample's mean and spread, the covariance a block of rows at a
   * time, the axes, the ranker's projections a block at a time, its levels. `rows()`
   * gives the current columns (the index reallocates them as it grows); rows
   * [0, rowCount) must not move meanwhile. Searches skip the filter from the first step
   * (the parameters change step by step) until the owner codes every row and calls
   * `codesComplete`. `rows` is read afresh at every step (its columns may be reallocated
   * as the index grows).
   */
  *learnSteps(rows: StoredRows, rowCount: number): Generator<void, void, void> {
    this.coded = false;
    this.parametersLearned = false;
    const dims = this.dims;
    const one = this.row;
    let live = 0;
    {
      const { deleted } = rows;
      for (let row = 0; row < rowCount; row++) if (deleted[row] === 0) live++;
    }
    /** About `size` live rows spread over the index. */
    const sample = (size: number): number[] => {
      const { deleted } = rows;
      const step = Math.max(1, Math.floor(live / size));
      const picked: number[] = [];
      let seen = 0;
      for (let row = 0; row < rowCount; row++) {
        if (deleted[row] !== 0) continue;
        if (seen++ % step === 0) picked.push(row);
      }
      return picked;
    };
    const sum = new Float64Array(dims);
    const moments = sample(LEARN_SAMPLE);
    for (const row of moments) {
      rows.readRows(row, 1, one, 0);
      for (let d = 0; d < dims; d++) sum[d] += one[d];
    }
    const taken = moments.length;
    for (let d = 0; d < dims; d++) this.offset[d] = taken > 0 ? sum[d] / taken : 0;
    const prefix = this.prefix;
    if (prefix !== undefined) {
      const picked = sample(COVARIANCE_SAMPLE);
      const covariance = new Float64Array(dims * dims);
      const y = this.y;
      const offset = this.offset;
      for (let from = 0; from < picked.length; from += LEARN_STEP_SAMPLES) {
        yield;
        const to = Math.min(picked.length, from + LEARN_STEP_SAMPLES);
        for (let p = from; p < to; p++) {
          rows.readRows(picked[p], 1, one, 0);
          for (let d = 0; d < dims; d++) y[d] = one[d] - offset[d];
          for (let i = 0; i < dims; i++) {
            const yi = y[i];
            const rowBase = i * dims;
            for (let j = i; j < dims; j++) covariance[rowBase + j] += yi * y[j];
          }
        }
      }
      const count = Math.max(1, picked.length);
      for (let i = 0; i < dims; i++) for (let j = 0; j < i; j++) covariance[i * dims + j] = covariance[j * dims + i];
      for (let i = 0; i < covariance.length; i++) covariance[i] /= count;
      const top = yield* topAxes(covariance, dims, this.basis, this.prefixDims);
      this.projector?.setBasis(this.basis);
      // The axes' variances fall off: the first is the widest coordinate.
      this.prefixSd = Math.sqrt(Math.max(0, top));
      prefix.setScale(this.prefixSd, 0);
      if (this.ranker !== undefined) yield* this.learnRankerSteps(rows, sample(RANK_LEVELS_SAMPLE));
    }
    for (const stage of this.stages) stage.limitWorst = NaN;
    this.parametersLearned = true;
    this.learnedRows = live;
  }

  /** The ranker's levels from the projections of the picked rows (the basis set), in steps. */
  private *learnRankerSteps(rows: StoredRows, picked: number[]): Generator<void, void, void> {
    const ranker = this.ranker!;
    const axes = ranker.axes;
    const samples = new Float64Array(picked.length * axes);
    for (let from = 0; from < picked.length; from += 8 * LEARN_STEP_SAMPLES) {
      yield;
      const to = Math.min(picked.length, from + 8 * LEARN_STEP_SAMPLES);
      for (let i = from; i < to; i++) {
        rows.readRows(picked[i], 1, this.row, 0);
        this.setY(this.row, 0);
        const z = this.project();
        for (let a = 0; a < axes; a++) samples[i * axes + a] = z[a];
      }
    }
    yield* ranker.learnSteps(samples, picked.length, axes);
  }

  /**
   * The learned parameters and the shapes of the rows' codes (its codes: `readCodes`),
   * when there is a prefix stage and a ranker and the parameters are learned; else undefined.
   */
  exportParameters(): Omit<FaceIndexPrefilterState, 'codes' | 'residuals' | 'rankCodes'> | undefined {
    const { prefix, ranker } = this;
    if (prefix === undefined || ranker === undefined || !this.parametersLearned) return undefined;
    return {
      prefixDims: this.prefixDims,
      codeDims: prefix.arena.codeDims,
      rankAxes: ranker.axes,
      learnedRows: this.learnedRows,
      prefixSd: this.prefixSd,
      offset: this.offset.slice(),
      basis: this.basis.slice(),
      levels: ranker.exportLevels(),
    };
  }

  /**
   * Parameters from `exportParameters` (of a filter of the same shape): learned, not
   * coded. RangeError, with nothing changed, when they do not fit this filter.
   */
  importParameters(state: Omit<FaceIndexPrefilterState, 'codes' | 'residuals' | 'rankCodes'>): void {
    const { prefix, ranker, dims } = this;
    if (prefix === undefined || ranker === undefined) throw new RangeError('pre-filter state: this filter has no prefix stage');
    if (state.prefixDims !== this.prefixDims || state.codeDims !== prefix.arena.codeDims || state.rankAxes !== ranker.axes)
      throw new RangeError(
        `pre-filter state: ${state.prefixDims} axes, ${state.codeDims} codes, ${state.rankAxes} rank axes; this filter ${this.prefixDims}, ${prefix.arena.codeDims}, ${ranker.axes}`,
      );
    if (state.offset.length !== dims || state.basis.length !== this.prefixDims * dims)
      throw new RangeError('pre-filter state: offset or basis of the wrong size');
    for (const v of state.offset) if (!Number.isFinite(v)) throw new RangeError('pre-filter state: an offset is not finite');
    for (const v of state.basis) if (!Number.isFinite(v)) throw new RangeError('pre-filter state: a basis value is not finite');
    if (!(state.prefixSd >= 0 && Number.isFinite(state.prefixSd))) throw new RangeError(`pre-filter state: spread ${state.prefixSd}`);
    if (!Number.isInteger(state.learnedRows) || state.learnedRows < 0) throw new RangeError(`pre-filter state: learnedRows ${state.learnedRows}`);
    ranker.importLevels(state.levels);
    this.coded = false;
    this.offset.set(state.offset);
    this.basis.set(state.basis);
    this.projector?.setBasis(this.basis);
    this.prefixSd = state.prefixSd;
    prefix.setScale(state.prefixSd, 0);
    for (const stage of this.stages) stage.limitWorst = NaN;
    this.learnedRows = state.learnedRows;
    this.parametersLearned = true;
  }

  /** Rows `liveRows`' prefix codes, misses and packed rank codes into the state's arrays, face i from row liveRows[i]. */
  readCodes(liveRows: Int32Array, into: Pick<FaceIndexPrefilterState, 'codes' | 'residuals' | 'rankCodes'>): void {
    const arena = this.prefix!.arena;
    const codeDims = arena.codeDims;
    const rankArena = this.ranker!.arena;
    const rowBytes = this.ranker!.axes / 2;
    const faces = liveRows.length;
    for (let at = 0; at < faces;) {
      // A run of consecutive rows: one copy each.
      const first = liveRows[at];
      let end = at + 1;
      while (end < faces && liveRows[end] === first + (end - at)) end++;
      const rows = end - at;
      into.codes.set(arena.codes.subarray(first * codeDims, (first + rows) * codeDims), at * codeDims);
      into.residuals.set(arena.residuals.subarray(first, first + rows), at);
      for (let i = 0; i < rows; i++) rankArena.readPacked(first + i, into.rankCodes, (at + i) * rowBytes);
      at = end;
    }
  }

  /** The reverse of `readCodes` for rows 0..faces-1 from faces 0..faces-1 (each row's norm computed from its codes). */
  writeCodes(from: Pick<FaceIndexPrefilterState, 'codes' | 'residuals' | 'rankCodes'>, faces: number): void {
    const arena = this.prefix!.arena;
    const codeDims = arena.codeDims;
    const codes = arena.codes;
    codes.set(from.codes.subarray(0, faces * codeDims));
    arena.residuals.set(from.residuals.subarray(0, faces));
    const norms = arena.norms;
    for (let row = 0, d = 0; row < faces; row++) {
      let norm = 0;
      for (const end = d + codeDims; d < end; d++) norm += codes[d] * codes[d];
      norms[row] = norm;
    }
    this.ranker!.arena.writePackedRows(from.rankCodes, faces);
  }

  /**
   * Whether row `row`'s codes are what coding its stored vector with the current
   * parameters gives (it is coded again: a mismatch leaves the new codes).
   */
  rowCodesMatch(rows: StoredRows, row: number): boolean {
    const axes = this.ranker!.axes;
    const codeDims = this.prefix!.arena.codeDims;
    const one = Int32Array.of(row);
    const held = { codes: new Int8Array(codeDims), residuals: new Float32Array(1), rankCodes: new Uint8Array(axes / 2) };
    this.readCodes(one, held);
    this.encodeRows(rows, row, row + 1);
    const now = { codes: new Int8Array(codeDims), residuals: new Float32Array(1), rankCodes: new Uint8Array(axes / 2) };
    this.readCodes(one, now);
    const same = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
      return true;
    };
    return same(held.codes, now.codes) && same(held.residuals, now.residuals) && same(held.rankCodes, now.rankCodes);
  }

  /** Prefix codes, misses and rank codes of rows [from, to). */
  encodeRows(rows: StoredRows, from: number, to: number): void {
    const { prefix, ranker } = this;
    if (prefix === undefined) return;
    for (let row = from; row < to; row++) {
      rows.readRows(row, 1, this.row, 0);
      this.setY(this.row, 0);
      const z = this.project();
      prefix.arena.residuals[row] = Math.fround(this.prefixMiss(prefix, prefix.quantize(z, row)) * (1 + 1e-6));
      ranker?.encode(row, z);
    }
  }

  /** Codes the query (queries[queryOffset..]) for `candidates`, `gather` and `rank` (the row arena's query too). */
  setQuery(queries: Float32Array, queryOffset: number): void {
    const { prefix, ranker } = this;
    this.rows.setQuery(queries, queryOffset);
    if (prefix !== undefined) {
      this.setY(queries, queryOffset);
      const z = this.project();
      prefix.queryMiss = this.prefixMiss(prefix, prefix.quantize(z, -1)) * (1 + 1e-9);
      prefix.limitWorst = NaN;
      ranker?.setQuery(z);
    }
  }

  /**
   * Rows of [firstRow, firstRow + count) (count <= SCAN_BLOCK_ROWS) whose bounds allow a
   * squared distance <= worst, written to `out`; returns how many. `twoStage`: the
   * principal-axes stage first (pays when most rows are far: it passes ~8% of them on
   * face data), else the int16 rows of every row.
   */
  candidates(firstRow: number, count: number, worst: number, twoStage: boolean): number {
    const { rows, prefix } = this;
    if (prefix === undefined || !twoStage) return rows.gatherRange(firstRow, count, worst);
    const n = prefix.arena.scan(firstRow, count, prefix.queryNorm, prefix.scale, prefix.limitFor(worst));
    if (n === 0) return 0;
    rows.list.set(prefix.arena.out.subarray(0, n));
    return rows.gather(n, worst);
  }

  /** Whether `rank` can run: there is a principal-axes stage. */
  get ranks(): boolean {
    return this.ranker !== undefined;
  }

  /**
   * Rows of [firstRow, firstRow + count) (count <= SCAN_BLOCK_ROWS) whose 4-bit rank
   * value (an approximate squared distance on the first principal axes, in the query's
   * table units: not a bound) is <= limit: row numbers to `rankOut`, values to
   * `rankValues`; returns how many. For approximate search, which ranks rows by this
   * value and gives only the best the exact distance.
   */
  rank(firstRow: number, count: number, limit: number): number {
    return this.ranker!.scan(firstRow, firstRow + count, limit);
  }

  /**
   * Of the n rows listed in `out` (out[0..n), n <= SCAN_BLOCK_ROWS), a superset of those
   * whose stored vector can be within squared distance `worst`, kept in order in out[0..m); returns m.
   */
  gather(n: number, worst: number): number {
    return this.rows.gather(n, worst);
  }

  get rankOut(): Int32Array {
    return this.ranker!.arena.out;
  }

  get rankValues(): Int32Array {
    return this.ranker!.arena.values;
  }

  /** y = source[base..] - offset (float64, and float32 into the projector), and yNorm = ||y||. */
  private setY(source: Float32Array, base: number): void {
    const { dims, offset, y } = this;
    const staged = this.projector?.y;
    let norm = 0;
    if (staged !== undefined) {
      for (let d = 0; d < dims; d++) {
        const v = source[base + d] - offset[d];
        y[d] = v;
        staged[d] = v;
        norm += v * v;
      }
    } else {
      for (let d = 0; d < dims; d++) {
        const v = source[base + d] - offset[d];
        y[d] = v;
        norm += v * v;
      }
    }
    this.yNorm = Math.sqrt(norm);
  }

  /** z = basis * y (this.y in, this.z out). */
  private project(): Float64Array {
    const { dims, basis, y, z, projector } = this;
    if (projector !== undefined) {
      const out = projector.project();
      for (let i = 0; i < this.prefixDims; i++) z[i] = out[i];
      return z;
    }
    // Four axes a pass over y (prefixDims is a multiple of 16): four independent sums.
    for (let i = 0; i < this.prefixDims; i += 4) {
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      const b0 = i * dims;
      const b1 = b0 + dims;
      const b2 = b1 + dims;
      const b3 = b2 + dims;
      for (let d = 0; d < dims; d++) {
        const v = y[d];
        s0 += basis[b0 + d] * v;
        s1 += basis[b1 + d] * v;
        s2 += basis[b2 + d] * v;
        s3 += basis[b3 + d] * v;
      }
      z[i] = s0;
      z[i + 1] = s1;
      z[i + 2] = s2;
      z[i + 3] = s3;
    }
    return z;
  }

  /**
   * A prefix miss from the codes' miss: plus the projection's rounding (||z - B y|| is
   * at most ~2.3e-5 ||y|| in float32 for 32 axes, ~2e-13 ||y|| in float64:
   * projectionError is far above either) and the stage's floor.
   */
  private prefixMiss(stage: Stage, codesMiss: number): number {
    return codesMiss + this.projectionError * this.yNorm + stage.missFloor;
  }
}
