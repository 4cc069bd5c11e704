import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { NpyError, parseNpy } from '../../libs/npy/read.js';
import { NpyRowReader } from '../../libs/npy/row-reader.js';
import { encodeNpyFloat32, encodeNpyHeader } from '../../libs/npy/write.js';

const DIMS = 128;
const dir = mkdtempSync(join(tmpdir(), 'faceshard-npy-stream-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Element (r, c): distinct, non-integer, and not exact in float32 (so float64 files need rounding). */
function valueAt(r: number, c: number): number {
  return (r * DIMS + c) / 7 - 3 + 1e-9;
}

/** The file's bytes for `rows` rows of `descr` ('<f4', '>f4', '<f8', '>f8') in C or Fortran order. */
function npyBytes(descr: string, rows: number, fortranOrder = false): Buffer {
  const itemSize = descr.endsWith('8') ? 8 : 4;
  const little = descr.startsWith('<');
  const body = Buffer.alloc(rows * DIMS * itemSize);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < DIMS; c++) {
      const at = (fortranOrder ? c * rows + r : r * DIMS + c) * itemSize;
      if (itemSize === 8) view.setFloat64(at, valueAt(r, c), little);
      else view.setFloat32(at, valueAt(r, c), little);
    }
  }
  return Buffer.concat([encodeNpyHeader({ descr, shape: [rows, DIMS], fortranOrder }), body]);
}

function writeFixture(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** Row-major float32, each element rounded from float64 as a Float32Array assignment does. */
function expectedRows(rows: number): Float32Array {
  const data = new Float32Array(rows * DIMS);
  for (let r = 0; r < rows; r++) for (let c = 0; c < DIMS; c++) data[r * DIMS + c] = valueAt(r, c);
  return data;
}

/** Every row of `path`, read `rowsPerRead` at a time into one reused array. */
async function readAll(path: string, rowsPerRead: number, bufferBytes?: number): Promise<{ data: Float32Array; reads: number[] }> {
  const reader = await NpyRowReader.open(path, { bufferBytes });
  try {
    const data = new Float32Array(reader.rows * DIMS);
    const out = new Float32Array(rowsPerRead * DIMS);
    const reads: number[] = [];
    for (let n = await reader.readRows(out); n > 0; n = await reader.readRows(out)) {
      data.set(out.subarray(0, n * DIMS), (reader.position - n) * DIMS);
      reads.push(n);
    }
    return { data, reads };
  } finally {
    await reader.close();
  }
}

async function openError(path: string): Promise<NpyError> {
  try {
    await (await NpyRowReader.open(path)).close();
  } catch (error) {
    assert.ok(error instanceof NpyError, `expected an NpyError, got ${String(error)}`);
    assert.ok(error.message.startsWith(`${path}: `), `message should name the file: ${error.message}`);
    return error;
  }
  assert.fail(`opening ${path} should have failed`);
}

describe('NpyRowReader', () => {
  test('reads float32 in batches of any size, the last one short', async () => {
    const path = writeFixture('f4.npy', npyBytes('<f4', 1000));
    for (const rowsPerRead of [1, 7, 64, 999, 1000, 4096]) {
      const { data, reads } = await readAll(path, rowsPerRead);
      assert.deepEqual(data, expectedRows(1000), `${rowsPerRead} rows per read`);
      assert.equal(reads.length, Math.ceil(1000 / rowsPerRead));
      assert.equal(reads.at(-1), 1000 - (reads.length - 1) * rowsPerRead);
    }
  });

  test('converts float64 to float32 exactly as the whole-file reader does', async () => {
    const bytes = npyBytes('<f8', 300);
    const path = writeFixture('f8.npy', bytes);
    const { data } = await readAll(path, 17);
    assert.deepEqual(data, parseNpy(bytes, 'f8.npy').data);
    assert.deepEqual(data, expectedRows(300));
    assert.notEqual(data[1], valueAt(0, 1), 'the fixture needs rounding, so the test can tell');
  });

  test('a buffer smaller than a row, and not a multiple of one, splits rows across reads', async () => {
    // 1000 bytes: 125 float64 or 250 float32, so rows of 128 cross reads at changing places.
    for (const [descr, fortran] of [
      ['<f8', false],
      ['>f4', false],
      ['>f8', false],
      ['<f4', true],
      ['<f8', true],
      ['>f8', true],
    ] as const) {
      const name = `split-${descr.replace(/[<>]/, (s) => (s === '<' ? 'le' : 'be'))}${fortran ? '-fortran' : ''}.npy`;
      const path = writeFixture(name, npyBytes(descr, 37, fortran));
      // 3077 bytes: Fortran order holds 6 float32 rows or 3 float64 rows a block, so 5-row reads cross blocks.
      for (const bufferBytes of [1000, 3077]) {
        for (const rowsPerRead of [1, 5, 37]) {
          const { data } = await readAll(path, rowsPerRead, bufferBytes);
          assert.deepEqual(data, expectedRows(37), `${name}, ${rowsPerRead} rows per read, ${bufferBytes}-byte buffer`);
        }
      }
    }
  });

  test('seek starts part-way, and a read past the end gives 0 rows', async () => {
    const reader = await NpyRowReader.open(writeFixture('seek.npy', npyBytes('<f4', 10)));
    try {
      reader.seek(8);
      const out = new Float32Array(5 * DIMS);
      assert.equal(await reader.readRows(out), 2);
      assert.deepEqual(out.subarray(0, 2 * DIMS), expectedRows(10).subarray(8 * DIMS));
      assert.equal(await reader.readRows(out), 0);
      assert.throws(() => reader.seek(11), /from 0 to 10/);
      await assert.rejects(reader.readRows(new Float32Array(100)), /whole rows of 128/);
    } finally {
      await reader.close();
    }
  });

  test('in Fortran order, seeking back into a block read before gives its rows again', async () => {
    const reader = await NpyRowReader.open(writeFixture('seek-fortran.npy', npyBytes('<f8', 20, true)), { bufferBytes: 8 * DIMS * 8 });
    try {
      const out = new Float32Array(6 * DIMS);
      assert.equal(await reader.readRows(out), 6);
      assert.equal(await reader.readRows(out), 6, 'rows 6-11: the rest of the first block, then a second');
      assert.deepEqual(out, expectedRows(12).subarray(6 * DIMS));
      reader.seek(1);
      assert.equal(await reader.readRows(out), 6);
      assert.deepEqual(out, expectedRows(7).subarray(DIMS));
    } finally {
      await reader.close();
    }
  });

  test('a file shorter than its header says names the rows it holds and those promised, before any read', async () => {
    const full = encodeNpyFloat32({ rows: 10, dims: DIMS, data: expectedRows(10) });
    const path = writeFixture('short.npy', full.subarray(0, full.length - 3 * DIMS * 4 - 5));
    const error = await openError(path);
    assert.match(error.message, /data is truncated: shape \(10, 128\) of <f4 needs 5120 bytes \(10 rows\), the file has 3579 \(6 whole rows\)/);
  });

  test('a file cut short while it is being read is reported, not read as zeros', async () => {
    const path = writeFixture('cut.npy', npyBytes('<f4', 100));
    const reader = await NpyRowReader.open(path);
    try {
      truncateSync(path, 128 + 50 * DIMS * 4);
      const out = new Float32Array(40 * DIMS);
      assert.equal(await reader.readRows(out), 40);
      await assert.rejects(reader.readRows(out), (error: Error) => {
        assert.ok(error instanceof NpyError);
        assert.match(error.message, /cut\.npy: the file ended at byte 25728 while being read, shape \(100, 128\) of <f4 needs 51328/);
        return true;
      });
    } finally {
      await reader.close();
    }
  });

  test('header problems are found by open and name the file', async () => {
    assert.match((await openError(writeFixture('magic.npy', Buffer.from('not numpy at all')))).message, /not a \.npy file/);
    const i8 = Buffer.concat([encodeNpyHeader({ descr: '<i8', shape: [1, DIMS] }), Buffer.alloc(8 * DIMS)]);
    assert.match((await openError(writeFixture('i8.npy', i8))).message, /unsupported dtype <i8/);
    const wide = Buffer.concat([encodeNpyHeader({ descr: '<f4', shape: [2, 64] }), Buffer.alloc(4 * 128)]);
    assert.match((await openError(writeFixture('wide.npy', wide))).message, /unsupported shape \(2, 64\)/);
    const longer = Buffer.concat([npyBytes('<f4', 2), Buffer.alloc(7)]);
    assert.match((await openError(writeFixture('longer.npy', longer))).message, /7 unexpected bytes after the data/);
    assert.match((await openError(join(dir, 'absent.npy'))).message, /file not found/);
    assert.match((await openError(dir)).message, /is a directory/);
  });

  test('a header longer than the first read (a huge shape padded by hand) is still read', async () => {
    const header = encodeNpyHeader({ descr: '<f4', shape: [2, DIMS] });
    const dict = header.subarray(10).toString('latin1').trimEnd();
    const padded = Buffer.from(dict.padEnd(10_048 - 10 - 1, ' ') + '\n', 'latin1'); // data at 10048, a multiple of 64
    const preamble = Buffer.from(header.subarray(0, 10));
    preamble.writeUInt16LE(padded.length, 8);
    const path = writeFixture('long-header.npy', Buffer.concat([preamble, padded, Buffer.from(expectedRows(2).buffer)]));
    assert.deepEqual((await readAll(path, 1)).data, expectedRows(2));
  });
});
