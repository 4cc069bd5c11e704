/**
 * Writes float32 matrices as NumPy `.npy` files the way `np.save` does: format 1.0,
 * little-endian `<f4`, C order, header padded with spaces and a newline so the data
 * starts at a multiple of 64 bytes.
 */
import { open } from 'node:fs/promises';
import { endianness } from 'node:os';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // "\x93NUMPY"
const DATA_ALIGNMENT = 64;
/**
 * Bytes written a call: a byte view of the whole matrix cannot be made past 4 GiB (a
 * typed array's length limit), and 10,000,000 faces are 5 GB.
 */
const WRITE_CHUNK_BYTES = 64 * 2 ** 20;

export interface NpyHeaderFields {
  /** numpy dtype string, e.g. '<f4', '>f8', '<i8'. */
  descr: string;
  fortranOrder?: boolean;
  shape: readonly number[];
}

/**
 * The bytes before the data: magic, version, header length and the header dict.
 * Exported so tests can hand-build files of other dtypes and orders.
 */
export function encodeNpyHeader({ descr, fortranOrder = false, shape }: NpyHeaderFields): Buffer {
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': ${fortranOrder ? 'True' : 'False'}, 'shape': ${tuple}, }`;
  // Version 1.0 has a 2-byte length field; version 2.0 a 4-byte one (only for huge dicts).
  const paddedText = (preambleLength: number) => {
    const unpadded = preambleLength + dict.length + 1; // + the closing newline
    const padding = (DATA_ALIGNMENT - (unpadded % DATA_ALIGNMENT)) % DATA_ALIGNMENT;
    return dict + ' '.repeat(padding) + '\n';
  };
  const version = paddedText(10).length <= 0xffff ? 1 : 2;
  const preambleLength = version === 1 ? 10 : 12;
  const headerText = paddedText(preambleLength);

  const preamble = Buffer.alloc(preambleLength);
  MAGIC.copy(preamble, 0);
  preamble[6] = version;
  preamble[7] = 0;
  if (version === 1) preamble.writeUInt16LE(headerText.length, 8);
  else preamble.writeUInt32LE(headerText.length, 8);
  return Buffer.concat([preamble, Buffer.from(headerText, 'latin1')]);
}

/** A row-major float32 matrix, as readNpyFile returns it. */
export interface Float32Matrix {
  rows: number;
  dims: number;
  data: Float32Array;
}

/** The whole .npy file in memory (header + data). */
export function encodeNpyFloat32(matrix: Float32Matrix): Buffer {
  return Buffer.concat([encodeNpyHeader(float32Header(matrix)), littleEndianBytes(matrix.data)]);
}

/**
 * Writes a (rows, dims) float32 C-order .npy file, whatever its size, a chunk at a time
 * (without copying the data on little-endian hosts).
 */
export async function writeNpyFloat32(path: string, matrix: Float32Matrix, chunkBytes = WRITE_CHUNK_BYTES): Promise<void> {
  const header = encodeNpyHeader(float32Header(matrix));
  const file = await open(path, 'w');
  try {
    await file.write(header);
    const data = matrix.data;
    const floatsAChunk = Math.max(1, Math.floor(chunkBytes / 4));
    for (let from = 0; from < data.length; from += floatsAChunk)
      await writeAll(file, littleEndianBytes(data.subarray(from, Math.min(data.length, from + floatsAChunk))));
  } finally {
    await file.close();
  }
}

/** Writes every byte (a write may take fewer than it is given). */
async function writeAll(file: import('node:fs/promises').FileHandle, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length;) done += (await file.write(bytes, done, bytes.length - done)).bytesWritten;
}

function float32Header({ rows, dims, data }: Float32Matrix): NpyHeaderFields {
  if (!Number.isInteger(rows) || !Number.isInteger(dims) || rows < 0 || dims < 0) {
    throw new RangeError(`rows and dims must be non-negative integers, got ${rows} x ${dims}`);
  }
  if (data.length !== rows * dims) {
    throw new RangeError(`data holds ${data.length} numbers, a ${rows} x ${dims} matrix needs ${rows * dims}`);
  }
  return { descr: '<f4', shape: [rows, dims] };
}

function littleEndianBytes(data: Float32Array): Uint8Array {
  if (endianness() === 'LE') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const bytes = new Uint8Array(data.byteLength);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  return bytes;
}
