/**
 * The header of a NumPy `.npy` file (format versions 1.0, 2.0, 3.0) holding face encodings:
 * magic, version, header length, then a Python dict literal naming the dtype (float32 or
 * float64, either byte order), the order (C or Fortran) and the shape ((n, 128) or (128,)).
 * Spec: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
import { endianness } from 'node:os';
import { z } from 'zod';
import { FACE_DIMENSIONS } from '../index/vector/index.js';
import { parsePythonLiteral } from './python-literal.js';

/** A problem with one .npy file; the message starts with the file's name. */
export class NpyError extends Error {
  override readonly name = 'NpyError';
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

export interface FloatType {
  itemSize: 4 | 8;
  littleEndian: boolean;
}

/** Where a face matrix's data is in its file and how it is stored. */
export interface NpyLayout {
  rows: number;
  dims: number;
  type: FloatType;
  /** Column by column (element (r, c) at c * rows + r) instead of row by row. */
  fortranOrder: boolean;
  /** Byte offset of the first element. */
  dataOffset: number;
  /** Bytes of data the header promises: rows * dims * itemSize. */
  dataBytes: number;
  /** "shape (3, 128) of <f4", for messages. */
  described: string;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

/** Enough bytes to hold the header of any .npy that np.save writes for a face matrix. */
export const USUAL_HEADER_BYTES = 4096;

/**
 * Where the data starts according to the preamble of `prefix` (the file's first bytes),
 * or undefined when the prefix is too short or not a .npy (npyLayout says why).
 */
export function dataOffsetOf(prefix: Uint8Array): number | undefined {
  if (prefix.length < 12 || MAGIC.some((byte, i) => prefix[i] !== byte)) return undefined;
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  const major = prefix[6];
  return major === 1 ? 10 + view.getUint16(8, true) : 12 + view.getUint32(8, true);
}

/**
 * Decodes the header at the start of `bytes`, which hold at least the whole header (or
 * the whole file, when that is shorter); `name` is used in error messages.
 */
export function npyLayout(bytes: Uint8Array, name: string): NpyLayout {
  const header = readHeader(bytes, name);
  const type = parseDescr(header.descr, name);
  const { rows, dims } = faceMatrixShape(header.shape, name);
  return {
    rows,
    dims,
    type,
    fortranOrder: header.fortranOrder && rows > 1,
    dataOffset: header.dataOffset,
    dataBytes: rows * dims * type.itemSize,
    described: `shape ${formatShape(header.shape)} of ${String(header.descr)}`,
  };
}

/** Refuses data shorter than the header promises (naming the rows it holds) or longer. */
export function checkDataLength(layout: NpyLayout, actualBytes: number, name: string): void {
  const { dataBytes, described, rows, dims, type } = layout;
  if (actualBytes < dataBytes) {
    const rowBytes = dims * type.itemSize;
    const held = layout.fortranOrder ? 'stored column by column, so its last column is cut short' : `${Math.floor(actualBytes / rowBytes)} whole rows`;
    throw new NpyError(name, `data is truncated: ${described} needs ${dataBytes} bytes (${rows} rows), the file has ${actualBytes} (${held})`);
  }
  if (actualBytes > dataBytes) {
    // np.load would silently ignore these, but they usually mean several arrays were saved into one file.
    throw new NpyError(name, `${actualBytes - dataBytes} unexpected bytes after the data: ${described} needs ${dataBytes} bytes, the file has ${actualBytes}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Header: magic, version, length, then a Python dict literal padded with spaces and a newline.

const HeaderDict = z.object({
  descr: z.unknown(), // a string for plain dtypes, a list for structured ones: checked by parseDescr
  fortran_order: z.boolean(),
  shape: z.array(z.number().int().nonnegative()),
});

interface NpyHeader {
  descr: unknown;
  fortranOrder: boolean;
  shape: number[];
  dataOffset: number;
}

function readHeader(bytes: Uint8Array, name: string): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((byte, i) => bytes[i] !== byte)) {
    throw new NpyError(name, 'not a .npy file (it does not start with the \\x93NUMPY magic)');
  }
  const major = bytes[6];
  const minor = bytes[7];
  if (major !== 1 && major !== 2 && major !== 3) {
    throw new NpyError(name, `unsupported .npy format version ${major}.${minor} (1.0, 2.0 and 3.0 are supported)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthFieldSize = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthFieldSize) throw new NpyError(name, 'header is truncated');
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = 8 + lengthFieldSize;
  const dataOffset = headerStart + headerLength;
  if (dataOffset > bytes.length) {
    throw new NpyError(name, `header is truncated: it claims ${headerLength} bytes, the file has ${bytes.length - headerStart} after the preamble`);
  }
  // Versions 1 and 2 store the header as latin1, version 3 as utf8.
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + headerStart, headerLength).toString(major === 3 ? 'utf8' : 'latin1');

  let literal: unknown;
  try {
    literal = parsePythonLiteral(text.trim());
  } catch (error) {
    throw new NpyError(name, `header is not a Python dict literal (${(error as Error).message}): ${text.trim()}`);
  }
  const dict = HeaderDict.safeParse(literal);
  if (!dict.success) {
    const issue = dict.error.issues[0];
    const where = issue?.path.length ? `'${issue.path.join('.')}': ` : '';
    throw new NpyError(name, `header dict is not valid (${where}${issue?.message ?? 'invalid'}): ${text.trim()}`);
  }
  return { descr: dict.data.descr, fortranOrder: dict.data.fortran_order, shape: dict.data.shape, dataOffset };
}

// ---------------------------------------------------------------------------------------------
// dtype: only float32 / float64, any byte order.

export const HOST_IS_LITTLE_ENDIAN = endianness() === 'LE';

function parseDescr(descr: unknown, name: string): FloatType {
  const needed = 'face encodings must be float32 (<f4) or float64 (<f8)';
  if (typeof descr !== 'string') {
    throw new NpyError(name, `unsupported dtype: a structured dtype ${JSON.stringify(descr)}; ${needed}`);
  }
  // '<' little, '>' big, '=' native, '|' "not applicable" (numpy uses it for 1-byte types; treat as native).
  const match = /^([<>=|]?)f([48])$/.exec(descr);
  if (!match) throw new NpyError(name, `unsupported dtype ${descr}; ${needed}`);
  const order = match[1];
  const littleEndian = order === '<' ? true : order === '>' ? false : HOST_IS_LITTLE_ENDIAN;
  return { itemSize: match[2] === '4' ? 4 : 8, littleEndian };
}

// ---------------------------------------------------------------------------------------------
// Shape: (n, 128), or (128,) as a single row.

function faceMatrixShape(shape: number[], name: string): { rows: number; dims: number } {
  if (shape.length === 2 && shape[1] === FACE_DIMENSIONS) return { rows: shape[0], dims: FACE_DIMENSIONS };
  if (shape.length === 1 && shape[0] === FACE_DIMENSIONS) return { rows: 1, dims: FACE_DIMENSIONS };
  throw new NpyError(name, `unsupported shape ${formatShape(shape)}: expected (n, ${FACE_DIMENSIONS}), one ${FACE_DIMENSIONS}-number face encoding per row`);
}

/** Python's tuple notation, as numpy prints shapes: (3, 128), (128,), (). */
function formatShape(shape: number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}
