/**
 * Float32 squared-distance kernels over memory they own: WebAssembly SIMD (f32x4) where
 * the runtime supports it, the same contract in plain JS otherwise.
 *
 * A `VectorArena` is one kernel instance with its own linear memory, laid out as
 *
 *   [ scratch (queries, outputs) | rows (capacity x dims float32) ]
 *
 * Callers keep a Float32Array view of the rows (`arena.rows`) and must take it again
 * after anything that can move or grow memory (`ensureRowCapacity`, `scratch`), since
 * `memory.grow` detaches the old views.
 *
 * The kernels' sums are float32 in a different order from the scalar float64 kernel
 * (libs/index/exact-distance): use them to pre-select candidates, never as the
 * answer. A float32 sum of n non-negative terms, each one subtraction and one
 * multiplication away from exact, is within (n' + 3) * 2^-24 relative of the true
 * value, where n' (<= 40 here for 128 dims) is the depth of the addition tree; the
 * margin below is ~8x that.
 */
import { grownCapacity } from './grown-capacity.js';
import { copyingMemory, growMemoryTo, instantiateKernel, type WasmMemory } from './instance.js';
import { wasmSimdSupported } from './simd-support.js';
import { KERNEL_WIDTHS, kernelModuleBytes, type KernelWidth } from './wasm.js';

// The library's public entry: the float32 arena below, and the other kernels.
export { wasmSimdSupported } from './simd-support.js';
export { grownCapacity } from './grown-capacity.js';
export { KERNEL_WIDTHS, type KernelWidth } from './wasm.js';
export { CentroidRanker } from './centroid-ranker.js';
export { FOUR_BIT_MAX_ENTRY, FourBitCodeArena } from './four-bit.js';
export { INT16_GATHER_ROWS, INT16_ROW_MAX, INT16_ROW_SCALE, Int16RowArena, int16RowCode } from './int16.js';
export { Int8CodeArena, Projector, SCAN_BLOCK_ROWS, int8ScanSupported } from './int8.js';

/**
 * A kernel distance d~ of a row whose exact (float64) squared distance is <= D satisfies
 * d~ <= D * (1 + SIMD_RELATIVE_ERROR) + SIMD_ABSOLUTE_ERROR (the absolute term covers
 * float32 underflow of tiny squares). Overflow to Infinity must be treated as a candidate.
 */
export const SIMD_RELATIVE_ERROR = 1e-5;
export const SIMD_ABSOLUTE_ERROR = 1e-30;

type KernelFunction = (data: number, rows: number, queries: number, out: number) => void;

export interface VectorArenaOptions {
  /** Force the plain JS kernel (tests, and runtimes without WebAssembly SIMD). */
  forceJs?: boolean;
  /** Initial row capacity (default 64). */
  initialRows?: number;
}

export class VectorArena {
  readonly dims: number;
  /** True when the WebAssembly SIMD kernel runs, false for the JS fallback. */
  readonly simd: boolean;
  /** WebAssembly memory, or (JS fallback) a stand-in that grows by copying. */
  private readonly memory: WasmMemory;
  private readonly kernels: KernelFunction[] = [];
  private scratchBytes = 0;
  private capacity = 0;
  /** Rows region as floats; rebuilt after every grow or move. */
  rows!: Float32Array;
  /** Whole memory as floats (for reading kernel outputs and writing queries). */
  heap!: Float32Array;

  constructor(dims: number, options: VectorArenaOptions = {}) {
    if (!Number.isInteger(dims) || dims < 1) throw new RangeError(`dims must be a positive integer, got ${dims}`);
    this.dims = dims;
    this.simd = !options.forceJs && dims % 4 === 0 && wasmSimdSupported();
    const initialRows = Math.max(1, options.initialRows ?? 64);
    this.scratchBytes = 64 * 1024;
    this.capacity = initialRows;
    if (this.simd) {
      const { memory, exports } = instantiateKernel(`l2 ${dims}`, () => kernelModuleBytes(dims));
      this.memory = memory;
      for (const width of KERNEL_WIDTHS) this.kernels[width] = exports[`l2_${width}`] as KernelFunction;
    } else {
      this.memory = copyingMemory();
      for (const width of KERNEL_WIDTHS) this.kernels[width] = this.jsKernel(width);
    }
    growMemoryTo(this.memory, this.scratchBytes + initialRows * dims * 4);
    this.refreshViews();
  }

  /** Rows the rows region holds without growing. */
  get rowCapacity(): number {
    return this.capacity;
  }

  /** Byte offset of row 0 in the memory. */
  get rowsByteOffset(): number {
    return this.scratchBytes;
  }

  /** Bytes of memory held. */
  get bytes(): number {
    return this.memory.buffer.byteLength;
  }

  /**
   * Grows the rows region to hold at least `rows` rows (doubling), keeping its
   * contents. Views taken earlier are stale afterwards.
   */
  ensureRowCapacity(rows: number): void {
    if (rows <= this.capacity) return;
    const capacity = grownCapacity(this.capacity, rows);
    growMemoryTo(this.memory, this.scratchBytes + capacity * this.dims * 4);
    this.capacity = capacity;
    this.refreshViews();
  }

  /**
   * Byte offset (0) of a scratch area of at least `bytes` bytes, for queries and kernel
   * outputs; its contents do not survive the next call. May move the rows region.
   */
  scratch(bytes: number): number {
    if (bytes > this.scratchBytes) {
      const scratchBytes = Math.ceil(Math.max(bytes, this.scratchBytes * 2) / 16) * 16;
      const rowBytes = this.capacity * this.dims * 4;
      growMemoryTo(this.memory, scratchBytes + rowBytes);
      new Uint8Array(this.memory.buffer).copyWithin(scratchBytes, this.scratchBytes, this.scratchBytes + rowBytes);
      this.scratchBytes = scratchBytes;
      this.refreshViews();
    }
    return 0;
  }

  /**
   * Squared float32 distances of `rowCount` rows starting at row `firstRow` to `width`
   * queries stored back to back at byte offset `queriesByte`: out float index
   * `outByte / 4 + r * width + q`.
   */
  distances(width: KernelWidth, firstRow: number, rowCount: number, queriesByte: number, outByte: number): void {
    this.kernels[width](this.scratchBytes + firstRow * this.dims * 4, rowCount, queriesByte, outByte);
  }

  private refreshViews(): void {
    const buffer = this.memory.buffer;
    this.heap = new Float32Array(buffer);
    this.rows = new Float32Array(buffer, this.scratchBytes, this.capacity * this.dims);
  }

  /** The JS fallback: float64 sums in dimension order, stored as float32. */
  private jsKernel(width: number): KernelFunction {
    const dims = this.dims;
    return (data, rows, queries, out) => {
      const heap = this.heap;
      let v = data >> 2;
      let o = out >> 2;
      const q0 = queries >> 2;
      for (let r = 0; r < rows; r++, v += dims) {
        for (let q = 0; q < width; q++) {
          let sum = 0;
          const qo = q0 + q * dims;
          for (let d = 0; d < dims; d++) {
            const diff = heap[v + d] - heap[qo + d];
            sum += diff * diff;
          }
          heap[o++] = sum;
        }
      }
    };
  }
}
