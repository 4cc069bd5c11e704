/**
 * A tiny WebAssembly assembler: the opcodes the kernels use, the binary encodings
 * (LEB128, vectors, sections) and a straight-line code builder. Kernels are emitted as
 * raw module bytes so there is no build step and no dependency.
 */

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

export const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  br: 0x0c,
  brIf: 0x0d,
  end: 0x0b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  i32Load8U: 0x2d,
  i32Load16U: 0x2f,
  f32Load: 0x2a,
  i32Store: 0x36,
  f32Store: 0x38,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32Ne: 0x47,
  i32LtU: 0x49,
  f32Le: 0x5f,
  i32Ctz: 0x68,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32And: 0x71,
  i32Or: 0x72,
  i32Shl: 0x74,
  i32ShrU: 0x76,
  f32Sqrt: 0x91,
  f32Add: 0x92,
  f32Sub: 0x93,
  f32Mul: 0x94,
  f32ConvertI32S: 0xb2,
  simd: 0xfd,
} as const;

export const SIMD = {
  load: 0x00,
  load8x8S: 0x01,
  store: 0x0b,
  const: 0x0c,
  shuffle: 0x0d,
  swizzle: 0x0e,
  i8x16Splat: 0x0f,
  i32x4Splat: 0x11,
  f32x4Splat: 0x13,
  i32x4ExtractLane: 0x1b,
  f32x4ExtractLane: 0x1f,
  i8x16LeU: 0x2a,
  f32x4Le: 0x45,
  v128And: 0x4e,
  i8x16Bitmask: 0x64,
  i8x16Add: 0x6e,
  i8x16AddSatU: 0x70,
  i16x8ShrU: 0x8d,
  i16x8SubSatS: 0x92,
  i32x4Bitmask: 0xa4,
  i32x4ExtendLowI16x8S: 0xa7,
  i32x4ExtendHighI16x8S: 0xa8,
  i32x4Shl: 0xab,
  i32x4Add: 0xae,
  i32x4Sub: 0xb1,
  i32x4DotI16x8S: 0xba,
  f32x4Sqrt: 0xe3,
  f32x4Add: 0xe4,
  f32x4Sub: 0xe5,
  f32x4Mul: 0xe6,
  f32x4ConvertI32x4S: 0xfa,
} as const;

export function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

export function sleb(value: number): number[] {
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

export function utf8(text: string): number[] {
  return [...new TextEncoder().encode(text)];
}

export function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

export function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/** The module preamble: "\0asm", version 1. */
export const WASM_HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/** A name as the binary format spells it (its UTF-8 bytes, length first). */
function name(text: string): number[] {
  return vec(utf8(text).map((b) => [b]));
}

/**
 * A kernel module: its `memory` (one page to start; the owner grows it) and `functions`,
 * all of one type (`params` -> `results`, value types I32 / F32 / V128), exported under
 * their names. A function's body is its local declarations then its code (the size
 * prefix is added here).
 */
export function kernelModule(params: number[], results: number[], functions: ReadonlyArray<{ name: string; body: number[] }>): Uint8Array {
  const types = section(1, vec([[0x60, ...vec(params.map((t) => [t])), ...vec(results.map((t) => [t]))]]));
  const declared = section(3, vec(functions.map(() => uleb(0))));
  const memory = section(5, vec([[0x00, ...uleb(1)]]));
  const exports = section(7, vec([[...name('memory'), 0x02, 0x00], ...functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)])]));
  const code = section(10, vec(functions.map((f) => [...uleb(f.body.length), ...f.body])));
  return Uint8Array.from([...WASM_HEADER, ...types, ...declared, ...memory, ...exports, ...code]);
}

/** Straight-line code builder for one function body. */
export class Code {
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
  /** Leaves on the stack the count of int32s written from byte `start` up to byte `end` (locals). */
  int32sBetween(start: number, end: number): this {
    return this.get(end).get(start).op(OP.i32Sub).i32(2).op(OP.i32ShrU);
  }
  /**
   * Ends the function and returns its body for `kernelModule`: the local declarations,
   * runs of (count, value type) in index order after the params, then the code.
   */
  functionBody(locals: ReadonlyArray<readonly [count: number, type: number]>): number[] {
    this.op(OP.end);
    return [...vec(locals.map(([count, type]) => [...uleb(count), type])), ...this.bytes];
  }
}
