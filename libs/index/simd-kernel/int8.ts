/**
 * Int8 codes of rows in WebAssembly memory, and the pre-filter kernel over them
 * (`int8ScanModuleBytes` in wasm.ts): one i8 code per dimension (padded with zeros to a
 * multiple of 16), one float32 per row (the owner's residual bound) and one int32 per
 * row (the sum of its squared codes: `setNorm`), laid out as
 *
 *   [ query codes (int16) | candidate rows (int32, SCAN_BLOCK_ROWS) | their bounds (float32, SCAN_BLOCK_ROWS) | codes | residuals | norms ]
 *
 * The owner decides what the codes mean (libs/index/face-index/int8-filter.ts); this class only
 * stores them and runs the kernel. Views (`codes`, `residuals`, `query`, `out`) are
 * rebuilt after `ensureRowCapacity`; take them again after it.
 */
import { wasmSimdSupported } from './simd-support.js';
import { growMemoryTo, instantiateKernel, type WasmMemory } from './instance.js';
import { grownCapacity } from './grown-capacity.js';
import { AsideRows, type RowColumn } from '../row-columns/index.js';
import { int8ScanModuleBytes, projectModuleBytes } from './wasm.js';

/** Most rows one `scan` call handles (the size of the candidate output area). */
export const SCAN_BLOCK_ROWS = 1024;

type ScanFunction = (
  codes: number,
  residuals: number,
  norms: number,
  rows: number,
  query: number,
  queryNorm: number,
  out: number,
  first: number,
  scale: number,
  limit: number,
) => number;

/** Whether int8 code arenas can run here (WebAssembly SIMD). */
export function int8ScanSupported(): boolean {
  return wasmSimdSupported();
}

export class Int8CodeArena implements RowColumn {
  /** Codes per row: the vector length rounded up to a multiple of 16. */
  readonly codeDims: number;
  private readonly memory: WasmMemory;
  private readonly scanFunction: ScanFunction;
  private capacity: number;
  private readonly queryByte = 0;
  private readonly outByte: number;
  private readonly codesByte: number;
  /** Codes of every row, capacity x codeDims. */
  codes!: Int8Array;
  /** One float32 per row. */
  residuals!: Float32Array;
  /** Per row the sum of its squared codes (the kernel relies on it: keep it in step with `codes`). */
  norms!: Int32Array;
  /** The query's codes (codeDims int16), read by `scan`. */
  query!: Int16Array;
  /** Candidate row numbers written by `scan`. */
  out!: Int32Array;
  /** out[i]'s bound, f32(sqrt(D) * scale) - residual (by `scan`). */
  values!: Float32Array;
  private readonly asideCodes = new AsideRows<Int8Array>();
  private readonly asideResiduals = new AsideRows<Float32Array>();
  private readonly asideNorms = new AsideRows<Int32Array>();

  constructor(dims: number, initialRows = 64) {
    if (!int8ScanSupported()) throw new Error('Int8CodeArena needs WebAssembly SIMD');
    if (!Number.isInteger(dims) || dims < 1) throw new RangeError(`dims must be a positive integer, got ${dims}`);
    this.codeDims = Math.ceil(dims / 16) * 16;
    const { memory, exports } = instantiateKernel(`int8 ${this.codeDims}`, () => int8ScanModuleBytes(this.codeDims, SCAN_BLOCK_ROWS * 4));
    this.memory = memory;
    this.scanFunction = exports.scan_i8 as ScanFunction;
    this.outByte = Math.ceil((this.codeDims * 2) / 16) * 16;
    this.codesByte = this.outByte + SCAN_BLOCK_ROWS * 8;
    this.capacity = 0;
    this.resize(Math.max(1, initialRows));
  }

  get rowCapacity(): number {
    return this.capacity;
  }

  /** Bytes of memory held. */
  get bytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Room for at least `rows` rows (doubling), keeping codes and residuals. */
  ensureRowCapacity(rows: number): void {
    if (rows <= this.capacity) return;
    this.resize(grownCapacity(this.capacity, rows));
  }

  /**
   * Runs the kernel over rows [firstRow, firstRow + count) (count <= SCAN_BLOCK_ROWS)
   * against `query` (whose sum of squares is `queryNorm`): writes to out[0..n) the rows
   * with f32(sqrt(D) * scale) - residual <= limit, D the squared distance of the codes,
   * and their bounds to values[0..n); returns n.
   */
  scan(firstRow: number, count: number, queryNorm: number, scale: number, limit: number): number {
    return this.scanFunction(
      this.codesByte + firstRow * this.codeDims,
      this.residualsByte + firstRow * 4,
      this.normsByte + firstRow * 4,
      count,
      this.queryByte,
      queryNorm,
      this.outByte,
      firstRow,
      scale,
      limit,
    );
  }

  /** Sets row's norm from its codes. */
  setNorm(row: number): void {
    const cd = this.codeDims;
    const codes = this.codes;
    let norm = 0;
    for (let i = row * cd, end = i + cd; i < end; i++) norm += codes[i] * codes[i];
    this.norms[row] = norm;
  }

  /** Moves rows like `copyWithin` (codes, residuals and norms). */
  copyRows(to: number, from: number, end: number): void {
    const cd = this.codeDims;
    this.codes.copyWithin(to * cd, from * cd, end * cd);
    this.residuals.copyWithin(to, from, end);
    this.norms.copyWithin(to, from, end);
  }

  takeRows(rows: Int32Array, count: number): void {
    this.asideCodes.take(this.codes, this.codeDims, rows, count);
    this.asideResiduals.take(this.residuals, 1, rows, count);
    this.asideNorms.take(this.norms, 1, rows, count);
  }

  putRows(slot: number, row: number, count: number): void {
    this.asideCodes.put(this.codes, this.codeDims, slot, row, count);
    this.asideResiduals.put(this.residuals, 1, slot, row, count);
    this.asideNorms.put(this.norms, 1, slot, row, count);
  }

  releaseTaken(): void {
    this.asideCodes.release();
    this.asideResiduals.release();
    this.asideNorms.release();
  }

  /** Moves row order[pos] to pos for every pos < rowCount (word copies through a copy of the codes). */
  permuteRows(order: Int32Array, rowCount: number): void {
    const words = this.codeDims >> 2;
    const codes = new Int32Array(this.memory.buffer, this.codesByte, rowCount * words);
    const source = codes.slice();
    const residuals = this.residuals.slice(0, rowCount);
    const norms = this.norms.slice(0, rowCount);
    // Read in source order (sequential), write scattered: measured ~1.4x faster than the reverse.
    const target = new Int32Array(rowCount);
    for (let pos = 0; pos < rowCount; pos++) target[order[pos]] = pos;
    for (let row = 0; row < rowCount; row++) {
      const pos = target[row];
      for (let w = 0, to = pos * words, from = row * words; w < words; w++) codes[to + w] = source[from + w];
      this.residuals[pos] = residuals[row];
      this.norms[pos] = norms[row];
    }
  }

  private get residualsByte(): number {
    return this.codesByte + this.capacity * this.codeDims;
  }

  private get normsByte(): number {
    return this.residualsByte + this.capacity * 4;
  }

  private resize(capacity: number): void {
    const oldResiduals = this.residualsByte;
    const oldNorms = this.normsByte;
    const oldCapacity = this.capacity;
    const oldBytes = this.memory.buffer.byteLength;
    growMemoryTo(this.memory, this.codesByte + capacity * (this.codeDims + 8));
    this.capacity = capacity;
    const buffer = this.memory.buffer;
    if (oldCapacity > 0) {
      // Norms first: they move farthest, over where the residuals go.
      new Uint8Array(buffer).copyWithin(this.normsByte, oldNorms, oldNorms + oldCapacity * 4);
      new Uint8Array(buffer).copyWithin(this.residualsByte, oldResiduals, oldResiduals + oldCapacity * 4);
    }
    this.codes = new Int8Array(buffer, this.codesByte, capacity * this.codeDims);
    // Fresh rows read as zero codes: only the bytes the old memory held need zeroing (old
    // residuals and norms); grown pages are zero already, and left untouched they stay
    // off the resident set until rows are written.
    this.codes.fill(0, oldCapacity * this.codeDims, Math.max(oldCapacity * this.codeDims, Math.min(capacity * this.codeDims, oldBytes - this.codesByte)));
    this.residuals = new Float32Array(buffer, this.residualsByte, capacity);
    this.norms = new Int32Array(buffer, this.normsByte, capacity);
    this.norms.fill(0, oldCapacity, Math.max(oldCapacity, Math.min(capacity, (oldBytes - this.normsByte) >> 2)));
    this.query = new Int16Array(buffer, this.queryByte, this.codeDims);
    this.out = new Int32Array(buffer, this.outByte, SCAN_BLOCK_ROWS);
    this.values = new Float32Array(buffer, this.outByte + SCAN_BLOCK_ROWS * 4, SCAN_BLOCK_ROWS);
  }
}

type ProjectFunction = (basis: number, y: number, z: number) => void;

/**
 * z = basis * y in float32 (WebAssembly SIMD): `basis` outDims x inDims, set once. Each
 * z[i] is within ~4e-6 ||y|| of the exact product of the float64 inputs (rounding of
 * basis and y to float32, then at most ~36 rounded additions a lane path).
 */
export class Projector {
  readonly inDims: number;
  readonly outDims: number;
  private readonly run: ProjectFunction;
  /** Write the vector to project here. */
  readonly y: Float32Array;
  /** `project` writes here. */
  readonly z: Float32Array;
  private readonly basis: Float32Array;
  private readonly yByte: number;
  private readonly zByte: number;

  constructor(inDims: number, outDims: number) {
    if (!int8ScanSupported()) throw new Error('Projector needs WebAssembly SIMD');
    this.inDims = inDims;
    this.outDims = outDims;
    const { memory, exports } = instantiateKernel(`project ${inDims} ${outDims}`, () => projectModuleBytes(inDims, outDims));
    this.run = exports.project as ProjectFunction;
    const basisBytes = inDims * outDims * 4;
    this.yByte = basisBytes;
    this.zByte = basisBytes + inDims * 4;
    growMemoryTo(memory, this.zByte + outDims * 4);
    this.basis = new Float32Array(memory.buffer, 0, inDims * outDims);
    this.y = new Float32Array(memory.buffer, this.yByte, inDims);
    this.z = new Float32Array(memory.buffer, this.zByte, outDims);
  }

  setBasis(basis: Float64Array): void {
    this.basis.set(basis);
  }

  project(): Float32Array {
    this.run(0, this.yByte, this.zByte);
    return this.z;
  }
}
