/**
 * Reads NumPy `.npy` files (format versions 1.0, 2.0, 3.0) holding face encodings, whole:
 * float32 or float64, shape (n, 128) or (128,), C or Fortran order, either byte order.
 * For files too big to hold, NpyRowReader (row-reader.ts) reads a few rows at a time.
 * Spec: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
import { decodeFloatsInto } from './decode.js';
import { checkDataLength, HOST_IS_LITTLE_ENDIAN, npyLayout } from './header.js';
import { NpyRowReader } from './row-reader.js';

export { NpyError } from './header.js';

/** Row-major float32 matrix: row r is data[r * dims .. (r + 1) * dims). */
export interface NpyMatrix {
  rows: number;
  dims: number;
  data: Float32Array;
}

/** Reads a whole .npy file into one row-major float32 matrix (checked as NpyRowReader.open checks it). */
export async function readNpyFile(path: string): Promise<NpyMatrix> {
  const reader = await NpyRowReader.open(path);
  try {
    const data = new Float32Array(reader.rows * reader.dims);
    await reader.readRows(data);
    return { rows: reader.rows, dims: reader.dims, data };
  } finally {
    await reader.close();
  }
}

/**
 * Decodes the bytes of a .npy file; `name` is used in error messages. When the data is
 * little-endian float32 in C order and 4-byte aligned (np.save aligns it to 64), the
 * returned `data` is a view sharing memory with `bytes`, not a copy.
 */
export function parseNpy(bytes: Uint8Array, name: string): NpyMatrix {
  const layout = npyLayout(bytes, name);
  checkDataLength(layout, bytes.length - layout.dataOffset, name);
  const { rows, dims, type, dataOffset, fortranOrder } = layout;
  const count = rows * dims;
  const nativeFloat32 = type.itemSize === 4 && type.littleEndian === HOST_IS_LITTLE_ENDIAN;
  if (nativeFloat32 && !fortranOrder && (bytes.byteOffset + dataOffset) % 4 === 0) {
    // Already our layout: a view saves copying what may be hundreds of megabytes.
    return { rows, dims, data: new Float32Array(bytes.buffer, bytes.byteOffset + dataOffset, count) };
  }
  const data = new Float32Array(count);
  if (fortranOrder) {
    // Column c holds (0, c), (1, c), ...: it goes to every dims-th number from c.
    const columnBytes = rows * type.itemSize;
    for (let c = 0; c < dims; c++) decodeFloatsInto(bytes.subarray(dataOffset + c * columnBytes), rows, type, data, c, dims);
  } else {
    decodeFloatsInto(bytes.subarray(dataOffset), count, type, data, 0);
  }
  return { rows, dims, data };
}
