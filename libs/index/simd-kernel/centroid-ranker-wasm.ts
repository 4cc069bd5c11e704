/**
 * The centroid-ranking kernel (see centroid-ranker.ts) as raw module bytes. Exports
 * `memory` and, for W in CENTROID_RANK_WIDTHS,
 *
 *   rank_<W>(centroids, count, norms, queries, out, strideBytes)
 *
 * For each of `count` centroids (rowDims int16 codes each, back to back at byte
 * `centroids`; their int32-exact squared norms as float32 at byte `norms`) and each of
 * W queries (rowDims int16 codes each, back to back at byte `queries`), writes the
 * float32 key f32(norm) - 2 * f32(dot) to byte out + q * strideBytes + 4 * centroid, the
 * dot product summed exactly in int32 (i32x4.dot_i16x8_s; the caller bounds the codes so
 * it cannot overflow). Each centroid's codes are read once for the W queries: 3 vector
 * instructions per 8 codes and query, where the float32 kernel takes 4 per 4.
 */
import { Code, F32, I32, OP, SIMD, V128, kernelModule } from './assembler.js';

/** Queries per kernel pass, widest first. */
export const CENTROID_RANK_WIDTHS = [8, 4, 1] as const;
export type CentroidRankWidth = (typeof CENTROID_RANK_WIDTHS)[number];

/** Accumulators per query, so the additions of one query overlap when it is alone. */
function accumulatorsFor(width: number): number {
  return width === 1 ? 4 : width === 4 ? 2 : 1;
}

function rankBody(rowDims: number, width: number): number[] {
  const A = accumulatorsFor(width);
  // Params.
  const CENTROIDS = 0;
  const COUNT = 1;
  const NORMS = 2;
  const QUERIES = 3;
  const OUT = 4;
  const STRIDE = 5;
  // Locals: i32, then v128, then f32.
  const SUM = 6;
  const CODES = 7;
  const acc = (q: number, a: number) => 8 + q * A + a;
  const NORM = 8 + width * A;
  const DOT = NORM + 1;
  const c = new Code();
  c.op(OP.block, 0x40, OP.loop, 0x40);
  c.get(COUNT).op(OP.i32Eqz, OP.brIf, 1);
  for (let q = 0; q < width; q++) for (let a = 0; a < A; a++) c.zero().set(acc(q, a));
  for (let j = 0; j < rowDims / 8; j++) {
    c.get(CENTROIDS)
      .load(j * 16)
      .set(CODES);
    for (let q = 0; q < width; q++) {
      const target = acc(q, j % A);
      c.get(target)
        .get(CODES)
        .get(QUERIES)
        .load(q * rowDims * 2 + j * 16)
        .simd(SIMD.i32x4DotI16x8S);
      c.simd(SIMD.i32x4Add).set(target);
    }
  }
  c.get(NORMS).op(OP.f32Load, 2, 0).set(NORM);
  for (let q = 0; q < width; q++) {
    for (let a = 1; a < A; a++) c.get(acc(q, 0)).get(acc(q, a)).simd(SIMD.i32x4Add).set(acc(q, 0));
    const total = acc(q, 0);
    c.get(total).simd(SIMD.i32x4ExtractLane, 0).get(total).simd(SIMD.i32x4ExtractLane, 1).op(OP.i32Add);
    c.get(total).simd(SIMD.i32x4ExtractLane, 2).get(total).simd(SIMD.i32x4ExtractLane, 3).op(OP.i32Add, OP.i32Add).set(SUM);
    // Address out + q * stride; value norm - (dot + dot), dot rounded to float32 once.
    c.get(OUT).get(STRIDE).i32(q).op(OP.i32Mul, OP.i32Add);
    c.get(NORM).get(SUM).op(OP.f32ConvertI32S).tee(DOT).get(DOT).op(OP.f32Add, OP.f32Sub);
    c.op(OP.f32Store, 2, 0);
  }
  c.get(CENTROIDS)
    .i32(rowDims * 2)
    .op(OP.i32Add)
    .set(CENTROIDS);
  c.get(NORMS).i32(4).op(OP.i32Add).set(NORMS);
  c.get(OUT).i32(4).op(OP.i32Add).set(OUT);
  c.get(COUNT).i32(1).op(OP.i32Sub).set(COUNT);
  c.op(OP.br, 0, OP.end, OP.end);
  return c.functionBody([
    [1, I32],
    [1 + width * A, V128],
    [2, F32],
  ]);
}

/** The module bytes for codes of `rowDims` int16 (a positive multiple of 8). */
export function centroidRankModuleBytes(rowDims: number): Uint8Array {
  if (!Number.isInteger(rowDims) || rowDims < 8 || rowDims % 8 !== 0) throw new RangeError(`rowDims must be a positive multiple of 8, got ${rowDims}`);
  return kernelModule(
    [I32, I32, I32, I32, I32, I32],
    [],
    CENTROID_RANK_WIDTHS.map((width) => ({ name: `rank_${width}`, body: rankBody(rowDims, width) })),
  );
}
