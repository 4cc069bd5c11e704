/**
 * Ranks fixed centroids by their distance to queries, for picking a query's IVF lists:
 * centroids and queries coded as int16 at one power-of-two scale, keys
 * ||c||^2 - 2 c.q in code units (the squared distance less ||q||^2, the same for every
 * centroid of a query), dot products exact in int32 (WebAssembly SIMD where the runtime
 * supports it, the same numbers in plain JS otherwise).
 *
 * The scale puts the largest centroid component at <= `centroidCodeMax` codes; queries
 * are clamped at 4x that, which bounds every dot product below 2^31. For face vectors
 * (norm ~1, 128 dims) rounding moves a key by ~1e-4 of a squared distance (5e-4 at
 * most, measured): a list at the edge of a query's probes may trade places with a
 * neighbour (the choice of lists is a heuristic; recall@1 over 1,000 benchmark queries
 * was unchanged, 0.902 -> 0.903 at effort 0.25, 0.987 at effort 1).
 *
 * Memory: [ centroid codes | norms (float32) | staged query codes | keys (float32) ].
 */
import { centroidRankModuleBytes, CENTROID_RANK_WIDTHS } from './centroid-ranker-wasm.js';
import { wasmSimdSupported } from './simd-support.js';
import { copyingMemory, growMemoryTo, instantiateKernel, type WasmMemory } from './instance.js';

type RankFunction = (centroids: number, count: number, norms: number, queries: number, out: number, strideBytes: number) => void;

export interface CentroidRankerOptions {
  /** Plain JS memory and kernel (tests, and runtimes without WebAssembly SIMD): the same keys, bit for bit. */
  forceJs?: boolean;
}

/** Largest centroid code for `rowDims` codes a row: rowDims * max * 4 * max stays below 2^31. */
function centroidCodeMax(rowDims: number): number {
  return Math.min(8191, Math.floor(Math.sqrt(2 ** 31 / (4 * rowDims))) - 1);
}

export class CentroidRanker {
  readonly dims: number;
  /** Codes a row: dims rounded up to a multiple of 8 (padding codes stay 0). */
  readonly rowDims: number;
  /** Centroids ranked. */
  readonly count: number;
  /** Code units a vector unit (a power of two). */
  readonly scale: number;
  /** True when the WebAssembly SIMD kernel runs, false for the JS fallback. */
  readonly simd: boolean;
  private readonly queryCodeMax: number;
  private readonly memory: WasmMemory;
  private readonly kernels: RankFunction[] = [];
  private readonly normsByte: number;
  private readonly queriesByte: number;
  private queryCapacity = 0;
  private keyCapacity = 0;
  private keysByte = 0;
  private codes!: Int16Array;
  private norms!: Float32Array;
  private queries!: Int16Array;
  /** Keys of the last `rank`: query i of it (0-based) has its centroid c's key at keys[i * count + c]. */
  keys!: Float32Array;

  /** A ranker of the `centroids` (count x dims float32, back to back; finite). */
  constructor(dims: number, centroids: Float32Array, options: CentroidRankerOptions = {}) {
    if (!Number.isInteger(dims) || dims < 1) throw new RangeError(`dims must be a positive integer, got ${dims}`);
    if (centroids.length === 0 || centroids.length % dims !== 0) throw new RangeError(`${centroids.length} centroid floats for ${dims} dims`);
    this.dims = dims;
    this.rowDims = Math.ceil(dims / 8) * 8;
    this.count = centroids.length / dims;
    let largest = 0;
    for (let i = 0; i < centroids.length; i++) {
      const x = Math.abs(centroids[i]);
      if (!Number.isFinite(x)) throw new RangeError(`centroid element ${i % dims} of centroid ${Math.floor(i / dims)} is ${centroids[i]}`);
      if (x > largest) largest = x;
    }
    const codeMax = centroidCodeMax(this.rowDims);
    this.scale = largest === 0 ? 1 : 2 ** Math.floor(Math.log2(codeMax / largest));
    this.queryCodeMax = 4 * codeMax;
    this.normsByte = this.count * this.rowDims * 2;
    this.queriesByte = Math.ceil((this.normsByte + this.count * 4) / 16) * 16;
    this.simd = !options.forceJs && wasmSimdSupported();
    if (this.simd) {
      const { memory, exports } = instantiateKernel(`centroid-rank ${this.rowDims}`, () => centroidRankModuleBytes(this.rowDims));
      this.memory = memory;
      for (const width of CENTROID_RANK_WIDTHS) this.kernels[width] = exports[`rank_${width}`] as RankFunction;
    } else {
      this.memory = copyingMemory();
      for (const width of CENTROID_RANK_WIDTHS) this.kernels[width] = (c, n, norms, queries, out, stride) => this.jsRank(width, c, n, queries, out, stride);
    }
    this.layout(1, 1);
    const { rowDims, codes, norms } = this;
    for (let c = 0; c < this.count; c++) {
      let norm = 0;
      for (let d = 0; d < dims; d++) {
        const code = Math.round(centroids[c * dims + d] * this.scale);
        codes[c * rowDims + d] = code;
        norm += code * code;
      }
      norms[c] = norm;
    }
  }

  /** Bytes of memory held. */
  get bytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Codes `count` queries (queries[0..count * dims)) for the next `rank` calls; each component clamped to the codes' range. */
  stage(queries: Float32Array, count: number): void {
    const { dims, rowDims, scale } = this;
    const max = this.queryCodeMax;
    this.layout(count, this.keyCapacity);
    const target = this.queries;
    for (let q = 0; q < count; q++) {
      for (let d = 0; d < dims; d++) {
        const x = queries[q * dims + d] * scale;
        // Nearest code, ties up (Math.round is not inlined here); NaN codes as 0.
        target[q * rowDims + d] = x >= max ? max : x <= -max ? -max : ((x + 32768.5) | 0) - 32768;
      }
    }
  }

  /**
   * Keys of every centroid for the staged queries [first, first + n), n at most the
   * staged count: query first + i's at keys[i * count + c] (`keys` may be a new view).
   * Lower key, nearer centroid.
   */
  rank(first: number, n: number): void {
    const { count, rowDims } = this;
    this.layout(this.queryCapacity, n);
    let q = 0;
    for (const width of CENTROID_RANK_WIDTHS) {
      for (; n - q >= width; q += width) {
        this.kernels[width](0, count, this.normsByte, this.queriesByte + (first + q) * rowDims * 2, this.keysByte + q * count * 4, count * 4);
      }
    }
  }

  /** Room for `queries` staged queries and `keyRows` queries' keys; views taken again when memory grows or moves the keys. */
  private layout(queries: number, keyRows: number): void {
    if (queries <= this.queryCapacity && keyRows <= this.keyCapacity) return;
    const queryCapacity = Math.max(queries, this.queryCapacity);
    const keyCapacity = Math.max(keyRows, this.keyCapacity);
    const keysByte = this.queriesByte + Math.ceil((queryCapacity * this.rowDims * 2) / 16) * 16;
    growMemoryTo(this.memory, keysByte + keyCapacity * this.count * 4);
    const buffer = this.memory.buffer;
    this.queryCapacity = queryCapacity;
    this.keyCapacity = keyCapacity;
    this.keysByte = keysByte;
    this.codes = new Int16Array(buffer, 0, this.count * this.rowDims);
    this.norms = new Float32Array(buffer, this.normsByte, this.count);
    this.queries = new Int16Array(buffer, this.queriesByte, queryCapacity * this.rowDims);
    this.keys = new Float32Array(buffer, keysByte, keyCapacity * this.count);
  }

  /** The kernel's contract in JS: exact integer dot products, the same float32 roundings. */
  private jsRank(width: number, centroidsByte: number, n: number, queriesByte: number, outByte: number, strideBytes: number): void {
    const { rowDims, codes, norms } = this;
    const heap = new Float32Array(this.memory.buffer);
    const all = new Int16Array(this.memory.buffer);
    const first = centroidsByte / (rowDims * 2);
    for (let q = 0; q < width; q++) {
      const query = queriesByte / 2 + q * rowDims;
      const out = (outByte + q * strideBytes) / 4;
      for (let c = 0; c < n; c++) {
        const base = (first + c) * rowDims;
        let dot = 0;
        for (let d = 0; d < rowDims; d++) dot += codes[base + d] * all[query + d];
        const rounded = Math.fround(dot);
        heap[out + c] = Math.fround(norms[first + c] - (rounded + rounded));
      }
    }
  }
}
