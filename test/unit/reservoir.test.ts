import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Reservoir } from '../../libs/index/topk/reservoir.js';
import { seededRandom } from '../../libs/index/seeded-random/index.js';

/** Feeds (row, value) pairs in batches as the kernel would (only values <= limit), then finishes. */
function run(reservoir: Reservoir, n: number, values: number[], skip: Uint8Array, batch = 100): Array<[number, number]> {
  reservoir.reset(n);
  const rowsOut = new Int32Array(batch);
  const valuesOut = new Int32Array(batch);
  for (let from = 0; from < values.length; from += batch) {
    let m = 0;
    for (let row = from; row < Math.min(values.length, from + batch); row++) {
      if (values[row] > reservoir.limit) continue;
      rowsOut[m] = row;
      valuesOut[m++] = values[row];
    }
    reservoir.addAll(rowsOut, valuesOut, m, skip);
  }
  reservoir.finish();
  return Array.from({ length: reservoir.length }, (_, i) => [reservoir.rowAt(i), reservoir.valueAt(i)]);
}

describe('Reservoir (shortlist of small-integer values)', () => {
  test('keeps the n smallest values, sorted, over many shrinks; ties at the cut-off by arrival', () => {
    const random = seededRandom(11);
    const reservoir = new Reservoir(4, 100);
    for (const [count, n, range] of [
      [5000, 64, 300],
      [5000, 256, 4000],
      [300, 50, 5],
      [40, 64, 1000],
      [2000, 1, 65535],
    ]) {
      const values = Array.from({ length: count }, () => Math.floor(random() * range));
      const skip = new Uint8Array(count);
      for (let row = 0; row < count; row += 7) skip[row] = 1;
      const kept = run(reservoir, n, values, skip);
      const eligible = values.map((value, row) => [row, value] as [number, number]).filter(([row]) => skip[row] === 0);
      const expected = [...eligible].sort((a, b) => a[1] - b[1] || a[0] - b[0]).slice(0, n);
      assert.equal(kept.length, expected.length, `count ${count}, n ${n}`);
      assert.deepEqual(
        kept.map(([, value]) => value),
        expected.map(([, value]) => value),
        'the n smallest values, ascending',
      );
      for (const [row, value] of kept) {
        assert.equal(skip[row], 0, 'a skipped row kept');
        assert.equal(values[row], value, "a row kept with another row's value");
      }
      assert.equal(new Set(kept.map(([row]) => row)).size, kept.length, 'a row kept twice');
      // Rows strictly below the cut-off value are all kept.
      const cut = expected.at(-1)![1];
      const below = eligible
        .filter(([, value]) => value < cut)
        .map(([row]) => row)
        .sort((a, b) => a - b);
      assert.deepEqual(
        kept
          .filter(([, value]) => value < cut)
          .map(([row]) => row)
          .sort((a, b) => a - b),
        below,
      );
    }
  });

  test('the limit tightens as candidates arrive, and refuses a batch over its size', () => {
    const reservoir = new Reservoir(8, 16);
    reservoir.reset(8);
    assert.equal(reservoir.limit, Infinity);
    const rows = Int32Array.from({ length: 16 }, (_, i) => i);
    const values = Int32Array.from({ length: 16 }, (_, i) => 100 - i);
    reservoir.addAll(rows, values, 16, new Uint8Array(16));
    assert.equal(reservoir.limit, 92 - 1, 'after 2n candidates the 8 best are 85..92');
    assert.throws(() => reservoir.addAll(new Int32Array(17), new Int32Array(17), 17, new Uint8Array(17)), RangeError);
    assert.throws(() => reservoir.reset(0), RangeError);
  });
});
