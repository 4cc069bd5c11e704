/**
 * Reads NumPy `.npy` files (format versions 1.0, 2.0, 3.0) holding face encodings:
 * float32 or float64, shape (n, 128) or (128,), C or Fortran order, either byte order.
 * Spec: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { z } from 'zod';
import { FACE_DIMENSIONS } from '../index/vector/index.js';

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

/** Row-major float32 matrix: row r is data[r * dims .. (r + 1) * dims). */
export interface NpyMatrix {
  rows: number;
  dims: number;
  data: Float32Array;
}

/** Reads a whole .npy file into memory and decodes it (see parseNpy). */
export async function readNpyFile(path: string): Promise<NpyMatrix> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new NpyError(path, 'file not found');
    if (code === 'EISDIR') throw new NpyError(path, 'is a directory, not a .npy file');
    if (code === 'ERR_FS_FILE_TOO_LARGE') {
      // Node reads at most 2 GiB at once (~4.2 million float32 rows): split the file or ingest JSON lines.
      throw new NpyError(path, 'is larger than 2 GiB, more than can be read at once; split it into several .npy files');
    }
    throw error;
  }
  return parseNpy(bytes, path);
}

/**
 * Decodes the bytes of a .npy file; `name` is used in error messages. When the data is
 * little-endian float32 in C order and 4-byte aligned (np.save aligns it to 64), the
 * returned `data` is a view sharing memory with `bytes`, not a copy.
 */
export function parseNpy(bytes: Uint8Array, name: string): NpyMatrix {
  const header = readHeader(bytes, name);
  const dtype = parseDescr(header.descr, name);
  const { rows, dims } = faceMatrixShape(header.shape, name);

  const count = rows * dims;
  const expectedBytes = count * dtype.itemSize;
  const actualBytes = bytes.length - header.dataOffset;
  const described = `shape ${formatShape(header.shape)} of ${String(header.descr)}`;
  if (actualBytes < expectedBytes) {
    throw new NpyError(name, `data is truncated: ${described} needs ${expectedBytes} bytes, the file has ${actualBytes}`);
  }
  if (actualBytes > expectedBytes) {
    // np.load would silently ignore these, but they usually mean several arrays were saved into one file.
    throw new NpyError(
      name,
      `${actualBytes - expectedBytes} unexpected bytes after the data: ${described} needs ${expectedBytes} bytes, the file has ${actualBytes}`,
    );
  }

  const fileOrder = decodeFloats(bytes, header.dataOffset, count, dtype);
  const data = header.fortranOrder && rows > 1 ? transposeColumnMajor(fileOrder, rows, dims) : fileOrder;
  return { rows, dims, data };
}

// ---------------------------------------------------------------------------------------------
// Header: magic, version, length, then a Python dict literal padded with spaces and a newline.

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

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

interface FloatType {
  itemSize: 4 | 8;
  littleEndian: boolean;
}

const HOST_IS_LITTLE_ENDIAN = endianness() === 'LE';

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

// ---------------------------------------------------------------------------------------------
// Data

function decodeFloats(bytes: Uint8Array, offset: number, count: number, type: FloatType): Float32Array {
  const nativeFloat32 = type.itemSize === 4 && type.littleEndian === HOST_IS_LITTLE_ENDIAN;
  if (nativeFloat32 && (bytes.byteOffset + offset) % 4 === 0) {
    // Already our layout: a view saves copying what may be hundreds of megabytes.
    return new Float32Array(bytes.buffer, bytes.byteOffset + offset, count);
  }
  const out = new Float32Array(count);
  if (nativeFloat32) {
    // Our layout but misaligned for a Float32Array view: one memcpy.
    new Uint8Array(out.buffer).set(bytes.subarray(offset, offset + count * 4));
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * type.itemSize);
  const little = type.littleEndian;
  if (type.itemSize === 4) {
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, little);
  } else {
    for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, little);
  }
  return out;
}

/** Fortran order stores column by column: element (r, c) sits at c * rows + r. */
function transposeColumnMajor(columnMajor: Float32Array, rows: number, dims: number): Float32Array {
  const rowMajor = new Float32Array(columnMajor.length);
  for (let c = 0; c < dims; c++) {
    const column = c * rows;
    for (let r = 0; r < rows; r++) rowMajor[r * dims + c] = columnMajor[column + r];
  }
  return rowMajor;
}

// ---------------------------------------------------------------------------------------------
// The subset of Python literals numpy writes in headers: dicts, tuples, lists, strings,
// integers (with Python 2's trailing L), True/False/None. Tuples become arrays.

function parsePythonLiteral(text: string): unknown {
  let at = 0;

  const fail = (what: string): never => {
    throw new Error(`${what} at position ${at}`);
  };
  const skipSpace = () => {
    while (at < text.length && /\s/.test(text[at])) at++;
  };
  const expect = (char: string) => {
    skipSpace();
    if (text[at] !== char) fail(`expected '${char}'`);
    at++;
  };

  /** Items up to `close`, allowing a trailing comma. */
  const sequence = <T>(close: string, item: () => T): T[] => {
    const items: T[] = [];
    for (;;) {
      skipSpace();
      if (text[at] === close) {
        at++;
        return items;
      }
      items.push(item());
      skipSpace();
      if (text[at] === ',') at++;
      else if (text[at] !== close) fail(`expected ',' or '${close}'`);
    }
  };

  const string = (): string => {
    const quote = text[at++];
    let result = '';
    while (at < text.length && text[at] !== quote) {
      if (text[at] === '\\') at++;
      result += text[at++];
    }
    if (at >= text.length) fail('unterminated string');
    at++;
    return result;
  };

  const value = (): unknown => {
    skipSpace();
    const char = text[at];
    if (char === '{') {
      at++;
      const entries = sequence('}', () => {
        const key = value();
        expect(':');
        return [String(key), value()] as const;
      });
      return Object.fromEntries(entries);
    }
    if (char === '(') {
      at++;
      return sequence(')', value);
    }
    if (char === '[') {
      at++;
      return sequence(']', value);
    }
    if (char === "'" || char === '"') return string();
    const word = /^(-?\d+)L?|^(True|False|None)\b/.exec(text.slice(at));
    if (!word) return fail('unexpected character');
    at += word[0].length;
    if (word[1] !== undefined) return Number(word[1]);
    return word[2] === 'True' ? true : word[2] === 'False' ? false : null;
  };

  const result = value();
  skipSpace();
  if (at !== text.length) fail('unexpected text after the literal');
  return result;
}
