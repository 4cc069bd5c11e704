import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { NpyError, parseNpy, readNpyFile } from '../../libs/npy/read.js';
import { encodeNpyFloat32, encodeNpyHeader, writeNpyFloat32 } from '../../libs/npy/write.js';

const DIMS = 128;
const dir = mkdtempSync(join(tmpdir(), 'faceshard-npy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Deterministic, distinct, non-integer values: element i of the row-major matrix is i / 7 - 3. */
function valueAt(i: number): number {
  return i / 7 - 3;
}

function expectedMatrix(rows: number): Float32Array {
  const data = new Float32Array(rows * DIMS);
  for (let i = 0; i < data.length; i++) data[i] = valueAt(i);
  return data;
}

/** A hand-built file: header for `descr`, then each value written by `put` in file order. */
function handBuilt(
  descr: string,
  shape: number[],
  values: number[],
  itemSize: number,
  put: (view: DataView, offset: number, value: number) => void,
  fortranOrder = false,
): Buffer {
  const header = encodeNpyHeader({ descr, shape, fortranOrder });
  const body = Buffer.alloc(values.length * itemSize);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  values.forEach((value, i) => put(view, i * itemSize, value));
  return Buffer.concat([header, body]);
}

function rowMajorValues(rows: number): number[] {
  return Array.from({ length: rows * DIMS }, (_, i) => valueAt(i));
}

function writeFixture(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

async function npyErrorOf(path: string): Promise<NpyError> {
  try {
    await readNpyFile(path);
  } catch (error) {
    assert.ok(error instanceof NpyError, `expected an NpyError, got ${String(error)}`);
    assert.ok(error.message.startsWith(`${path}: `), `message should name the file: ${error.message}`);
    return error;
  }
  assert.fail(`reading ${path} should have failed`);
}

describe('writeNpyFloat32 / readNpyFile', () => {
  test('round-trips a float32 matrix', async () => {
    const data = expectedMatrix(5);
    const path = join(dir, 'roundtrip.npy');
    await writeNpyFloat32(path, { rows: 5, dims: DIMS, data });
    const read = await readNpyFile(path);
    assert.equal(read.rows, 5);
    assert.equal(read.dims, DIMS);
    assert.deepEqual(read.data, data);
  });

  test('writes a v1.0 header padded with spaces and a newline to 64 bytes, as numpy does', () => {
    const bytes = encodeNpyFloat32({ rows: 2, dims: DIMS, data: expectedMatrix(2) });
    assert.deepEqual([...bytes.subarray(0, 8)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const headerLength = bytes.readUInt16LE(8);
    const dataOffset = 10 + headerLength;
    assert.equal(dataOffset % 64, 0);
    const header = bytes.subarray(10, dataOffset).toString('latin1');
    assert.match(header, /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 128\), \} *\n$/);
    assert.equal(bytes.length, dataOffset + 2 * DIMS * 4);
  });

  test('refuses data that does not match rows x dims', () => {
    assert.throws(() => encodeNpyFloat32({ rows: 2, dims: DIMS, data: new Float32Array(10) }), /holds 10 numbers/);
  });

  test('decodes float32 at any byte alignment of the input (view or copy)', () => {
    const bytes = encodeNpyFloat32({ rows: 3, dims: DIMS, data: expectedMatrix(3) });
    for (const shift of [0, 1, 2, 3]) {
      const backing = new Uint8Array(bytes.length + shift);
      backing.set(bytes, shift);
      const read = parseNpy(backing.subarray(shift), `shifted-${shift}.npy`);
      assert.deepEqual(read.data, expectedMatrix(3), `shift ${shift}`);
    }
  });

  test('round-trips an empty (0, 128) matrix', async () => {
    const path = join(dir, 'empty.npy');
    await writeNpyFloat32(path, { rows: 0, dims: DIMS, data: new Float32Array(0) });
    const read = await readNpyFile(path);
    assert.equal(read.rows, 0);
    assert.equal(read.data.length, 0);
  });
});

describe('readNpyFile dtypes and layouts', () => {
  test('reads little-endian float64 and converts it to float32', async () => {
    const values = rowMajorValues(3);
    const path = writeFixture(
      'f8.npy',
      handBuilt('<f8', [3, DIMS], values, 8, (v, o, x) => v.setFloat64(o, x, true)),
    );
    const read = await readNpyFile(path);
    assert.equal(read.rows, 3);
    assert.ok(read.data instanceof Float32Array);
    assert.deepEqual(read.data, expectedMatrix(3));
  });

  test('reads big-endian float32', async () => {
    const values = rowMajorValues(4);
    const path = writeFixture(
      'be-f4.npy',
      handBuilt('>f4', [4, DIMS], values, 4, (v, o, x) => v.setFloat32(o, x, false)),
    );
    assert.deepEqual((await readNpyFile(path)).data, expectedMatrix(4));
  });

  test('reads big-endian float64', async () => {
    const values = rowMajorValues(2);
    const path = writeFixture(
      'be-f8.npy',
      handBuilt('>f8', [2, DIMS], values, 8, (v, o, x) => v.setFloat64(o, x, false)),
    );
    assert.deepEqual((await readNpyFile(path)).data, expectedMatrix(2));
  });

  test("reads native (=) and not-applicable (|) byte orders as this machine's (little-endian)", async () => {
    for (const descr of ['=f4', '|f4']) {
      const path = writeFixture(
        `native-${descr[0] === '=' ? 'eq' : 'bar'}.npy`,
        handBuilt(descr, [2, DIMS], rowMajorValues(2), 4, (v, o, x) => v.setFloat32(o, x, true)),
      );
      assert.deepEqual((await readNpyFile(path)).data, expectedMatrix(2), descr);
    }
  });

  test('transposes fortran_order: True into row-major rows', async () => {
    const rows = 3;
    // Column-major: element (r, c) is stored at c * rows + r.
    const columnMajor: number[] = [];
    for (let c = 0; c < DIMS; c++) for (let r = 0; r < rows; r++) columnMajor.push(valueAt(r * DIMS + c));
    const path = writeFixture(
      'fortran.npy',
      handBuilt('<f4', [rows, DIMS], columnMajor, 4, (v, o, x) => v.setFloat32(o, x, true), true),
    );
    const read = await readNpyFile(path);
    assert.equal(read.rows, rows);
    assert.deepEqual(read.data, expectedMatrix(rows));
  });

  test('reads a 1-D (128,) array as one row', async () => {
    const path = writeFixture(
      'one.npy',
      handBuilt('<f4', [DIMS], rowMajorValues(1), 4, (v, o, x) => v.setFloat32(o, x, true)),
    );
    const read = await readNpyFile(path);
    assert.equal(read.rows, 1);
    assert.deepEqual(read.data, expectedMatrix(1));
  });

  test('reads format versions 2.0 and 3.0 (4-byte header length)', () => {
    for (const major of [2, 3]) {
      const dict = Buffer.from(`{'descr': '<f4', 'fortran_order': False, 'shape': (2, 128), }`.padEnd(115, ' ') + '\n', 'latin1');
      const preamble = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0, 0, 0, 0, 0]);
      preamble.writeUInt32LE(dict.length, 8);
      const body = Buffer.from(expectedMatrix(2).buffer);
      const read = parseNpy(Buffer.concat([preamble, dict, body]), `v${major}.npy`);
      assert.deepEqual(read.data, expectedMatrix(2), `version ${major}.0`);
    }
  });

  test('reads a Python 2 header with long integers (3L, 128L)', () => {
    const dict = Buffer.from(`{'descr': '<f4', 'fortran_order': False, 'shape': (3L, 128L), }`.padEnd(117, ' ') + '\n', 'latin1');
    const preamble = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
    preamble.writeUInt16LE(dict.length, 8);
    const read = parseNpy(Buffer.concat([preamble, dict, Buffer.from(expectedMatrix(3).buffer)]), 'py2.npy');
    assert.equal(read.rows, 3);
  });
});

describe('readNpyFile errors', () => {
  test('an integer dtype names the dtype and what is needed', async () => {
    const path = writeFixture(
      'i8.npy',
      handBuilt('<i8', [2, DIMS], new Array(2 * DIMS).fill(1), 8, (v, o, x) => v.setBigInt64(o, BigInt(x), true)),
    );
    const error = await npyErrorOf(path);
    assert.match(error.message, /unsupported dtype <i8/);
    assert.match(error.message, /float32/);
    assert.match(error.message, /float64/);
  });

  test('float16 is refused too', async () => {
    const path = writeFixture('f2.npy', Buffer.concat([encodeNpyHeader({ descr: '<f2', shape: [1, DIMS] }), Buffer.alloc(2 * DIMS)]));
    assert.match((await npyErrorOf(path)).message, /unsupported dtype <f2/);
  });

  test('a structured dtype is refused', async () => {
    const dict = Buffer.from(`{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (1,), }`.padEnd(117, ' ') + '\n', 'latin1');
    const preamble = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
    preamble.writeUInt16LE(dict.length, 8);
    const path = writeFixture('structured.npy', Buffer.concat([preamble, dict, Buffer.alloc(4)]));
    assert.match((await npyErrorOf(path)).message, /unsupported dtype: a structured dtype/);
  });

  test('a (n, 64) shape names the shape and the expected (n, 128)', async () => {
    const path = writeFixture(
      'n64.npy',
      handBuilt('<f4', [4, 64], new Array(4 * 64).fill(0), 4, (v, o, x) => v.setFloat32(o, x, true)),
    );
    const error = await npyErrorOf(path);
    assert.match(error.message, /shape \(4, 64\)/);
    assert.match(error.message, /expected \(n, 128\)/);
  });

  test('a 3-D shape is refused', async () => {
    const path = writeFixture(
      '3d.npy',
      handBuilt('<f4', [2, 3, DIMS], new Array(6 * DIMS).fill(0), 4, (v, o, x) => v.setFloat32(o, x, true)),
    );
    assert.match((await npyErrorOf(path)).message, /shape \(2, 3, 128\).*expected \(n, 128\)/);
  });

  test('a 1-D array of the wrong length is refused', async () => {
    const path = writeFixture(
      '1d-64.npy',
      handBuilt('<f4', [64], new Array(64).fill(0), 4, (v, o, x) => v.setFloat32(o, x, true)),
    );
    assert.match((await npyErrorOf(path)).message, /shape \(64,\)/);
  });

  test('bad magic says it is not a .npy file', async () => {
    const path = writeFixture('text.npy', Buffer.from('id,vector\nada,0.1 0.2\n'));
    assert.match((await npyErrorOf(path)).message, /not a \.npy file/);
  });

  test('an empty file is not a .npy file', async () => {
    assert.match((await npyErrorOf(writeFixture('zero.npy', Buffer.alloc(0)))).message, /not a \.npy file/);
  });

  test('truncated data gives expected and actual byte counts', async () => {
    const full = encodeNpyFloat32({ rows: 3, dims: DIMS, data: expectedMatrix(3) });
    const path = writeFixture('truncated.npy', full.subarray(0, full.length - 100));
    const error = await npyErrorOf(path);
    assert.match(error.message, /truncated/);
    assert.match(error.message, /1536 bytes/);
    assert.match(error.message, /has 1436/);
  });

  test('a truncated header is reported', async () => {
    const full = encodeNpyFloat32({ rows: 1, dims: DIMS, data: expectedMatrix(1) });
    assert.match((await npyErrorOf(writeFixture('short-header.npy', full.subarray(0, 40)))).message, /header is truncated/);
  });

  test('bytes after the data are reported (two arrays saved into one file)', async () => {
    const one = encodeNpyFloat32({ rows: 1, dims: DIMS, data: expectedMatrix(1) });
    const path = writeFixture('two-arrays.npy', Buffer.concat([one, one]));
    assert.match((await npyErrorOf(path)).message, /unexpected bytes after the data/);
  });

  test('a garbled header dict is reported', async () => {
    const bytes = encodeNpyFloat32({ rows: 1, dims: DIMS, data: expectedMatrix(1) });
    bytes.write('{"descr": <f4', 10, 'latin1');
    assert.match((await npyErrorOf(writeFixture('garbled.npy', bytes))).message, /header is not a Python dict literal/);
  });

  test('a header without fortran_order is reported', async () => {
    const dict = Buffer.from(`{'descr': '<f4', 'shape': (1, 128), }`.padEnd(53, ' ') + '\n', 'latin1');
    const preamble = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
    preamble.writeUInt16LE(dict.length, 8);
    const path = writeFixture('no-order.npy', Buffer.concat([preamble, dict, Buffer.from(expectedMatrix(1).buffer)]));
    assert.match((await npyErrorOf(path)).message, /header dict is not valid \('fortran_order'/);
  });

  test('a missing file is named', async () => {
    assert.match((await npyErrorOf(join(dir, 'nope.npy'))).message, /file not found/);
  });
});

describe('files written by real numpy', () => {
  const numpyMissing = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status !== 0;
  const skip = numpyMissing ? 'python3 with numpy is not available on this machine' : false;

  function python(script: string): void {
    const result = spawnSync('python3', ['-c', script], { cwd: dir, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
  }

  // Same values as valueAt(): element i of the row-major matrix is i / 7 - 3.
  const matrix = (rows: number) => `(np.arange(${rows} * 128, dtype=np.float64) / 7 - 3).reshape(${rows}, 128)`;

  test('reads what np.save and np.lib.format.write_array wrote', { skip }, async () => {
    python(
      [
        'import numpy as np',
        `m = ${matrix(5)}`,
        "np.save('np-f4.npy', m.astype('<f4'))",
        "np.save('np-f8.npy', m)",
        "np.save('np-be-f4.npy', m.astype('>f4'))",
        "np.save('np-fortran-f8.npy', np.asfortranarray(m))",
        "np.save('np-fortran-be-f4.npy', np.asfortranarray(m.astype('>f4')))",
        "np.save('np-one.npy', m[0].astype('<f4'))",
        "np.save('np-i8.npy', np.arange(5 * 128, dtype='<i8').reshape(5, 128))",
        "np.save('np-64.npy', np.zeros((5, 64), dtype='<f4'))",
        "f = open('np-v2.npy', 'wb'); np.lib.format.write_array(f, m.astype('<f4'), version=(2, 0)); f.close()",
        "f = open('np-v3.npy', 'wb'); np.lib.format.write_array(f, m.astype('<f4'), version=(3, 0)); f.close()",
      ].join('\n'),
    );
    for (const name of ['np-f4', 'np-f8', 'np-be-f4', 'np-fortran-f8', 'np-fortran-be-f4', 'np-v2', 'np-v3']) {
      const read = await readNpyFile(join(dir, `${name}.npy`));
      assert.equal(read.rows, 5, name);
      assert.deepEqual(read.data, expectedMatrix(5), name);
    }
    const one = await readNpyFile(join(dir, 'np-one.npy'));
    assert.equal(one.rows, 1);
    assert.deepEqual(one.data, expectedMatrix(1));
    assert.match((await npyErrorOf(join(dir, 'np-i8.npy'))).message, /unsupported dtype <i8/);
    assert.match((await npyErrorOf(join(dir, 'np-64.npy'))).message, /shape \(5, 64\)/);
  });

  test('numpy reads what writeNpyFloat32 wrote', { skip }, async () => {
    await writeNpyFloat32(join(dir, 'ours.npy'), { rows: 4, dims: DIMS, data: expectedMatrix(4) });
    python(
      [
        'import numpy as np',
        "a = np.load('ours.npy')",
        "assert a.dtype == np.float32 and a.shape == (4, 128) and a.flags['C_CONTIGUOUS'], (a.dtype, a.shape)",
        `assert np.array_equal(a, ${matrix(4)}.astype(np.float32))`,
      ].join('\n'),
    );
    // And the header bytes are numpy's own, padded to 64.
    assert.equal((10 + readFileSync(join(dir, 'ours.npy')).readUInt16LE(8)) % 64, 0);
  });
});
