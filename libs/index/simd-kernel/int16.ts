/**
 * Face vectors stored as int16 codes at one fixed scale, in WebAssembly memory, and the
 * kernel giving their squared distance to a float32 query (`int16GatherModuleBytes`).
 * A component x is stored as round(x / INT16_ROW_SCALE): every |x| <= INT16_ROW_MAX is
 * kept within INT16_ROW_SCALE / 2 (3.1e-5), in half the bytes of float32. The scale is
 * a power of two fixed for all indexes (not learned from the data), so a stored value
 * never moves: encoding it again gives the same code, through snapshots and restarts.
 *
 * Why int16 and not float16, measured (1,000,000 benchmark faces, 1,000 queries, exact
 * search over the rounded rows against the float32 rows): int16 at 2^-14 gave the same
 * nearest face for 1,000 of 1,000 queries, recall@10 0.9990, distances within 6.5e-5;
 * float16: 999 of 1,000, 0.9986, 1.1e-4. Face-api descriptors sit far inside the range:
 * the 22 sample faces' largest component is 0.458 (norms 1.40-1.51).
 *
 * Layout: [ query codes (int16, rowDims) | list (int32, INT16_GATHER_ROWS) |
 * distances (float32, INT16_GATHER_ROWS) | rows (int16, capacity x rowDims) ]. Views
 * (`codes`, `list`, `distances`) are rebuilt by `ensureRowCapacity`; take them again after it.
 */
import { wasmSimdSupported } from './simd-support.js';
import { int16GatherModuleBytes } from './int16-wasm.js';
import { copyingMemory, growMemoryTo, instantiateKernel, type WasmMemory } from './instance.js';
import { grownCapacity } from './grown-capacity.js';
import { AsideRows, type RowColumn } from '../row-columns/index.js';

export const INT16_ROW_SCALE = 2 ** -14;
/** 1 / INT16_ROW_SCALE: multiplying by it is exact (a power of two) and cheaper than dividing. */
const INVERSE_SCALE = 2 ** 14;
/** Largest |component| a row can hold. */
export const INT16_ROW_MAX = 32767 * INT16_ROW_SCALE;
/**
 * The code a row stores for a float32 component x (|x| <= INT16_ROW_MAX): round(x / scale),
 * ties up like Math.round. x * 2^14 + 32768.5 is then exact and positive, so truncating it
 * is the floor; measured ~6x faster than Math.round (1.3 -> 0.22 us a 128-d row).
 */
export function int16RowCode(x: number): number {
  return ((x * INVERSE_SCALE + 32768.5) | 0) - 32768;
}

/** Most rows one `gather` call takes. */
export const INT16_GATHER_ROWS = 1024;

/**
 * Widening of `gather`'s limit for float32: its sum of ~64 int32-exact pair sums has
 * a relative error under 64 * 2^-24 ~ 4e-6.
 */
const GATHER_LIMIT_RELATIVE = 1e-5;
/** Squared code-unit distances to vector units: exact (a power of two). */
const SQUARED_SCALE = INT16_ROW_SCALE * INT16_ROW_SCALE;

type GatherFunction = (rows: number, list: number, n: number, query: number, out: number, limit: number) => number;

export interface Int16RowArenaOptions {
  /** Plain JS memory and kernel (tests, and runtimes without WebAssembly SIMD): the same contract, exact integer sums. */
  forceJs?: boolean;
}

export class Int16RowArena implements RowColumn {
  readonly dims: number;
  /** Codes per row: dims rounded up to a multiple of 8 (padding codes stay 0). */
  readonly rowDims: number;
  /** True when the WebAssembly SIMD kernel runs, false for the JS fallback. */
  readonly simd: boolean;
  /** WebAssembly memory, or (JS fallback) a stand-in that grows by copying. */
  private readonly memory: WasmMemory;
  private readonly gatherFunction: GatherFunction;
  private readonly listByte: number;
  private readonly rowsByte: number;
  private capacity = 0;
  /** Codes of every row, capacity x rowDims. */
  codes!: Int16Array;
  /** Rows for `gather` (write them first); it leaves the rows that pass here. */
  list!: Int32Array;
  /** list[i]'s squared distance after `gather` (float32, vector units). */
  distances!: Float32Array;
  private query!: Int16Array;
  /** One row's codes, checked before they are stored (`setRow`). */
  private readonly staged: Int16Array;
  /** ||query - its codes * scale||: how far `gather`'s rounded query is from the one given. */
  private queryMiss = 0;
  private readonly aside = new AsideRows<Int16Array>();

  constructor(dims: number, initialRows = 64, options: Int16RowArenaOptions = {}) {
    if (!Number.isInteger(dims) || dims < 1) throw new RangeError(`dims must be a positive integer, got ${dims}`);
    this.dims = dims;
    this.rowDims = Math.ceil(dims / 8) * 8;
    this.staged = new Int16Array(dims);
    this.listByte = Math.ceil((this.rowDims * 2) / 16) * 16;
    const distancesOffset = INT16_GATHER_ROWS * 4;
    // Then 4 bytes the kernel's touch pass writes (int16-wasm.ts); rows start on a cache line.
    this.rowsByte = Math.ceil((this.listByte + 2 * distancesOffset + 4) / 64) * 64;
    this.simd = !options.forceJs && wasmSimdSupported();
    if (this.simd) {
      const { memory, exports } = instantiateKernel(`int16 ${this.rowDims}`, () => int16GatherModuleBytes(this.rowDims, distancesOffset));
      this.memory = memory;
      this.gatherFunction = exports.gather_i16 as GatherFunction;
    } else {
      this.memory = copyingMemory();
      this.gatherFunction = (rows, list, n, query, out, limit) => this.jsGather(n, limit);
    }
    this.ensureRowCapacity(Math.max(1, initialRows));
  }

  get rowCapacity(): number {
    return this.capacity;
  }

  /** Bytes of memory held. */
  get bytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Room for at least `rows` rows (doubling); rows are kept, fresh rows read as zeros. */
  ensureRowCapacity(rows: number): void {
    if (rows <= this.capacity) return;
    const capacity = grownCapacity(this.capacity, rows);
    // Grown pages are zero, and stay off the resident set until rows are written.
    growMemoryTo(this.memory, this.rowsByte + capacity * this.rowDims * 2);
    this.capacity = capacity;
    const buffer = this.memory.buffer;
    this.query = new Int16Array(buffer, 0, this.rowDims);
    this.list = new Int32Array(buffer, this.listByte, INT16_GATHER_ROWS);
    this.distances = new Float32Array(buffer, this.listByte + INT16_GATHER_ROWS * 4, INT16_GATHER_ROWS);
    this.codes = new Int16Array(buffer, this.rowsByte, capacity * this.rowDims);
  }

  /**
   * Stores vector[from..from + dims) as row `row`, each component rounded to the nearest
   * multiple of INT16_ROW_SCALE. A component that is not finite or past INT16_ROW_MAX is
   * a RangeError naming it, and the row is left as it was.
   */
  setRow(row: number, vector: Float32Array, from = 0): void {
    const { dims, staged } = this;
    // One pass codes and checks into `staged`; the row is written only once all passed.
    for (let d = 0; d < dims; d++) {
      const x = vector[from + d];
      if (!(x <= INT16_ROW_MAX && x >= -INT16_ROW_MAX)) throw new RangeError(`vector element ${d} is ${x} (must be finite and within ±${INT16_ROW_MAX})`);
      staged[d] = int16RowCode(x);
    }
    this.codes.set(staged, row * this.rowDims);
  }

  /** The stored value of row's component d. */
  value(row: number, d: number): number {
    return this.codes[row * this.rowDims + d] * INT16_ROW_SCALE;
  }

  /** The stored vectors of rows [first, first + count), back to back, into out[at..]. */
  readRows(first: number, count: number, out: Float32Array | Float64Array, at = 0): void {
    const { dims, rowDims, codes } = this;
    for (let r = 0; r < count; r++) {
      const base = (first + r) * rowDims;
      const to = at + r * dims;
      for (let d = 0; d < dims; d++) out[to + d] = codes[base + d] * INT16_ROW_SCALE;
    }
  }

  /** The query `gather` compares rows with: query[from..from + dims), coded like a row (clamped to the range). */
  setQuery(query: ArrayLike<number>, from = 0): void {
    const target = this.query;
    let miss = 0;
    for (let d = 0; d < this.dims; d++) {
      const x = query[from + d];
      const code = x >= INT16_ROW_MAX ? 32767 : x <= -INT16_ROW_MAX ? -32767 : int16RowCode(x);
      target[d] = code;
      miss += (x - code * INT16_ROW_SCALE) ** 2;
    }
    this.queryMiss = Math.sqrt(miss);
  }

  /**
   * Of the n rows in list[0..n) (n <= INT16_GATHER_ROWS), a superset of those whose
   * squared distance to the query (`setQuery`) can be <= limit: kept in order in
   * list[0..m), with distances[0..m) their squared distance to the query's codes
   * (float32, an estimate off by up to the query's rounding); returns m. The limit is
   * widened by the query's rounding (triangle inequality) and float32's: take the float64
   * distance over the stored values (face-index's `codedSquaredDistanceWithin`) of the
   * rows kept where an answer must be exact.
   */
  gather(n: number, limit: number): number {
    if (!(n >= 0 && n <= INT16_GATHER_ROWS)) throw new RangeError(`gather takes 0..${INT16_GATHER_ROWS} rows, got ${n}`);
    const reach = (Math.sqrt(limit) + this.queryMiss) / INT16_ROW_SCALE;
    const bound = limit >= Infinity ? Infinity : reach * reach * (1 + GATHER_LIMIT_RELATIVE) + 1;
    const m = this.gatherFunction(this.rowsByte, this.listByte, n, 0, this.listByte, bound);
    const distances = this.distances;
    for (let i = 0; i < m; i++) distances[i] *= SQUARED_SCALE;
    return m;
  }

  /** `gather` over rows [first, first + count) (count <= INT16_GATHER_ROWS): the list is filled with them first. */
  gatherRange(first: number, count: number, limit: number): number {
    const list = this.list;
    for (let i = 0; i < count; i++) list[i] = first + i;
    return this.gather(count, limit);
  }

  /** The kernel's contract in JS, with exact integer sums (in code units, like the kernel). */
  private jsGather(n: number, limit: number): number {
    const { rowDims, codes, query, list, distances } = this;
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const row = list[i];
      const base = row * rowDims;
      let sum = 0;
      for (let d = 0; d < rowDims; d++) {
        const t = codes[base + d] - query[d];
        sum += t * t;
      }
      if (sum <= limit) {
        list[kept] = row;
        distances[kept++] = sum;
      }
    }
    return kept;
  }

  /** Moves rows like `copyWithin` (to, from, end). */
  copyRows(to: number, from: number, end: number): void {
    const rd = this.rowDims;
    this.codes.copyWithin(to * rd, from * rd, end * rd);
  }

  takeRows(rows: Int32Array, count: number): void {
    this.aside.take(this.codes, this.rowDims, rows, count);
  }

  putRows(slot: number, row: number, count: number): void {
    this.aside.put(this.codes, this.rowDims, slot, row, count);
  }

  releaseTaken(): void {
    this.aside.release();
  }

  /**
   * Moves row order[pos] to pos for every pos < rowCount (order a permutation), in place
   * one cycle at a time with one row held aside: the rows are most of a shard's memory,
   * and a copy of them would double its peak while the IVF sorts.
   */
  permuteRows(order: Int32Array, rowCount: number): void {
    const rd = this.rowDims;
    const codes = this.codes;
    const done = new Uint8Array(rowCount);
    const held = new Int16Array(rd);
    for (let start = 0; start < rowCount; start++) {
      if (done[start] !== 0 || order[start] === start) continue;
      held.set(codes.subarray(start * rd, (start + 1) * rd));
      let pos = start;
      for (;;) {
        done[pos] = 1;
        const from = order[pos];
        if (from === start) {
          codes.set(held, pos * rd);
          break;
        }
        codes.copyWithin(pos * rd, from * rd, (from + 1) * rd);
        pos = from;
      }
    }
  }
}
