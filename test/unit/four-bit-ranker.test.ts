import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FourBitRanker } from '../../libs/index/face-index/four-bit-ranker.js';
import { seededRandom } from '../../libs/index/seeded-random/index.js';

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

describe('FourBitRanker (4-bit codes on principal axes)', () => {
  const axes = 32;
  const rows = 4000;
  const random = seededRandom(21);
  // Axes of falling spread, like principal coordinates.
  const spread = Array.from({ length: axes }, (_, a) => 1 / (1 + a / 8));
  const z = new Float64Array(rows * axes);
  for (let i = 0; i < z.length; i++) z[i] = gaussian(random) * spread[i % axes];
  const ranker = new FourBitRanker(axes, rows);
  ranker.learn(z, rows, axes);
  for (let row = 0; row < rows; row++) ranker.encode(row, z.subarray(row * axes, (row + 1) * axes));

  test('levels ascend and each row is coded to its nearest level on every axis', () => {
    for (let a = 0; a < axes; a++) for (let l = 1; l < 16; l++) assert.ok(ranker.level(a, l) >= ranker.level(a, l - 1), `axis ${a} level ${l}`);
    for (let row = 0; row < rows; row += 13) {
      for (let a = 0; a < axes; a++) {
        const v = z[row * axes + a];
        const code = ranker.arena.code(row, a);
        for (let l = 0; l < 16; l++)
          assert.ok(Math.abs(v - ranker.level(a, code)) <= Math.abs(v - ranker.level(a, l)) + 1e-12, `row ${row} axis ${a}: code ${code}, level ${l} nearer`);
      }
    }
  });

  test('table sums rank rows like the exact squared distance on the axes', () => {
    let found = 0;
    const queries = 50;
    for (let q = 0; q < queries; q++) {
      const query = Float64Array.from({ length: axes }, (_, a) => gaussian(random) * spread[a]);
      ranker.setQuery(query);
      let nearest = -1;
      let nearestDistance = Infinity;
      for (let row = 0; row < rows; row++) {
        let d = 0;
        for (let a = 0; a < axes; a++) d += (z[row * axes + a] - query[a]) ** 2;
        if (d < nearestDistance) {
          nearestDistance = d;
          nearest = row;
        }
      }
      // Every row's table sum (limit: all), then the nearest row's rank by it.
      const sums = new Int32Array(rows);
      for (let start = 0; start < rows; start += 1024) {
        const n = ranker.scan(start, Math.min(rows, start + 1024), 65535);
        assert.equal(n, Math.min(1024, rows - start));
        for (let i = 0; i < n; i++) sums[ranker.arena.out[i]] = ranker.arena.values[i];
      }
      // Ties count against it: a table of zeros would tie every row.
      let atLeastAsGood = 0;
      for (let row = 0; row < rows; row++) if (row !== nearest && sums[row] <= sums[nearest]) atLeastAsGood++;
      if (atLeastAsGood < rows / 100) found++;
    }
    assert.ok(found >= 0.9 * queries, `the nearest row ranked in the best 1% for ${found} of ${queries} queries`);
  });
});
