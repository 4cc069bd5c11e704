/**
 * The int16-row distance kernel (see int16.ts) as raw module bytes. Exports `memory` and
 *
 *   gather_i16(rows, list, n, query, out, limit) -> count
 *
 * For each of the n int32 row numbers at byte `list`, the row's `rowDims` int16 codes at
 * byte rows + row * rowDims * 2 are compared with the query's int16 codes at byte
 * `query`: D = sum((c - q)^2), each difference saturated to int16, each pair of squares
 * summed exactly in int32 (i32x4.dot_i16x8_s) and the pairs added in float32. Rows with
 * D <= limit go, in list order, to int32 out[0..count) and their D to the float32s
 * `distancesOffset` bytes after each. `out` may be `list` (a row is written only after
 * it was read). A saturated difference only makes D smaller: a pre-selection stays a
 * superset. ~5 instructions per 8 codes; widening to float32 first took ~13. A pass
 * before the distances loads one int32 per cache line of every listed row and writes
 * their OR to the 4 bytes at list + 2 * distancesOffset (a sink the caller reserves).
 */
import { Code, F32, I32, OP, SIMD, V128, kernelModule, uleb } from './assembler.js';

export function int16GatherModuleBytes(rowDims: number, distancesOffset: number): Uint8Array {
  if (!Number.isInteger(rowDims) || rowDims < 8 || rowDims % 8 !== 0) throw new RangeError(`rowDims must be a positive multiple of 8, got ${rowDims}`);
  if (!Number.isInteger(distancesOffset) || distancesOffset < 0 || distancesOffset % 4 !== 0)
    throw new RangeError(`distancesOffset must be a non-negative multiple of 4, got ${distancesOffset}`);
  // Params.
  const ROWS = 0;
  const LIST = 1;
  const N = 2;
  const QUERY = 3;
  const OUT = 4;
  const LIMIT = 5;
  // Locals: i32, then v128, then f32.
  const OUT_START = 6;
  const BASE = 7;
  const ROW = 8;
  const TOUCH = 9;
  const TOUCHING = 10;
  const AT = 11;
  const DIFF = 12;
  const ACC_EVEN = 13;
  const ACC_ODD = 14;
  const D = 15;
  const SUM = 16;
  const c = new Code();
  const rowBytes = rowDims * 2;
  // Touch pass: one load per cache line of every listed row, none depending on another,
  // so their cache misses overlap; the rows of a shortlist are scattered over the
  // shard's memory, and the loop below would otherwise wait for them one row at a time.
  c.get(LIST).set(AT);
  c.get(N).set(TOUCHING);
  c.op(OP.block, 0x40, OP.loop, 0x40);
  c.get(TOUCHING).op(OP.i32Eqz, OP.brIf, 1);
  c.get(ROWS).get(AT).op(OP.i32Load, 2, 0).i32(rowBytes).op(OP.i32Mul, OP.i32Add).set(BASE);
  for (let line = 0; line < rowBytes; line += 64)
    c.get(TOUCH)
      .get(BASE)
      .op(OP.i32Load, 2, ...uleb(line), OP.i32Or)
      .set(TOUCH);
  if (rowBytes % 64 !== 0)
    c.get(TOUCH)
      .get(BASE)
      .op(OP.i32Load, 2, ...uleb(rowBytes - 4), OP.i32Or)
      .set(TOUCH);
  c.get(AT).i32(4).op(OP.i32Add).set(AT);
  c.get(TOUCHING).i32(1).op(OP.i32Sub).set(TOUCHING);
  c.op(OP.br, 0, OP.end, OP.end);
  // Kept in memory (the sink after the distances) so no compiler can drop the loads.
  c.get(LIST)
    .get(TOUCH)
    .op(OP.i32Store, 2, ...uleb(2 * distancesOffset));
  c.get(OUT).set(OUT_START);
  c.op(OP.block, 0x40, OP.loop, 0x40);
  c.get(N).op(OP.i32Eqz, OP.brIf, 1);
  c.get(LIST).op(OP.i32Load, 2, 0).set(ROW);
  c.get(ROWS)
    .get(ROW)
    .i32(rowDims * 2)
    .op(OP.i32Mul, OP.i32Add)
    .set(BASE);
  c.zero().set(ACC_EVEN);
  c.zero().set(ACC_ODD);
  for (let j = 0; j < rowDims / 8; j++) {
    const acc = j % 2 === 0 ? ACC_EVEN : ACC_ODD;
    c.get(BASE)
      .load(j * 16)
      .get(QUERY)
      .load(j * 16)
      .simd(SIMD.i16x8SubSatS)
      .tee(DIFF);
    c.get(DIFF).simd(SIMD.i32x4DotI16x8S).simd(SIMD.f32x4ConvertI32x4S).get(acc).simd(SIMD.f32x4Add).set(acc);
  }
  c.get(ACC_EVEN).get(ACC_ODD).simd(SIMD.f32x4Add).tee(D);
  c.simd(SIMD.f32x4ExtractLane, 0).get(D).simd(SIMD.f32x4ExtractLane, 1).op(OP.f32Add);
  c.get(D).simd(SIMD.f32x4ExtractLane, 2).get(D).simd(SIMD.f32x4ExtractLane, 3).op(OP.f32Add, OP.f32Add).set(SUM);
  // Row and distance written always; `out` advances only past rows within the limit.
  c.get(OUT).get(ROW).op(OP.i32Store, 2, 0);
  c.get(OUT)
    .get(SUM)
    .op(OP.f32Store, 2, ...uleb(distancesOffset));
  c.get(OUT).get(SUM).get(LIMIT).op(OP.f32Le).i32(2).op(OP.i32Shl, OP.i32Add).set(OUT);
  c.get(LIST).i32(4).op(OP.i32Add).set(LIST);
  c.get(N).i32(1).op(OP.i32Sub).set(N);
  c.op(OP.br, 0, OP.end, OP.end);
  c.int32sBetween(OUT_START, OUT);
  const body = c.functionBody([
    [6, I32],
    [4, V128],
    [1, F32],
  ]);
  return kernelModule([I32, I32, I32, I32, I32, F32], [I32], [{ name: 'gather_i16', body }]);
}
