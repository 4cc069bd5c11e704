import { HOST_IS_LITTLE_ENDIAN, type FloatType } from './header.js';

/**
 * Decodes `count` numbers of `type` from the start of `bytes` into out[at], out[at + stride],
 * ... (stride 1: a run of a row-major matrix; stride dims: one column of rows). float64
 * becomes the nearest float32, as assigning it to a Float32Array does.
 */
export function decodeFloatsInto(bytes: Uint8Array, count: number, type: FloatType, out: Float32Array, at: number, stride = 1): void {
  const { itemSize, littleEndian } = type;
  const native = littleEndian === HOST_IS_LITTLE_ENDIAN;
  if (native && itemSize === 4 && stride === 1) {
    // Our own layout: one memcpy, whatever the alignment of `bytes`.
    new Uint8Array(out.buffer, out.byteOffset + at * 4, count * 4).set(bytes.subarray(0, count * 4));
    return;
  }
  if (native && bytes.byteOffset % itemSize === 0) {
    const values = itemSize === 4 ? new Float32Array(bytes.buffer, bytes.byteOffset, count) : new Float64Array(bytes.buffer, bytes.byteOffset, count);
    if (stride === 1) out.set(values, at);
    else for (let i = 0; i < count; i++) out[at + i * stride] = values[i];
    return;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, count * itemSize);
  if (itemSize === 4) {
    for (let i = 0; i < count; i++) out[at + i * stride] = view.getFloat32(i * 4, littleEndian);
  } else {
    for (let i = 0; i < count; i++) out[at + i * stride] = view.getFloat64(i * 8, littleEndian);
  }
}
