import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FaceIndex, bruteForceSearch, storedVector } from '../../libs/index/face-index/index.js';
import { INT16_ROW_MAX, INT16_ROW_SCALE } from '../../libs/index/simd-kernel/int16.js';
import { KERNEL_WIDTHS, SIMD_RELATIVE_ERROR, VectorArena, wasmSimdSupported } from '../../libs/index/simd-kernel/index.js';
import { kernelModuleBytes, int8ScanModuleBytes } from '../../libs/index/simd-kernel/wasm.js';
import { Int8CodeArena, Projector, SCAN_BLOCK_ROWS } from '../../libs/index/simd-kernel/int8.js';
import { seededRandom } from '../../libs/index/seeded-random/index.js';

function exactSquared(a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, dims: number): number {
  let sum = 0;
  for (let d = 0; d < dims; d++) sum += (a[aOffset + d] - b[bOffset + d]) ** 2;
  return sum;
}

describe('WebAssembly SIMD kernel', () => {
  test('this runtime has WebAssembly SIMD (Node 20)', () => {
    assert.equal(wasmSimdSupported(), true);
  });

  test('module bytes validate for several vector lengths and refuse others', () => {
    for (const dims of [4, 8, 12, 128, 132]) assert.ok(kernelModuleBytes(dims).length > 0);
    assert.throws(() => kernelModuleBytes(6), RangeError);
    assert.throws(() => kernelModuleBytes(0), RangeError);
  });

  for (const forceJs of [false, true]) {
    test(`distances are within the stated error of float64, every width (${forceJs ? 'js' : 'wasm'})`, () => {
      const random = seededRandom(forceJs ? 2 : 1);
      for (const dims of [4, 12, 128]) {
        const arena = new VectorArena(dims, { forceJs, initialRows: 8 });
        assert.equal(arena.simd, !forceJs);
        const rows = 300;
        arena.ensureRowCapacity(rows);
        for (let i = 0; i < rows * dims; i++) arena.rows[i] = random() * 4 - 2;
        const queries = Float32Array.from({ length: 8 * dims }, () => random() * 4 - 2);
        const outByte = queries.length * 4;
        arena.scratch(outByte + rows * 8 * 4);
        arena.heap.set(queries, 0);
        const rowsView = arena.rows;
        for (const width of KERNEL_WIDTHS) {
          arena.distances(width, 7, rows - 7, 0, outByte);
          for (let r = 0; r < rows - 7; r++) {
            for (let q = 0; q < width; q++) {
              const want = exactSquared(rowsView, (r + 7) * dims, queries, q * dims, dims);
              const got = arena.heap[outByte / 4 + r * width + q];
              assert.ok(Math.abs(got - want) <= want * SIMD_RELATIVE_ERROR, `dims ${dims} width ${width} row ${r} q ${q}: ${got} vs ${want}`);
            }
          }
        }
      }
    });
  }

  test('rows survive growing the memory and moving for a larger scratch area', () => {
    const arena = new VectorArena(8, { initialRows: 2 });
    arena.rows.set([1, 2, 3, 4, 5, 6, 7, 8], 8);
    arena.ensureRowCapacity(100_000);
    assert.deepEqual([...arena.rows.subarray(8, 16)], [1, 2, 3, 4, 5, 6, 7, 8]);
    arena.scratch(10 * 1024 * 1024);
    assert.deepEqual([...arena.rows.subarray(8, 16)], [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.ok(arena.rowsByteOffset >= 10 * 1024 * 1024);
  });
});

describe('FaceIndex with the SIMD kernel stays exact', () => {
  test('near-ties that float32 cannot separate come back in the oracle order', () => {
    // Rows one grid step (2^-14) apart in one coordinate: the SIMD pre-selection's float32
    // sums barely (or do not) separate them, the float64 re-check must order them exactly
    // like the oracle over the stored vectors.
    const dims = 128;
    const random = seededRandom(5);
    const base = Float32Array.from({ length: dims }, () => random() - 0.5);
    const index = new FaceIndex();
    const js = new FaceIndex({ kernel: 'js' });
    const ids: string[] = [];
    const rows: Float32Array[] = [];
    for (let i = 0; i < 3000; i++) {
      const v = Float32Array.from(base);
      // Nudge one coordinate by one grid step, or move far away.
      if (i % 3 === 0) for (let d = 0; d < dims; d++) v[d] += random() - 0.5;
      else {
        const d = Math.floor(random() * dims);
        v[d] += (random() < 0.5 ? -1 : 1) * INT16_ROW_SCALE;
      }
      const id = `r${String(Math.floor(random() * 1e6)).padStart(6, '0')}-${i}`;
      ids.push(id);
      rows.push(v);
      index.upsert(id, v);
      js.upsert(id, v);
    }
    const all = new Float32Array(rows.length * dims);
    rows.forEach((v, i) => all.set(v, i * dims));
    const queries = new Float32Array(3 * dims);
    queries.set(base, 0);
    queries.set(rows[1], dims);
    for (let d = 0; d < dims; d++) queries[2 * dims + d] = base[d] + 1e-3;
    for (const k of [1, 10, 100]) {
      const want = bruteForceSearch(storedVector(all), ids, queries, k, dims);
      assert.deepEqual(index.search(queries, k), want, `k=${k}`);
      assert.deepEqual(js.search(queries, k), want, `k=${k} js`);
    }
    assert.equal(index.stats().kernel, 'wasm-simd');
    assert.equal(js.stats().kernel, 'js');
  });

  test("components past the rows' range are refused, naming them; the largest allowed are found", () => {
    const dims = 8;
    const index = new FaceIndex({ dimensions: dims });
    index.upsert('big', new Float32Array(dims).fill(INT16_ROW_MAX));
    index.upsert('small', new Float32Array(dims).fill(-INT16_ROW_MAX));
    for (const bad of [3e38, -2, INT16_ROW_MAX + INT16_ROW_SCALE]) {
      const vector = new Float32Array(dims);
      vector[5] = bad;
      assert.throws(() => index.upsert('big', vector), {
        name: 'RangeError',
        message: /^vector element 5 is \S+ \(must be finite and within ±1\.99993896484375\)$/,
      });
    }
    assert.equal(index.size, 2);
    const got = index.search(new Float32Array(dims).fill(1.5), 2);
    assert.deepEqual(
      got[0].map((n) => n.id),
      ['big', 'small'],
    );
    assert.ok(Math.abs(got[0][0].distance - Math.sqrt(dims) * (INT16_ROW_MAX - 1.5)) < 1e-12, `${got[0][0].distance}`);
  });
});

describe('int8 pre-filter kernel', () => {
  test('module bytes for multiples of 16 only', () => {
    for (const codeDims of [16, 32, 128, 144]) assert.ok(int8ScanModuleBytes(codeDims, 4096).length > 0);
    assert.throws(() => int8ScanModuleBytes(8, 4096), RangeError);
    assert.throws(() => int8ScanModuleBytes(24, 4096), RangeError);
  });

  test('returns exactly the rows whose float32 bound is within the limit, any count and start, after growing', () => {
    const random = seededRandom(17);
    for (const dims of [16, 20, 128]) {
      const arena = new Int8CodeArena(dims, 4);
      const rows = 3000;
      arena.ensureRowCapacity(10);
      const cd = arena.codeDims;
      assert.equal(cd, Math.ceil(dims / 16) * 16);
      const fill = (from: number, to: number) => {
        for (let r = from; r < to; r++) {
          for (let d = 0; d < dims; d++) arena.codes[r * cd + d] = Math.round(random() * 254 - 127);
          arena.residuals[r] = random() * 2;
          arena.setNorm(r);
        }
      };
      fill(0, 10);
      const firstTen = arena.codes.slice(0, 10 * cd);
      const firstResiduals = arena.residuals.slice(0, 10);
      const firstNorms = arena.norms.slice(0, 10);
      arena.ensureRowCapacity(rows);
      assert.deepEqual(arena.codes.slice(0, 10 * cd), firstTen, 'codes survive growing');
      assert.deepEqual(arena.residuals.slice(0, 10), firstResiduals, 'residuals survive growing');
      assert.deepEqual(arena.norms.slice(0, 10), firstNorms, 'norms survive growing');
      // Where the old residuals and norms lay, the new rows' codes must read zero.
      assert.ok(
        arena.codes.subarray(10 * cd, rows * cd).every((c) => c === 0),
        'fresh rows: zero codes',
      );
      assert.ok(
        arena.norms.subarray(10, rows).every((n) => n === 0),
        'fresh rows: zero norms',
      );
      fill(10, rows);
      let queryNorm = 0;
      for (let d = 0; d < dims; d++) queryNorm += (arena.query[d] = Math.round(random() * 254 - 127)) ** 2;
      const scale = Math.fround(0.003);
      // The kernel's value in float32, step by step (D < 2^24 is exact).
      const bound = (r: number) => {
        let D = 0;
        for (let d = 0; d < dims; d++) D += (arena.codes[r * cd + d] - arena.query[d]) ** 2;
        return Math.fround(Math.fround(Math.fround(Math.sqrt(D)) * scale) - arena.residuals[r]);
      };
      const values = Array.from({ length: rows }, (_, r) => bound(r));
      const sorted = [...values].sort((a, b) => a - b);
      for (const [first, count] of [
        [0, SCAN_BLOCK_ROWS],
        [5, 3],
        [7, 1],
        [1001, 999],
        [rows - 6, 6],
        [100, 0],
      ]) {
        for (const quantile of [0, 0.01, 0.5, 1]) {
          const limit = sorted[Math.min(rows - 1, Math.floor(quantile * rows))];
          const n = arena.scan(first, count, queryNorm, scale, limit);
          const got = [...arena.out.subarray(0, n)];
          const want: number[] = [];
          for (let r = first; r < first + count; r++) if (values[r] <= limit) want.push(r);
          assert.deepEqual(got, want, `dims=${dims} first=${first} count=${count} q=${quantile}`);
          assert.deepEqual(
            [...arena.values.subarray(0, n)],
            want.map((r) => values[r]),
            `bounds dims=${dims} first=${first} count=${count} q=${quantile}`,
          );
        }
        assert.equal(arena.scan(first, count, queryNorm, scale, Infinity), count);
      }
    }
  });
});

test('float32 projection stays within its stated error (4e-6 ||y|| a coordinate)', () => {
  const random = seededRandom(29);
  for (const [inDims, outDims] of [
    [128, 32],
    [64, 16],
    [4, 1],
  ]) {
    const projector = new Projector(inDims, outDims);
    // Orthonormal-ish rows are what the filter uses; any rows work for the bound checked here (|row| <= 1).
    const basis = Float64Array.from({ length: inDims * outDims }, () => (random() - 0.5) * (2 / Math.sqrt(inDims)));
    projector.setBasis(basis);
    for (let trial = 0; trial < 200; trial++) {
      const y = Float64Array.from({ length: inDims }, () => (random() - 0.5) * (trial % 2 === 0 ? 1 : 1e3));
      projector.y.set(y);
      const z = projector.project();
      const norm = Math.hypot(...y);
      for (let i = 0; i < outDims; i++) {
        let exact = 0;
        for (let d = 0; d < inDims; d++) exact += basis[i * inDims + d] * y[d];
        assert.ok(Math.abs(z[i] - exact) <= 4e-6 * norm, `${inDims}x${outDims}: |${z[i]} - ${exact}| > 4e-6 * ${norm}`);
      }
    }
  }
});
