import { open, type FileHandle } from 'node:fs/promises';
import { decodeFloatsInto } from './decode.js';
import { checkDataLength, dataOffsetOf, HOST_IS_LITTLE_ENDIAN, NpyError, npyLayout, USUAL_HEADER_BYTES, type NpyLayout } from './header.js';

export interface NpyRowReaderOptions {
  /**
   * Bytes read at a time when the data needs converting (float64, the other byte order,
   * Fortran order, where it is at least one row); default 4 MiB. float32 in C order and this
   * machine's byte order is read straight into the caller's array.
   */
  bufferBytes?: number;
}

const DEFAULT_BUFFER_BYTES = 4 * 1024 * 1024;
/** Node reads at most 2 GiB in one call. */
const MAX_READ_BYTES = 1024 * 1024 * 1024;

/**
 * Reads the rows of a .npy face matrix of any size, a few at a time, with positioned reads
 * of an open file: memory is the caller's array plus one bounded buffer, not the file.
 * Header problems, and data shorter or longer than the header promises, are found by open().
 */
export class NpyRowReader {
  private nextRow = 0;
  /**
   * Fortran order: the buffer holds rows [blockStart, blockStart + blockRows) column by
   * column (column c from number c * blockCapacity), so a column costs one read per block
   * of rows, not one per call.
   */
  private readonly blockCapacity: number;
  private blockStart = 0;
  private blockRows = 0;

  private constructor(
    readonly file: string,
    private readonly handle: FileHandle,
    private readonly layout: NpyLayout,
    private readonly buffer: Uint8Array,
  ) {
    this.blockCapacity = Math.floor(buffer.length / (layout.dims * layout.type.itemSize));
  }

  static async open(file: string, options: NpyRowReaderOptions = {}): Promise<NpyRowReader> {
    const bufferBytes = options.bufferBytes ?? DEFAULT_BUFFER_BYTES;
    if (!Number.isInteger(bufferBytes) || bufferBytes < 8) throw new RangeError(`bufferBytes must be an integer of at least 8, got ${bufferBytes}`);
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NpyError(file, 'file not found');
      if ((error as NodeJS.ErrnoException).code === 'EISDIR') throw new NpyError(file, 'is a directory, not a .npy file');
      throw error;
    }
    try {
      const info = await handle.stat();
      if (info.isDirectory()) throw new NpyError(file, 'is a directory, not a .npy file');
      const layout = npyLayout(await readHeaderBytes(handle, info.size), file);
      checkDataLength(layout, info.size - layout.dataOffset, file);
      // Whole numbers only, so no number is split between two reads; in Fortran order, at least a row.
      const { itemSize } = layout.type;
      const wholeNumbers = bufferBytes - (bufferBytes % itemSize);
      const buffer = new Uint8Array(layout.fortranOrder ? Math.max(wholeNumbers, layout.dims * itemSize) : wholeNumbers);
      return new NpyRowReader(file, handle, layout, buffer);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  get rows(): number {
    return this.layout.rows;
  }

  get dims(): number {
    return this.layout.dims;
  }

  /** The 0-based row the next readRows starts at. */
  get position(): number {
    return this.nextRow;
  }

  /** Makes the next readRows start at `row` (0..rows): how a run resumes part-way. */
  seek(row: number): void {
    if (!Number.isInteger(row) || row < 0 || row > this.rows) throw new RangeError(`row must be a whole number from 0 to ${this.rows}, got ${row}`);
    this.nextRow = row;
  }

  /**
   * Fills `out` (row-major float32, a whole number of rows) with the next rows; returns
   * how many it read, fewer than fit only at the end of the file, 0 after it.
   */
  async readRows(out: Float32Array): Promise<number> {
    const { dims, rows } = this.layout;
    if (out.length % dims !== 0) throw new RangeError(`out must hold whole rows of ${dims} numbers, it holds ${out.length}`);
    const start = this.nextRow;
    const count = Math.min(out.length / dims, rows - start);
    if (count === 0) return 0;
    if (this.layout.fortranOrder) await this.readColumnMajor(start, count, out);
    else await this.readRun(start * dims, count * dims, out);
    this.nextRow = start + count;
    return count;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  /** C order: `count` consecutive numbers of the file from number `first` on, into out[0, count). */
  private async readRun(first: number, count: number, out: Float32Array): Promise<void> {
    const { type, dataOffset } = this.layout;
    const position = dataOffset + first * type.itemSize;
    if (type.itemSize === 4 && type.littleEndian === HOST_IS_LITTLE_ENDIAN) {
      // The file's bytes are our Float32Array's bytes: no buffer, no copy.
      await this.readFully(new Uint8Array(out.buffer, out.byteOffset, count * 4), position);
      return;
    }
    const perRead = this.buffer.length / type.itemSize;
    for (let done = 0; done < count; done += perRead) {
      const n = Math.min(perRead, count - done);
      const bytes = this.buffer.subarray(0, n * type.itemSize);
      await this.readFully(bytes, position + done * type.itemSize);
      decodeFloatsInto(bytes, n, type, out, done);
    }
  }

  /** Fortran order: rows [start, start + count) into out, row by row, through blocks of rows. */
  private async readColumnMajor(start: number, count: number, out: Float32Array): Promise<void> {
    const { dims, type } = this.layout;
    for (let done = 0; done < count;) {
      const row = start + done;
      if (row < this.blockStart || row >= this.blockStart + this.blockRows) await this.loadBlock(row);
      const n = Math.min(count - done, this.blockStart + this.blockRows - row);
      for (let c = 0; c < dims; c++) {
        const column = this.buffer.subarray((c * this.blockCapacity + row - this.blockStart) * type.itemSize);
        decodeFloatsInto(column, n, type, out, done * dims + c, dims);
      }
      done += n;
    }
  }

  /** Reads rows from `row` on (as many as the buffer holds) into the buffer, one read per column. */
  private async loadBlock(row: number): Promise<void> {
    const { rows, dims, type, dataOffset } = this.layout;
    const n = Math.min(this.blockCapacity, rows - row);
    this.blockRows = 0; // until every column is in: a read that fails part-way leaves no block
    for (let c = 0; c < dims; c++) {
      const at = c * this.blockCapacity * type.itemSize;
      await this.readFully(this.buffer.subarray(at, at + n * type.itemSize), dataOffset + (c * rows + row) * type.itemSize);
    }
    this.blockStart = row;
    this.blockRows = n;
  }

  /** Fills `target` from the file at `position`; open() checked the size, so a short file changed since. */
  private async readFully(target: Uint8Array, position: number): Promise<void> {
    const filled = await readAt(this.handle, target, position);
    if (filled < target.length) {
      const { dataOffset, dataBytes, described } = this.layout;
      throw new NpyError(
        this.file,
        `the file ended at byte ${position + filled} while being read, ${described} needs ${dataOffset + dataBytes}: was it cut short while this ran?`,
      );
    }
  }
}

/** Reads into `target` from `position` until it is full or the file ends; returns the bytes read. */
async function readAt(handle: FileHandle, target: Uint8Array, position: number): Promise<number> {
  let filled = 0;
  while (filled < target.length) {
    const length = Math.min(target.length - filled, MAX_READ_BYTES);
    const { bytesRead } = await handle.read(target, filled, length, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

/** The file's first bytes, through the end of its header (or the whole file when shorter). */
async function readHeaderBytes(handle: FileHandle, size: number): Promise<Uint8Array> {
  const prefix = new Uint8Array(Math.min(size, USUAL_HEADER_BYTES));
  const got = await readAt(handle, prefix, 0);
  const dataOffset = dataOffsetOf(prefix.subarray(0, got));
  if (dataOffset === undefined || dataOffset <= got || size <= got) return prefix.subarray(0, got);
  const whole = new Uint8Array(Math.min(size, dataOffset));
  return whole.subarray(0, await readAt(handle, whole, 0));
}
