import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CentroidRanker } from '../../libs/index/simd-kernel/centroid-ranker.js';
import { wasmSimdSupported } from '../../libs/index/simd-kernel/index.js';
import { seededRandom } from '../../libs/index/seeded-random/index.js';

function randomVectors(random: () => number, count: number, dims: number, spread: number): Float32Array {
  return Float32Array.from({ length: count * dims }, () => (random() * 2 - 1) * spread);
}

function keysOf(ranker: CentroidRanker, queries: Float32Array, count: number, first: number, n: number): Float32Array {
  ranker.stage(queries, count);
  ranker.rank(first, n);
  return ranker.keys.slice(0, n * ranker.count);
}

describe('centroid ranker (int16 codes, exact int32 dot products)', () => {
  test('the SIMD kernel and the JS fallback give the same keys, bit for bit, for every kernel width', (t) => {
    if (!wasmSimdSupported()) return t.skip('no WebAssembly SIMD here');
    const random = seededRandom(7);
    for (const dims of [128, 20]) {
      const centroids = randomVectors(random, 301, dims, 0.6);
      const queries = randomVectors(random, 40, dims, 0.7);
      const simd = new CentroidRanker(dims, centroids);
      const js = new CentroidRanker(dims, centroids, { forceJs: true });
      assert.equal(simd.simd, true);
      assert.equal(js.simd, false);
      // 13 queries from the 5th: one pass of 8, one of 4, one of 1.
      assert.deepEqual(keysOf(simd, queries, 40, 5, 13), keysOf(js, queries, 40, 5, 13), `${dims} dims`);
    }
  });

  test('keys are the squared distance less the query norm, within the rounding the codes allow', () => {
    const random = seededRandom(8);
    const dims = 128;
    // Face-like magnitudes: norms near 1, components within ±0.15.
    const centroids = randomVectors(random, 200, dims, 0.15);
    const queries = randomVectors(random, 9, dims, 0.2);
    for (const forceJs of [false, true]) {
      const ranker = new CentroidRanker(dims, centroids, { forceJs });
      // The largest component (just under 0.15) at <= 2047 codes: the power of two below 2047 / 0.15.
      assert.equal(ranker.scale, 8192);
      const keys = keysOf(ranker, queries, 9, 0, 9);
      const s = ranker.scale;
      const half = 0.5 / s;
      let largestError = 0;
      for (let q = 0; q < 9; q++) {
        let queryNorm = 0;
        for (let d = 0; d < dims; d++) queryNorm += queries[q * dims + d] ** 2;
        for (let c = 0; c < 200; c++) {
          let exact = 0;
          // Each coded component is within half a step: bound the key's error term by term.
          let bound = 0;
          for (let d = 0; d < dims; d++) {
            const x = centroids[c * dims + d];
            const y = queries[q * dims + d];
            exact += (x - y) ** 2;
            bound += 2 * Math.abs(x) * half + half * half + 2 * (Math.abs(x) * half + Math.abs(y) * half + half * half);
          }
          // float32 roundings of the norm and the dot (in code units, ~5e8 at most).
          bound += (4 * 2 ** 31 * 2 ** -24) / (s * s);
          const estimate = keys[q * 200 + c] / (s * s) + queryNorm;
          assert.ok(Math.abs(estimate - exact) <= bound, `query ${q}, centroid ${c}: ${estimate} vs ${exact} (bound ${bound})`);
          largestError = Math.max(largestError, Math.abs(estimate - exact));
        }
      }
      // The bound adds every rounding at its worst (~0.01 here); in fact they partly cancel.
      assert.ok(largestError < 1e-3, `largest error ${largestError}`);
    }
  });

  test('the nearest centroid by key is the nearest by distance unless the two are within the rounding', () => {
    const random = seededRandom(9);
    const dims = 64;
    const centroids = randomVectors(random, 500, dims, 0.4);
    const queries = randomVectors(random, 50, dims, 0.4);
    const ranker = new CentroidRanker(dims, centroids);
    const keys = keysOf(ranker, queries, 50, 0, 50);
    for (let q = 0; q < 50; q++) {
      const distance = (c: number) => {
        let s = 0;
        for (let d = 0; d < dims; d++) s += (centroids[c * dims + d] - queries[q * dims + d]) ** 2;
        return s;
      };
      let byKey = 0;
      let byDistance = 0;
      for (let c = 1; c < 500; c++) {
        if (keys[q * 500 + c] < keys[q * 500 + byKey]) byKey = c;
        if (distance(c) < distance(byDistance)) byDistance = c;
      }
      assert.ok(
        distance(byKey) - distance(byDistance) <= 1e-3,
        `query ${q}: centroid ${byKey} at ${distance(byKey)}, nearest ${byDistance} at ${distance(byDistance)}`,
      );
    }
  });

  test('extreme centroids and queries far past them do not overflow: clamped queries, SIMD equal to exact JS', () => {
    const dims = 128;
    // Every component at the largest magnitude, signs alternating: the largest dot products there are.
    const big = 1.99;
    const centroids = Float32Array.from({ length: 4 * dims }, (_, i) => (Math.floor(i / dims) % 2 === 0 ? big : -big));
    const queries = Float32Array.from({ length: 2 * dims }, (_, i) => (i < dims ? 1e6 : -1e6));
    const js = new CentroidRanker(dims, centroids, { forceJs: true });
    const keys = keysOf(js, queries, 2, 0, 2);
    // Centroids pointing with the query rank first; a wrapped int32 would flip them.
    assert.ok(keys[0] < keys[1] && keys[2] < keys[3], `query 0 keys ${[...keys.subarray(0, 4)]}`);
    assert.ok(keys[5] < keys[4] && keys[7] < keys[6], `query 1 keys ${[...keys.subarray(4, 8)]}`);
    if (wasmSimdSupported()) assert.deepEqual(keysOf(new CentroidRanker(dims, centroids), queries, 2, 0, 2), keys);
    // A query at the clamp ranks like one far past it.
    const clamped = Float32Array.from({ length: dims }, () => (4 * 2047) / js.scale);
    assert.deepEqual(keysOf(js, clamped, 1, 0, 1), keys.slice(0, 4));
  });

  test('refuses centroids that are not finite or do not fill whole vectors, naming what is wrong', () => {
    const bad = new Float32Array(16);
    bad[9] = Number.NaN;
    assert.throws(() => new CentroidRanker(8, bad), /centroid element 1 of centroid 1 is NaN/);
    assert.throws(() => new CentroidRanker(8, new Float32Array(12)), /12 centroid floats for 8 dims/);
    assert.throws(() => new CentroidRanker(0, new Float32Array(8)), /dims must be a positive integer/);
  });
});
