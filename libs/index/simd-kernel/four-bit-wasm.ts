/**
 * The 4-bit "fast scan" kernel (see four-bit.ts) as raw module bytes. Exports `memory` and
 *
 *   scan_u4(codes, blocks, lut, limit, out, first, lo, hi) -> count
 *
 * Rows come in blocks of 16; a block is `pairs` vectors of 16 bytes, vector j holding
 * the 16 rows' codes of axis 2j (low nibble) and 2j + 1 (high nibble). The lookup table
 * at byte `lut` is 16 uint8 per axis (axis 2j, then 2j + 1, for each pair), each at
 * most 127 so a pair's two lookups add up without overflow. For each of `blocks` blocks
 * at byte `codes` (row numbers first, first + 1, ... in lane order), the row's value is
 * the sum of its axes' table entries, saturating at FOUR_BIT_MAX_SUM (uint8 lanes); rows
 * with value <= limit (0..255) and lo <= row < hi go to int32 out[0..count), their
 * values to int32s `valuesOffset` bytes after each, in row order. The 16 bytes after the
 * table are scratch.
 *
 * A table lookup is one i8x16.swizzle for 16 rows, where the int8 kernels spend a
 * multiply-add per code, and a pair's sum goes into the row's byte with one saturating
 * add (~10 instructions a pair for 16 rows). Saturating costs nothing where it is used:
 * approximate search keeps the rows with the smallest values, and the shortlist's
 * final cut-off on the benchmark faces (10th percentile to max of 1,000 queries, effort
 * 1) is 59-142 in an index of 1,000,000 rows, 68-166 at 250,000 and 90-212 at 25,000;
 * rows past 255 are far from the query either way. Measured against the kernel with
 * uint16 lanes (exact sums, ~13 instructions a pair): 1.5 -> 1.35 ns a row (250,000
 * rows, 32 axes), the same recall.
 */
import { Code, I32, OP, SIMD, V128, kernelModule, uleb } from './assembler.js';

/** Largest table entry: two entries add up in a uint8 lane. */
export const FOUR_BIT_MAX_ENTRY = 127;
/** Largest value a row's sum takes (sums saturate here). */
export const FOUR_BIT_MAX_SUM = 255;

export function fourBitScanModuleBytes(pairs: number, valuesOffset: number): Uint8Array {
  if (!Number.isInteger(pairs) || pairs < 1 || pairs > 64) throw new RangeError(`pairs must be an integer in [1, 64], got ${pairs}`);
  if (!Number.isInteger(valuesOffset) || valuesOffset < 0 || valuesOffset % 4 !== 0)
    throw new RangeError(`valuesOffset must be a non-negative multiple of 4, got ${valuesOffset}`);
  // Params.
  const CODES = 0;
  const BLOCKS = 1;
  const LUT = 2;
  const LIMIT = 3;
  const OUT = 4;
  const FIRST = 5;
  const LO = 6;
  const HI = 7;
  // Locals: i32, then v128.
  const OUT_START = 8;
  const BITS = 9;
  const BIT = 10;
  const ROW = 11;
  const SCRATCH = 12;
  const SPAN = 13;
  const V = 14;
  const SUMS = 15;
  const NIBBLE = 16;
  const LIMITS = 17;
  const c = new Code();
  c.get(OUT).set(OUT_START);
  c.simd(SIMD.const, ...new Array<number>(16).fill(0x0f)).set(NIBBLE);
  c.get(LIMIT).simd(SIMD.i8x16Splat).set(LIMITS);
  c.get(LUT)
    .i32(pairs * 32)
    .op(OP.i32Add)
    .set(SCRATCH);
  c.get(HI).get(LO).op(OP.i32Sub).set(SPAN);
  c.op(OP.block, 0x40, OP.loop, 0x40);
  c.get(BLOCKS).op(OP.i32Eqz, OP.brIf, 1);
  c.zero().set(SUMS);
  for (let j = 0; j < pairs; j++) {
    c.get(CODES)
      .load(j * 16)
      .set(V);
    c.get(LUT)
      .load(j * 32)
      .get(V)
      .get(NIBBLE)
      .simd(SIMD.v128And)
      .simd(SIMD.swizzle);
    c.get(LUT)
      .load(j * 32 + 16)
      .get(V)
      .i32(4)
      .simd(SIMD.i16x8ShrU)
      .get(NIBBLE)
      .simd(SIMD.v128And)
      .simd(SIMD.swizzle);
    c.simd(SIMD.i8x16Add).get(SUMS).simd(SIMD.i8x16AddSatU).set(SUMS);
  }
  c.get(SUMS).get(LIMITS).simd(SIMD.i8x16LeU).simd(SIMD.i8x16Bitmask).tee(BITS);
  c.op(OP.if, 0x40);
  c.get(SCRATCH).get(SUMS).simd(SIMD.store, 4, 0);
  c.op(OP.block, 0x40, OP.loop, 0x40);
  c.get(BITS).op(OP.i32Eqz, OP.brIf, 1);
  // Bit b is lane b: row first + b, its value the scratch's byte b.
  c.get(BITS).op(OP.i32Ctz).set(BIT);
  c.get(FIRST).get(BIT).op(OP.i32Add).set(ROW);
  c.get(OUT).get(ROW).op(OP.i32Store, 2, 0);
  c.get(OUT).get(SCRATCH).get(BIT).op(OP.i32Add).op(OP.i32Load8U, 0, 0);
  c.op(OP.i32Store, 2, ...uleb(valuesOffset));
  // Written always; kept (out advances) only inside [lo, hi).
  c.get(OUT).get(ROW).get(LO).op(OP.i32Sub).get(SPAN).op(OP.i32LtU).i32(2).op(OP.i32Shl, OP.i32Add).set(OUT);
  c.get(BITS).get(BITS).i32(1).op(OP.i32Sub, OP.i32And).set(BITS);
  c.op(OP.br, 0, OP.end, OP.end);
  c.op(OP.end);
  c.get(FIRST).i32(16).op(OP.i32Add).set(FIRST);
  c.get(CODES)
    .i32(pairs * 16)
    .op(OP.i32Add)
    .set(CODES);
  c.get(BLOCKS).i32(1).op(OP.i32Sub).set(BLOCKS);
  c.op(OP.br, 0, OP.end, OP.end);
  c.int32sBetween(OUT_START, OUT);
  const body = c.functionBody([
    [6, I32],
    [4, V128],
  ]);
  return kernelModule([I32, I32, I32, I32, I32, I32, I32, I32], [I32], [{ name: 'scan_u4', body }]);
}
