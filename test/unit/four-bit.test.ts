import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FOUR_BIT_MAX_ENTRY, FOUR_BIT_MAX_SUM, FOUR_BIT_SCAN_ROWS, FourBitCodeArena } from '../../libs/index/simd-kernel/four-bit.js';
import { seededRandom } from '../../libs/index/seeded-random/index.js';

/** The table sum of `row` computed from the arena's codes, one axis at a time, saturated as the kernel does. */
function referenceSum(arena: FourBitCodeArena, row: number): number {
  let sum = 0;
  for (let axis = 0; axis < arena.axes; axis++) sum += arena.lut[axis * 16 + arena.code(row, axis)];
  return Math.min(sum, FOUR_BIT_MAX_SUM);
}

function fill(arena: FourBitCodeArena, rows: number, random: () => number, maxEntry = FOUR_BIT_MAX_ENTRY): number[][] {
  const written: number[][] = [];
  for (let row = 0; row < rows; row++) {
    const codes = Array.from({ length: arena.axes }, () => Math.floor(random() * 16));
    arena.setRow(row, codes);
    written.push(codes);
  }
  for (let i = 0; i < arena.lut.length; i++) arena.lut[i] = Math.floor(random() * (maxEntry + 1));
  return written;
}

describe('4-bit fast-scan kernel', () => {
  test('codes read back as written', () => {
    const arena = new FourBitCodeArena(32, 40);
    const written = fill(arena, 40, seededRandom(3));
    for (let row = 0; row < 40; row++) for (let axis = 0; axis < 32; axis++) assert.equal(arena.code(row, axis), written[row][axis]);
  });

  test('writePackedRows loads rows 0..n-1 as writePacked would, one row at a time; rows past them untouched', () => {
    for (const [axes, rows] of [
      [32, 37],
      [2, 16],
      [48, 5],
    ]) {
      const random = seededRandom(axes + rows);
      const bulk = new FourBitCodeArena(axes, 64);
      const single = new FourBitCodeArena(axes, 64);
      const past = fill(bulk, 64, random).slice(rows);
      fill(single, 64, seededRandom(axes + rows));
      const source = Uint8Array.from({ length: (rows * axes) / 2 }, () => Math.floor(random() * 256));
      bulk.writePackedRows(source, rows);
      for (let row = 0; row < rows; row++) single.writePacked(row, source, (row * axes) / 2);
      for (let row = 0; row < 64; row++)
        for (let axis = 0; axis < axes; axis++) assert.equal(bulk.code(row, axis), single.code(row, axis), `${axes} axes, row ${row}, axis ${axis}`);
      past.forEach((codes, i) => codes.forEach((code, axis) => assert.equal(bulk.code(rows + i, axis), code, `row ${rows + i} kept`)));
    }
  });

  // Entries up to 127 saturate most sums past 2 axes; up to 7 keep 32 axes' sums exact (<= 224).
  for (const [axes, maxEntry] of [
    [2, FOUR_BIT_MAX_ENTRY],
    [32, 7],
    [32, FOUR_BIT_MAX_ENTRY],
    [48, 15],
    [64, 3],
  ]) {
    test(`scan finds exactly the rows whose saturated table sum is within the limit (${axes} axes, entries <= ${maxEntry})`, () => {
      const random = seededRandom(axes + maxEntry);
      const rows = 1000;
      const arena = new FourBitCodeArena(axes, 8);
      arena.ensureRowCapacity(rows);
      fill(arena, rows, random, maxEntry);
      const sums = Array.from({ length: rows }, (_, row) => referenceSum(arena, row));
      const sorted = [...sums].sort((a, b) => a - b);
      // Ranges that start and end inside blocks, a whole-block one, an empty one.
      for (const [start, end] of [
        [0, rows],
        [5, 37],
        [16, 32],
        [3, 4],
        [997, 1000],
        [40, 40],
      ]) {
        for (const limit of [sorted[0] - 1, sorted[10], sorted[500], FOUR_BIT_MAX_SUM - 1, FOUR_BIT_MAX_SUM, 65535]) {
          const n = arena.scan(start, end, limit);
          const found = new Map<number, number>();
          for (let i = 0; i < n; i++) found.set(arena.out[i], arena.values[i]);
          assert.equal(found.size, n, 'a row listed twice');
          for (let row = start; row < end; row++) {
            if (sums[row] <= limit) assert.equal(found.get(row), sums[row], `row ${row} (sum ${sums[row]}, limit ${limit}, [${start}, ${end}))`);
            else assert.equal(found.has(row), false, `row ${row} over the limit listed`);
          }
          for (const row of found.keys()) assert.ok(row >= start && row < end, `row ${row} outside [${start}, ${end})`);
        }
      }
    });
  }

  test('sums saturate at FOUR_BIT_MAX_SUM, never wrap, and a pair of largest entries adds up exactly', () => {
    const arena = new FourBitCodeArena(128, 16);
    fill(arena, 16, seededRandom(9));
    arena.lut.fill(FOUR_BIT_MAX_ENTRY);
    let n = arena.scan(0, 16, 65535);
    assert.equal(n, 16);
    for (let i = 0; i < n; i++) assert.equal(arena.values[i], FOUR_BIT_MAX_SUM);
    assert.equal(arena.scan(0, 16, FOUR_BIT_MAX_SUM - 1), 0, 'a saturated row is over any limit below the maximum');
    const pair = new FourBitCodeArena(2, 16);
    fill(pair, 16, seededRandom(10));
    pair.lut.fill(FOUR_BIT_MAX_ENTRY);
    n = pair.scan(0, 16, 2 * FOUR_BIT_MAX_ENTRY);
    assert.equal(n, 16);
    for (let i = 0; i < n; i++) assert.equal(pair.values[i], 2 * FOUR_BIT_MAX_ENTRY);
  });

  test('copyRows and permuteRows move codes like copyWithin and a permutation', () => {
    const random = seededRandom(5);
    const arena = new FourBitCodeArena(32, 64);
    const written = fill(arena, 64, random);
    arena.copyRows(3, 10, 30); // overlapping, to < from
    const afterCopy = [...written];
    afterCopy.copyWithin(3, 10, 30);
    arena.copyRows(20, 5, 25); // overlapping, to > from
    afterCopy.copyWithin(20, 5, 25);
    for (let row = 0; row < 64; row++) for (let axis = 0; axis < 32; axis++) assert.equal(arena.code(row, axis), afterCopy[row][axis], `row ${row}`);
    const order = Int32Array.from({ length: 64 }, (_, i) => (i * 37) % 64);
    arena.permuteRows(order, 64);
    for (let pos = 0; pos < 64; pos++) for (let axis = 0; axis < 32; axis++) assert.equal(arena.code(pos, axis), afterCopy[order[pos]][axis]);
  });

  test('growing keeps codes and refuses bad shapes', () => {
    const arena = new FourBitCodeArena(16, 16);
    const written = fill(arena, 16, seededRandom(6));
    arena.ensureRowCapacity(200_000);
    assert.ok(arena.rowCapacity >= 200_000);
    for (let row = 0; row < 16; row++) assert.equal(arena.code(row, 7), written[row][7]);
    arena.lut.fill(1);
    for (let axis = 0; axis < 16; axis++) arena.lut[axis * 16] = 0;
    assert.equal(arena.scan(199_990, 200_000, 0), 10, 'fresh rows read as code 0 (table sum 0)');
    assert.equal(arena.scan(0, 16, 0), written.filter((codes) => codes.every((code) => code === 0)).length);
    assert.throws(() => new FourBitCodeArena(3), RangeError);
    assert.ok(FOUR_BIT_SCAN_ROWS >= 1024);
  });
});
