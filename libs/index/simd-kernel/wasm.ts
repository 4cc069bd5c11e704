/**
 * Emits the WebAssembly (SIMD, f32x4) squared-distance kernels as raw module bytes
 * (through assembler.ts), one generator per kernel shape.
 *
 * Every kernel is generated for one vector length (`dims`, a multiple of 4) with the
 * row loop fully unrolled and every address an immediate offset. Exports:
 *
 *   memory                          the module's own memory (the caller grows it)
 *   l2_<N>(data, rows, queries, out)
 *       for N queries stored back to back at `queries` (dims floats each) and `rows`
 *       rows stored back to back at `data`, writes the float32 squared distance of row r
 *       to query q at out[r * N + q]. Each row is read once for the N queries.
 *
 * Summation order: query q's per-lane partial sums go into A accumulators (chunk c of
 * 4 floats into accumulator c mod A), then the accumulators and finally the 4 lanes
 * are added. That is a different order (and precision) from the scalar float64 kernel,
 * so callers use these sums only to pre-select candidates with a safety margin (see
 * SIMD_RELATIVE_ERROR in index.ts).
 */

import { Code, F32, I32, OP, SIMD, V128, WASM_HEADER, kernelModule, section, uleb, vec } from './assembler.js';

/** Accumulators per query so the additions of one query overlap (x64 has 16 vector registers). */
function accumulatorsFor(queries: number): number {
  return queries === 1 ? 4 : queries <= 4 ? 2 : 1;
}

/**
 * Body of l2_<N>. Params: 0 data, 1 rows, 2 queries, 3 out. Locals: 4 row vector,
 * 5 difference, then N * A accumulators.
 */
function kernelBody(dims: number, queries: number): number[] {
  const A = accumulatorsFor(queries);
  const DATA = 0;
  const ROWS = 1;
  const QUERIES = 2;
  const OUT = 3;
  const ROW = 4;
  const DIFF = 5;
  const acc = (q: number, a: number) => 6 + q * A + a;
  const chunks = dims / 4;
  const c = new Code();

  c.op(OP.block, 0x40, OP.loop, 0x40);
  c.get(ROWS).op(OP.i32Eqz, OP.brIf, 1);
  for (let q = 0; q < queries; q++) for (let a = 0; a < A; a++) c.zero().set(acc(q, a));
  for (let chunk = 0; chunk < chunks; chunk++) {
    c.get(DATA)
      .load(chunk * 16)
      .set(ROW);
    for (let q = 0; q < queries; q++) {
      const target = acc(q, chunk % A);
      c.get(target);
      c.get(ROW)
        .get(QUERIES)
        .load(q * dims * 4 + chunk * 16)
        .simd(SIMD.f32x4Sub)
        .tee(DIFF)
        .get(DIFF)
        .simd(SIMD.f32x4Mul);
      c.simd(SIMD.f32x4Add).set(target);
    }
  }
  for (let q = 0; q < queries; q++) {
    for (let a = 1; a < A; a++) c.get(acc(q, 0)).get(acc(q, a)).simd(SIMD.f32x4Add).set(acc(q, 0));
    const sum = acc(q, 0);
    c.get(OUT);
    c.get(sum).simd(SIMD.f32x4ExtractLane, 0).get(sum).simd(SIMD.f32x4ExtractLane, 1).op(OP.f32Add);
    c.get(sum).simd(SIMD.f32x4ExtractLane, 2).get(sum).simd(SIMD.f32x4ExtractLane, 3).op(OP.f32Add);
    c.op(OP.f32Add);
    c.op(OP.f32Store, 2, ...uleb(q * 4));
  }
  c.get(OUT)
    .i32(queries * 4)
    .op(OP.i32Add)
    .set(OUT);
  c.get(DATA)
    .i32(dims * 4)
    .op(OP.i32Add)
    .set(DATA);
  c.get(ROWS).i32(1).op(OP.i32Sub).set(ROWS);
  c.op(OP.br, 0, OP.end, OP.end);
  return c.functionBody([
    [2, V128],
    [queries * A, V128],
  ]);
}

/** Query counts per pass with a kernel each. */
export const KERNEL_WIDTHS = [1, 4, 8] as const;
export type KernelWidth = (typeof KERNEL_WIDTHS)[number];

/** The module bytes for vectors of `dims` floats (a positive multiple of 4). */
export function kernelModuleBytes(dims: number): Uint8Array {
  if (!Number.isInteger(dims) || dims < 4 || dims % 4 !== 0) throw new RangeError(`SIMD kernels need dims to be a positive multiple of 4, got ${dims}`);
  return kernelModule(
    [I32, I32, I32, I32],
    [],
    KERNEL_WIDTHS.map((n) => ({ name: `l2_${n}`, body: kernelBody(dims, n) })),
  );
}

/** A one-instruction module (f32x4.splat) that validates only where WebAssembly SIMD works. */
export function simdProbeBytes(): Uint8Array {
  const types = section(1, vec([[0x60, ...vec([]), ...vec([])]]));
  const functions = section(3, vec([uleb(0)]));
  const body = [0x01, 0x01, V128, OP.simd, ...uleb(SIMD.const), ...new Array<number>(16).fill(0), OP.localSet, 0x00, OP.end];
  const code = section(10, vec([[...uleb(body.length), ...body]]));
  return Uint8Array.from([...WASM_HEADER, ...types, ...functions, ...code]);
}

/**
 * The int8 pre-filter kernel (see int8.ts), for rows of `codeDims` int8 codes (a
 * positive multiple of 16). Exports `memory` and
 *
 *   scan_i8(codes, residuals, norms, rows, query, queryNorm, out, first, scale, limit) -> count
 *       for each of `rows` rows (codes back to back at byte `codes`; one float32
 *       residual and one int32 norm = sum of code^2 each, at bytes `residuals` and
 *       `norms`): D = sum over d of (code[d] - query[d])^2 = norm + queryNorm -
 *       2 sum code[d] query[d], exact in int32 (`query`: codeDims int16 at byte `query`;
 *       queryNorm its sum of squares); the row is a candidate when
 *       f32(sqrt(f32(D)) * scale) - residual <= limit (NaN never: D >= 0). Writes the
 *       candidates' row numbers (first, first + 1, ...) to int32 out[0..count), and
 *       their bounds to float32s `valuesOffset` bytes after each.
 *
 * The dot-product form measured ~20% faster than summing squared differences (no
 * subtraction per 8 codes), for the norm's 4 bytes a row.
 */
export function int8ScanModuleBytes(codeDims: number, valuesOffset: number): Uint8Array {
  if (!Number.isInteger(codeDims) || codeDims < 16 || codeDims % 16 !== 0)
    throw new RangeError(`int8 kernels need codeDims to be a positive multiple of 16, got ${codeDims}`);
  if (!Number.isInteger(valuesOffset) || valuesOffset < 0 || valuesOffset % 4 !== 0)
    throw new RangeError(`valuesOffset must be a non-negative multiple of 4, got ${valuesOffset}`);
  // Params.
  const CODES = 0;
  const RESID = 1;
  const NORMS = 2;
  const ROWS = 3;
  const QUERY = 4;
  const QNORM = 5;
  const OUT = 6;
  const FIRST = 7;
  const SCALE = 8;
  const LIMIT = 9;
  // Locals: i32, then v128.
  const OUT_START = 10;
  const CAND = 11;
  const QNORMS = 12;
  const QLO = 13;
  const QHI = 14;
  const ACC = [15, 16, 17, 18];
  const T0 = 19;
  const T1 = 20;
  const SCALES = 21;
  const LIMITS = 22;
  const BOUND = 23; // f32: the one-row loop's bound
  /** Byte lanes of i32 lanes a, b, c, d (0-3 from the first operand, 4-7 from the second). */
  const lanes = (...picks: number[]) => picks.flatMap((p) => [p * 4, p * 4 + 1, p * 4 + 2, p * 4 + 3]);
  const c = new Code();
  c.get(OUT).set(OUT_START);
  c.get(SCALE).simd(SIMD.f32x4Splat).set(SCALES);
  c.get(LIMIT).simd(SIMD.f32x4Splat).set(LIMITS);
  c.get(QNORM).simd(SIMD.i32x4Splat).set(QNORMS);
  // Four rows a pass: the query's codes are loaded once for the four, and the bound is
  // computed for the four at once (transposed sums, f32x4), the writes skipped when none qualifies.
  c.op(OP.block, 0x40, OP.loop, 0x40);
  c.get(ROWS).i32(4).op(OP.i32LtU, OP.brIf, 1);
  for (const acc of ACC) c.zero().set(acc);
  for (let chunk = 0; chunk < codeDims / 16; chunk++) {
    c.get(QUERY)
      .load(chunk * 32)
      .set(QLO);
    c.get(QUERY)
      .load(chunk * 32 + 16)
      .set(QHI);
    for (let r = 0; r < 4; r++) {
      // v128.load8x8_s: 8 codes loaded and widened to int16 in one instruction (measured
      // 5-10% faster than one load and i16x8.extend_low/high).
      c.get(CODES).simd(SIMD.load8x8S, 3, ...uleb(r * codeDims + chunk * 16));
      c.get(QLO).simd(SIMD.i32x4DotI16x8S);
      c.get(CODES).simd(SIMD.load8x8S, 3, ...uleb(r * codeDims + chunk * 16 + 8));
      c.get(QHI).simd(SIMD.i32x4DotI16x8S);
      c.simd(SIMD.i32x4Add).get(ACC[r]).simd(SIMD.i32x4Add).set(ACC[r]);
    }
  }
  // Transpose-add: T0 = (a0+a2, b0+b2, a1+a3, b1+b3), T1 likewise for c, d; then the row sums (a, b, c, d).
  c.get(ACC[0])
    .get(ACC[1])
    .simd(SIMD.shuffle, ...lanes(0, 4, 1, 5));
  c.get(ACC[0])
    .get(ACC[1])
    .simd(SIMD.shuffle, ...lanes(2, 6, 3, 7));
  c.simd(SIMD.i32x4Add).set(T0);
  c.get(ACC[2])
    .get(ACC[3])
    .simd(SIMD.shuffle, ...lanes(0, 4, 1, 5));
  c.get(ACC[2])
    .get(ACC[3])
    .simd(SIMD.shuffle, ...lanes(2, 6, 3, 7));
  c.simd(SIMD.i32x4Add).set(T1);
  c.get(T0)
    .get(T1)
    .simd(SIMD.shuffle, ...lanes(0, 1, 4, 5));
  c.get(T0)
    .get(T1)
    .simd(SIMD.shuffle, ...lanes(2, 3, 6, 7));
  c.simd(SIMD.i32x4Add);
  // D = norms + queryNorm - 2 * dot.
  c.i32(1).simd(SIMD.i32x4Shl).set(T0);
  c.get(NORMS).load(0).get(QNORMS).simd(SIMD.i32x4Add).get(T0).simd(SIMD.i32x4Sub);
  c.simd(SIMD.f32x4ConvertI32x4S).simd(SIMD.f32x4Sqrt).get(SCALES).simd(SIMD.f32x4Mul);
  c.get(RESID)
    .simd(SIMD.load, 2, 0)
    .simd(SIMD.f32x4Sub)
    .op(OP.localTee, ...uleb(T1));
  c.get(LIMITS).simd(SIMD.f32x4Le).simd(SIMD.i32x4Bitmask).tee(CAND);
  c.op(OP.if, 0x40);
  for (let r = 0; r < 4; r++) {
    // Row and bound written for every row; `out` advances only past rows that pass.
    c.get(OUT).get(FIRST).i32(r).op(OP.i32Add).op(OP.i32Store, 2, 0);
    c.get(OUT)
      .get(T1)
      .simd(SIMD.f32x4ExtractLane, r)
      .op(OP.f32Store, 2, ...uleb(valuesOffset));
    c.get(OUT).get(CAND).i32(r).op(OP.i32ShrU).i32(1).op(OP.i32And).i32(2).op(OP.i32Shl, OP.i32Add).set(OUT);
  }
  c.op(OP.end);
  c.get(FIRST).i32(4).op(OP.i32Add).set(FIRST);
  c.get(CODES)
    .i32(codeDims * 4)
    .op(OP.i32Add)
    .set(CODES);
  c.get(RESID).i32(16).op(OP.i32Add).set(RESID);
  c.get(NORMS).i32(16).op(OP.i32Add).set(NORMS);
  c.get(ROWS).i32(4).op(OP.i32Sub).set(ROWS);
  c.op(OP.br, 0, OP.end, OP.end);
  // The last rows (fewer than four), one at a time.
  c.op(OP.block, 0x40, OP.loop, 0x40);
  c.get(ROWS).op(OP.i32Eqz, OP.brIf, 1);
  c.zero().set(ACC[0]);
  for (let chunk = 0; chunk < codeDims / 16; chunk++) {
    c.get(CODES).simd(SIMD.load8x8S, 3, ...uleb(chunk * 16));
    c.get(QUERY)
      .load(chunk * 32)
      .simd(SIMD.i32x4DotI16x8S);
    c.get(CODES).simd(SIMD.load8x8S, 3, ...uleb(chunk * 16 + 8));
    c.get(QUERY)
      .load(chunk * 32 + 16)
      .simd(SIMD.i32x4DotI16x8S);
    c.simd(SIMD.i32x4Add).get(ACC[0]).simd(SIMD.i32x4Add).set(ACC[0]);
  }
  const acc = ACC[0];
  c.get(acc).simd(SIMD.i32x4ExtractLane, 0).get(acc).simd(SIMD.i32x4ExtractLane, 1).op(OP.i32Add);
  c.get(acc).simd(SIMD.i32x4ExtractLane, 2).op(OP.i32Add).get(acc).simd(SIMD.i32x4ExtractLane, 3).op(OP.i32Add);
  c.i32(1).op(OP.i32Shl).set(CAND);
  c.get(NORMS).op(OP.i32Load, 2, 0).get(QNORM).op(OP.i32Add).get(CAND).op(OP.i32Sub);
  c.op(OP.f32ConvertI32S, OP.f32Sqrt).get(SCALE).op(OP.f32Mul);
  c.get(RESID)
    .op(OP.f32Load, 2, 0)
    .op(OP.f32Sub)
    .op(OP.localTee, ...uleb(BOUND));
  c.get(LIMIT).op(OP.f32Le).set(CAND);
  c.get(OUT).get(FIRST).op(OP.i32Store, 2, 0);
  c.get(OUT)
    .get(BOUND)
    .op(OP.f32Store, 2, ...uleb(valuesOffset));
  c.get(OUT).get(CAND).i32(2).op(OP.i32Shl, OP.i32Add).set(OUT);
  c.get(FIRST).i32(1).op(OP.i32Add).set(FIRST);
  c.get(CODES).i32(codeDims).op(OP.i32Add).set(CODES);
  c.get(RESID).i32(4).op(OP.i32Add).set(RESID);
  c.get(NORMS).i32(4).op(OP.i32Add).set(NORMS);
  c.get(ROWS).i32(1).op(OP.i32Sub).set(ROWS);
  c.op(OP.br, 0, OP.end, OP.end);
  c.int32sBetween(OUT_START, OUT);
  const body = c.functionBody([
    [2, I32],
    [11, V128],
    [1, F32],
  ]);

  return kernelModule([I32, I32, I32, I32, I32, I32, I32, I32, F32, F32], [I32], [{ name: 'scan_i8', body }]);
}

/**
 * `project(basis, y, z)`: z[i] = sum over d of basis[i * inDims + d] * y[d] for i < outDims,
 * float32 (f32x4 products in two accumulators, then the lanes). inDims a multiple of 4.
 * Exports `memory` and `project`.
 */
export function projectModuleBytes(inDims: number, outDims: number): Uint8Array {
  if (!Number.isInteger(inDims) || inDims < 4 || inDims % 4 !== 0)
    throw new RangeError(`projection needs inDims to be a positive multiple of 4, got ${inDims}`);
  if (!Number.isInteger(outDims) || outDims < 1) throw new RangeError(`outDims must be a positive integer, got ${outDims}`);
  const BASIS = 0;
  const Y = 1;
  const Z = 2;
  const I = 3;
  const A0 = 4;
  const A1 = 5;
  const c = new Code();
  c.i32(outDims).set(I);
  c.op(OP.block, 0x40, OP.loop, 0x40);
  c.get(I).op(OP.i32Eqz, OP.brIf, 1);
  c.zero().set(A0);
  c.zero().set(A1);
  for (let chunk = 0; chunk < inDims / 4; chunk++) {
    const acc = chunk % 2 === 0 ? A0 : A1;
    c.get(acc)
      .get(BASIS)
      .load(chunk * 16)
      .get(Y)
      .load(chunk * 16)
      .simd(SIMD.f32x4Mul)
      .simd(SIMD.f32x4Add)
      .set(acc);
  }
  c.get(A0).get(A1).simd(SIMD.f32x4Add).tee(A0);
  c.simd(SIMD.f32x4ExtractLane, 0).get(A0).simd(SIMD.f32x4ExtractLane, 1).op(OP.f32Add);
  c.get(A0).simd(SIMD.f32x4ExtractLane, 2).get(A0).simd(SIMD.f32x4ExtractLane, 3).op(OP.f32Add).op(OP.f32Add);
  c.set(6); // f32 local: the sum
  c.get(Z).get(6).op(OP.f32Store, 2, 0);
  c.get(Z).i32(4).op(OP.i32Add).set(Z);
  c.get(BASIS)
    .i32(inDims * 4)
    .op(OP.i32Add)
    .set(BASIS);
  c.get(I).i32(1).op(OP.i32Sub).set(I);
  c.op(OP.br, 0, OP.end, OP.end);
  const body = c.functionBody([
    [1, I32],
    [2, V128],
    [1, F32],
  ]);
  return kernelModule([I32, I32, I32], [], [{ name: 'project', body }]);
}
