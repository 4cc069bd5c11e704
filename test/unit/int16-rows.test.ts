import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { INT16_GATHER_ROWS, INT16_ROW_MAX, INT16_ROW_SCALE, Int16RowArena } from '../../libs/index/simd-kernel/int16.js';
import { codedSquaredDistanceWithin } from '../../libs/index/exact-distance/index.js';
import { seededRandom } from '../../libs/index/seeded-random/index.js';

/** What searches re-check a gathered row with: the float64 distance over its stored codes. */
function storedDistance(arena: Int16RowArena, row: number, query: Float32Array): number {
  return codedSquaredDistanceWithin(arena.codes, row * arena.rowDims, INT16_ROW_SCALE, query, 0, arena.dims, Infinity);
}

function randomVector(random: () => number, dims: number, spread = 0.6): Float32Array {
  return Float32Array.from({ length: dims }, () => (random() * 2 - 1) * spread);
}

describe('int16 rows (fixed-scale codes) and their distance kernel', () => {
  test('a stored component is within half a step of the value given, and storing it again gives the same code', () => {
    const random = seededRandom(1);
    const arena = new Int16RowArena(128, 4);
    const vector = randomVector(random, 128, INT16_ROW_MAX);
    arena.setRow(2, vector);
    const back = new Float32Array(128);
    arena.readRows(2, 1, back);
    for (let d = 0; d < 128; d++) assert.ok(Math.abs(back[d] - vector[d]) <= INT16_ROW_SCALE / 2, `component ${d}: ${vector[d]} stored as ${back[d]}`);
    const codes = arena.codes.slice(2 * arena.rowDims, 3 * arena.rowDims);
    arena.setRow(2, back);
    assert.deepEqual(arena.codes.slice(2 * arena.rowDims, 3 * arena.rowDims), codes);
    assert.equal(arena.value(2, 5), back[5]);
    // Half-way values round up, like Math.round, at both ends of the range.
    const halves = [-32766.5, -2.5, -0.5, 0.5, 2.5, 32766.5];
    const tied = new Int16RowArena(halves.length, 1);
    tied.setRow(
      0,
      Float32Array.from(halves, (k) => k * INT16_ROW_SCALE),
    );
    assert.deepEqual(
      [...tied.codes.subarray(0, halves.length)],
      halves.map((k) => Math.round(k) || 0),
    );
  });

  test('refuses a component past the range or not finite, naming it, and keeps the row as it was', () => {
    const arena = new Int16RowArena(16, 4);
    const good = Float32Array.from({ length: 16 }, (_, d) => d / 20);
    arena.setRow(1, good);
    const before = arena.codes.slice();
    for (const bad of [INT16_ROW_MAX + INT16_ROW_SCALE, -2.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      const vector = Float32Array.from(good);
      vector[11] = bad;
      assert.throws(() => arena.setRow(1, vector), { name: 'RangeError', message: new RegExp(`^vector element 11 is ${bad}`) });
    }
    assert.deepEqual(arena.codes, before);
    const edge = Float32Array.from(good);
    edge[0] = INT16_ROW_MAX;
    edge[1] = -INT16_ROW_MAX;
    arena.setRow(3, edge);
    assert.equal(arena.value(3, 0), INT16_ROW_MAX);
    assert.equal(arena.value(3, 1), -INT16_ROW_MAX);
  });

  for (const dims of [128, 12]) {
    test(`gather keeps, in order, every row within the limit and none past it by more than the query's rounding (${dims} dims)`, () => {
      const random = seededRandom(dims);
      const rows = 600;
      const arena = new Int16RowArena(dims, 8);
      arena.ensureRowCapacity(rows);
      for (let row = 0; row < rows; row++) arena.setRow(row, randomVector(random, dims));
      const query = randomVector(random, dims);
      arena.setQuery(query);
      const exact = Array.from({ length: rows }, (_, row) => storedDistance(arena, row, query));
      // The kernel's distance: to the query rounded to the rows' grid.
      const queryCodes = Array.from(query, (x) => Math.round(x / INT16_ROW_SCALE));
      const miss = Math.sqrt(query.reduce((sum, x, d) => sum + (x - queryCodes[d] * INT16_ROW_SCALE) ** 2, 0));
      const toRounded = (row: number) => queryCodes.reduce((sum, q, d) => sum + ((arena.codes[row * arena.rowDims + d] - q) * INT16_ROW_SCALE) ** 2, 0);
      const picked = Array.from({ length: 300 }, (_, i) => (i * 7) % rows);
      const sorted = picked.map((row) => exact[row]).sort((a, b) => a - b);
      for (const limit of [sorted[0] / 2, sorted[40], sorted[299] * 2, Infinity]) {
        arena.list.set(picked);
        const m = arena.gather(picked.length, limit);
        const kept = Array.from(arena.list.subarray(0, m));
        assert.deepEqual(
          kept,
          picked.filter((row) => kept.includes(row)),
          `limit ${limit}: kept rows out of list order`,
        );
        for (const row of picked) if (exact[row] <= limit) assert.ok(kept.includes(row), `limit ${limit}: row ${row} (distance ${exact[row]}) dropped`);
        const reach = (Math.sqrt(limit) + miss) ** 2 * (1 + 1e-4) + 1e-8;
        for (let i = 0; i < m; i++) {
          assert.ok(exact[kept[i]] <= reach, `limit ${limit}: row ${kept[i]} (distance ${exact[kept[i]]}) kept`);
          const want = toRounded(kept[i]);
          assert.ok(Math.abs(arena.distances[i] - want) <= 1e-5 * want + 1e-9, `row ${kept[i]}: ${arena.distances[i]} vs ${want}`);
        }
      }
    });
  }

  test('the exact distance a gather is re-checked with is over the stored values', () => {
    const arena = new Int16RowArena(4, 2);
    arena.setRow(0, Float32Array.of(0.1, -0.2, 0.3, 1.9));
    const stored = [0, 1, 2, 3].map((d) => arena.value(0, d));
    const query = Float32Array.of(0.05, 0.05, -0.05, 0);
    const want = stored.reduce((sum, v, d) => sum + (v - query[d]) ** 2, 0);
    assert.equal(storedDistance(arena, 0, query), want);
  });

  test('copyRows, permuteRows and growing move and keep rows; gather refuses too many rows', () => {
    const random = seededRandom(4);
    const arena = new Int16RowArena(32, 16);
    const written = Array.from({ length: 16 }, () => randomVector(random, 32));
    written.forEach((v, row) => arena.setRow(row, v));
    const snapshot = (row: number) => Array.from(arena.codes.subarray(row * 32, (row + 1) * 32));
    const rowsBefore = written.map((_, row) => snapshot(row));
    arena.copyRows(2, 5, 9);
    const expected = [...rowsBefore];
    expected.copyWithin(2, 5, 9);
    for (let row = 0; row < 16; row++) assert.deepEqual(snapshot(row), expected[row], `row ${row} after copyRows`);
    const order = Int32Array.from({ length: 16 }, (_, i) => (i * 5) % 16);
    arena.permuteRows(order, 16);
    for (let pos = 0; pos < 16; pos++) assert.deepEqual(snapshot(pos), expected[order[pos]], `position ${pos} after permuteRows`);
    // In place, cycle by cycle: any permutation (fixed points, long and short cycles).
    const before = Array.from({ length: 16 }, (_, row) => snapshot(row));
    const shuffled = Int32Array.from({ length: 16 }, (_, i) => i);
    for (let i = 15; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
    }
    arena.permuteRows(shuffled, 16);
    for (let pos = 0; pos < 16; pos++) assert.deepEqual(snapshot(pos), before[shuffled[pos]], `position ${pos} after a random permutation`);
    const kept = snapshot(7);
    arena.ensureRowCapacity(100_000);
    assert.ok(arena.rowCapacity >= 100_000);
    assert.deepEqual(snapshot(7), kept);
    assert.ok(
      arena.codes.subarray(99_999 * 32, 100_000 * 32).every((c) => c === 0),
      'fresh rows read as zeros',
    );
    assert.throws(() => arena.gather(INT16_GATHER_ROWS + 1, 1), RangeError);
  });
});
