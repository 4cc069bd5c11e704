/**
 * 4-bit codes of rows in WebAssembly memory, in the "fast scan" layout, and the kernel
 * that sums a query's lookup table over them (`fourBitScanModuleBytes`). Each row has
 * one code (0..15) per axis; the owner decides what a code means and fills `lut` with,
 * per axis, the 16 values (0..FOUR_BIT_MAX_ENTRY) its codes stand for. Memory:
 *
 *   [ lookup table (16 B an axis) | scratch (32 B) | out rows (int32) | their values (int32) | code blocks ]
 *
 * Rows are stored 16 to a block, `axes / 2` bytes a row. Views (`lut`, `out`, `values`)
 * stay valid across `ensureRowCapacity` only until memory grows: take them again after it.
 */
import { wasmSimdSupported } from './simd-support.js';
import { FOUR_BIT_MAX_SUM, fourBitScanModuleBytes } from './four-bit-wasm.js';
import { growMemoryTo, instantiateKernel, type WasmMemory } from './instance.js';
import { grownCapacity } from './grown-capacity.js';
import type { RowColumn } from '../row-columns/index.js';

export { FOUR_BIT_MAX_ENTRY, FOUR_BIT_MAX_SUM } from './four-bit-wasm.js';

/** Most rows one `scan` call covers (the size of the output area). */
export const FOUR_BIT_SCAN_ROWS = 1024;

const BLOCK_ROWS = 16;

type ScanFunction = (codes: number, blocks: number, lut: number, limit: number, out: number, first: number, lo: number, hi: number) => number;

export class FourBitCodeArena implements RowColumn {
  /** Axes a row (even). */
  readonly axes: number;
  private readonly pairs: number;
  private readonly memory: WasmMemory;
  private readonly scanFunction: ScanFunction;
  private readonly outByte: number;
  private readonly valuesByte: number;
  private readonly codesByte: number;
  private capacity = 0;
  /** Per axis 16 entries (axis a at a * 16), each <= FOUR_BIT_MAX_ENTRY: set before `scan`. */
  lut!: Uint8Array;
  /** Rows found by `scan`. */
  out!: Int32Array;
  /** out[i]'s value (its table sum). */
  values!: Int32Array;
  private bytes8!: Uint8Array;
  /** Packed rows set aside by `takeRows`. */
  private aside = new Uint8Array(0);

  constructor(axes: number, initialRows = 64) {
    if (!wasmSimdSupported()) throw new Error('FourBitCodeArena needs WebAssembly SIMD');
    if (!Number.isInteger(axes) || axes < 2 || axes > 128 || axes % 2 !== 0) throw new RangeError(`axes must be an even integer in [2, 128], got ${axes}`);
    this.axes = axes;
    this.pairs = axes / 2;
    const lutBytes = axes * 16;
    this.outByte = lutBytes + 32;
    this.valuesByte = this.outByte + (FOUR_BIT_SCAN_ROWS + 1) * 4;
    this.codesByte = Math.ceil((this.valuesByte + (FOUR_BIT_SCAN_ROWS + 1) * 4) / 16) * 16;
    const { memory, exports } = instantiateKernel(`four-bit ${this.pairs}`, () => fourBitScanModuleBytes(this.pairs, this.valuesByte - this.outByte));
    this.memory = memory;
    this.scanFunction = exports.scan_u4 as ScanFunction;
    this.ensureRowCapacity(Math.max(1, initialRows));
  }

  get rowCapacity(): number {
    return this.capacity;
  }

  /** Bytes of memory held. */
  get bytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Room for at least `rows` rows (doubling); codes are kept. */
  ensureRowCapacity(rows: number): void {
    if (rows <= this.capacity && this.bytes8 !== undefined) return;
    const capacity = Math.ceil(grownCapacity(this.capacity, rows) / BLOCK_ROWS) * BLOCK_ROWS;
    // Grown pages are zero: fresh rows read as code 0 until written.
    growMemoryTo(this.memory, this.codesByte + capacity * this.pairs);
    this.capacity = capacity;
    const buffer = this.memory.buffer;
    this.bytes8 = new Uint8Array(buffer);
    this.lut = new Uint8Array(buffer, 0, this.axes * 16);
    this.out = new Int32Array(buffer, this.outByte, FOUR_BIT_SCAN_ROWS + 1);
    this.values = new Int32Array(buffer, this.valuesByte, FOUR_BIT_SCAN_ROWS + 1);
  }

  /** Row `row`'s codes from codes[from..from + axes) (each 0..15). */
  setRow(row: number, codes: ArrayLike<number>, from = 0): void {
    const bytes = this.bytes8;
    const base = this.blockByte(row);
    for (let pair = 0; pair < this.pairs; pair++) {
      const low = codes[from + 2 * pair];
      const high = codes[from + 2 * pair + 1];
      bytes[base + pair * BLOCK_ROWS] = (low & 15) | ((high & 15) << 4);
    }
  }

  /** Axis `axis`'s code of `row`. */
  code(row: number, axis: number): number {
    const byte = this.bytes8[this.blockByte(row) + (axis >> 1) * BLOCK_ROWS];
    return axis & 1 ? byte >> 4 : byte & 15;
  }

  /** Row `row`'s packed bytes (axes / 2) into target[at..]. */
  readPacked(row: number, target: Uint8Array, at: number): void {
    const bytes = this.bytes8;
    const base = this.blockByte(row);
    for (let pair = 0; pair < this.pairs; pair++) target[at + pair] = bytes[base + pair * BLOCK_ROWS];
  }

  /** Row `row`'s packed bytes from source[at..] (as `readPacked` wrote them). */
  writePacked(row: number, source: Uint8Array, at: number): void {
    const bytes = this.bytes8;
    const base = this.blockByte(row);
    for (let pair = 0; pair < this.pairs; pair++) bytes[base + pair * BLOCK_ROWS] = source[at + pair];
  }

  /** Rows 0..rows-1's packed bytes from source (row r at r * axes / 2, as `readPacked` wrote them): a bulk load. */
  writePackedRows(source: Uint8Array, rows: number): void {
    const { bytes8: bytes, pairs } = this;
    for (let block = 0; block * BLOCK_ROWS < rows; block++) {
      const blockBase = this.codesByte + block * pairs * BLOCK_ROWS;
      const first = block * BLOCK_ROWS;
      const count = Math.min(BLOCK_ROWS, rows - first);
      // Pair by pair: the block stores each pair's bytes of its 16 rows together.
      for (let pair = 0; pair < pairs; pair++) {
        const to = blockBase + pair * BLOCK_ROWS;
        for (let r = 0; r < count; r++) bytes[to + r] = source[(first + r) * pairs + pair];
      }
    }
  }

  /**
   * The rows of [start, end) (end - start <= FOUR_BIT_SCAN_ROWS) whose table sum,
   * saturated at FOUR_BIT_MAX_SUM, is <= limit (a limit of FOUR_BIT_MAX_SUM or more
   * passes every row): row numbers to out[0..n), those sums to values[0..n), in row
   * order; returns n.
   */
  scan(start: number, end: number, limit: number): number {
    if (end <= start) return 0;
    const firstBlock = start >> 4;
    const blocks = ((end - 1) >> 4) - firstBlock + 1;
    const bound = limit >= FOUR_BIT_MAX_SUM ? FOUR_BIT_MAX_SUM : limit < 0 ? -1 : Math.floor(limit);
    if (bound < 0) return 0;
    return this.scanFunction(this.codesByte + firstBlock * this.pairs * BLOCK_ROWS, blocks, 0, bound, this.outByte, firstBlock * BLOCK_ROWS, start, end);
  }

  /** Moves rows like `copyWithin` (to, from, end). */
  copyRows(to: number, from: number, end: number): void {
    const packed = new Uint8Array(this.pairs);
    if (to < from) {
      for (let row = from; row < end; row++) this.copyRow(row, to + row - from, packed);
    } else if (to > from) {
      for (let row = end - 1; row >= from; row--) this.copyRow(row, to + row - from, packed);
    }
  }

  /** Moves row order[pos] to pos for every pos < rowCount. */
  permuteRows(order: Int32Array, rowCount: number): void {
    const pairs = this.pairs;
    const saved = new Uint8Array(rowCount * pairs);
    for (let row = 0; row < rowCount; row++) this.readPacked(row, saved, row * pairs);
    for (let pos = 0; pos < rowCount; pos++) this.writePacked(pos, saved, order[pos] * pairs);
  }

  takeRows(rows: Int32Array, count: number): void {
    this.aside = new Uint8Array(count * this.pairs);
    for (let i = 0; i < count; i++) this.readPacked(rows[i], this.aside, i * this.pairs);
  }

  putRows(slot: number, row: number, count: number): void {
    for (let i = 0; i < count; i++) this.writePacked(row + i, this.aside, (slot + i) * this.pairs);
  }

  releaseTaken(): void {
    this.aside = new Uint8Array(0);
  }

  private copyRow(from: number, to: number, packed: Uint8Array): void {
    this.readPacked(from, packed, 0);
    this.writePacked(to, packed, 0);
  }

  /** Byte of row's lane in its block's first vector. */
  private blockByte(row: number): number {
    return this.codesByte + (row >> 4) * this.pairs * BLOCK_ROWS + (row & 15);
  }
}
