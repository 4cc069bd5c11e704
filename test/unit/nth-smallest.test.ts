/** nthSmallest (libs/index/topk/select.ts) agrees with a sort. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nthSmallest } from '../../libs/index/topk/index.js';
import { seededRandom } from '../helpers/random.js';

test('nthSmallest: the value a sort puts at rank nth, for ties, sorted and reversed input', () => {
  const random = seededRandom(3);
  for (const count of [1, 2, 7, 100, 1000]) {
    for (const shape of ['random', 'ties', 'sorted', 'reversed']) {
      const values = Float64Array.from({ length: count }, (_, i) =>
        shape === 'random' ? random() : shape === 'ties' ? Math.floor(random() * 4) : shape === 'sorted' ? i : count - i,
      );
      const sorted = [...values].sort((a, b) => a - b);
      for (const nth of [0, count >> 1, count - 1]) assert.equal(nthSmallest(values.slice(), count, nth), sorted[nth], `${shape} ${count} nth ${nth}`);
    }
  }
  assert.throws(() => nthSmallest(new Float64Array(3), 3, 3), RangeError);
});
