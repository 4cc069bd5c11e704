/**
 * Emits the WebAssembly (SIMD, f32x4) squared-distance kernels as raw module bytes, so
 * there is no build step and no dependency: a tiny assembler for the handful of opcodes
 * the kernels use, and one generator per kernel shape.
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

const I32 = 0x7f;
const V128 = 0x7b;

const OP = {
  block: 0x02,
  loop: 0x03,
  br: 0x0c,
  brIf: 0x0d,
  end: 0x0b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  f32Store: 0x38,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  f32Add: 0x92,
  simd: 0xfd,
} as const;

const SIMD = {
  load: 0x00,
  const: 0x0c,
  f32x4ExtractLane: 0x1f,
  f32x4Add: 0xe4,
  f32x4Sub: 0xe5,
  f32x4Mul: 0xe6,
} as const;

function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

function sleb(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    if ((value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function utf8(text: string): number[] {
  return [...new TextEncoder().encode(text)];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/** Straight-line code builder for one function body. */
class Code {
  readonly bytes: number[] = [];
  get(local: number): this {
    this.bytes.push(OP.localGet, ...uleb(local));
    return this;
  }
  set(local: number): this {
    this.bytes.push(OP.localSet, ...uleb(local));
    return this;
  }
  tee(local: number): this {
    this.bytes.push(OP.localTee, ...uleb(local));
    return this;
  }
  i32(value: number): this {
    this.bytes.push(OP.i32Const, ...sleb(value));
    return this;
  }
  op(...codes: number[]): this {
    this.bytes.push(...codes);
    return this;
  }
  simd(code: number, ...immediates: number[]): this {
    this.bytes.push(OP.simd, ...uleb(code), ...immediates);
    return this;
  }
  /** v128.load with alignment hint 2^4 and a byte offset. */
  load(offset: number): this {
    return this.simd(SIMD.load, 4, ...uleb(offset));
  }
  zero(): this {
    return this.simd(SIMD.const, ...new Array<number>(16).fill(0));
  }
}

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
    c.get(DATA).load(chunk * 16).set(ROW);
    for (let q = 0; q < queries; q++) {
      const target = acc(q, chunk % A);
      c.get(target);
      c.get(ROW).get(QUERIES).load(q * dims * 4 + chunk * 16).simd(SIMD.f32x4Sub).tee(DIFF).get(DIFF).simd(SIMD.f32x4Mul);
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
  c.get(OUT).i32(queries * 4).op(OP.i32Add).set(OUT);
  c.get(DATA).i32(dims * 4).op(OP.i32Add).set(DATA);
  c.get(ROWS).i32(1).op(OP.i32Sub).set(ROWS);
  c.op(OP.br, 0, OP.end, OP.end);
  c.op(OP.end);

  const locals = vec([
    [...uleb(2), V128],
    [...uleb(queries * A), V128],
  ]);
  const body = [...locals, ...c.bytes];
  return [...uleb(body.length), ...body];
}

/** Query counts per pass with a kernel each. */
export const KERNEL_WIDTHS = [1, 4, 8] as const;
export type KernelWidth = (typeof KERNEL_WIDTHS)[number];

/** The module bytes for vectors of `dims` floats (a positive multiple of 4). */
export function kernelModuleBytes(dims: number): Uint8Array {
  if (!Number.isInteger(dims) || dims < 4 || dims % 4 !== 0) throw new RangeError(`SIMD kernels need dims to be a positive multiple of 4, got ${dims}`);
  const magic = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const types = section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32]]), ...vec([])]]));
  const functions = section(3, vec(KERNEL_WIDTHS.map(() => uleb(0))));
  const memory = section(5, vec([[0x00, ...uleb(1)]]));
  const exports = section(
    7,
    vec([[...vec(utf8('memory').map((b) => [b])), 0x02, 0x00], ...KERNEL_WIDTHS.map((n, i) => [...vec(utf8(`l2_${n}`).map((b) => [b])), 0x00, ...uleb(i)])]),
  );
  const code = section(10, vec(KERNEL_WIDTHS.map((n) => kernelBody(dims, n))));
  return Uint8Array.from([...magic, ...types, ...functions, ...memory, ...exports, ...code]);
}

/** A one-instruction module (f32x4.splat) that validates only where WebAssembly SIMD works. */
export function simdProbeBytes(): Uint8Array {
  const magic = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const types = section(1, vec([[0x60, ...vec([]), ...vec([])]]));
  const functions = section(3, vec([uleb(0)]));
  const body = [0x01, 0x01, V128, OP.simd, ...uleb(SIMD.const), ...new Array<number>(16).fill(0), OP.localSet, 0x00, OP.end];
  const code = section(10, vec([[...uleb(body.length), ...body]]));
  return Uint8Array.from([...magic, ...types, ...functions, ...code]);
}
