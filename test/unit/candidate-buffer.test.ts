/**
 * CandidateBuffer (libs/topk/candidate-buffer.ts) keeps exactly what TopK keeps (the k
 * smallest by value, then row), whatever the stream; nthSmallest agrees with a sort.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CandidateBuffer, TopK, nthSmallest } from '../../libs/topk/index.js';
import { seededRandom } from '../helpers/random.js';

test('nthSmallest: the value a sort puts at rank nth, for ties, sorted and reversed input', () => {
  const random = seededRandom(3);
  for (const count of [1, 2, 7, 100, 1000]) {
    for (const shape of ['random', 'ties', 'sorted', 'reversed']) {
      const values = Float64Array.from({ length: count }, (_, i) => (shape === 'random' ? random() : shape === 'ties' ? Math.floor(random() * 4) : shape === 'sorted' ? i : count - i));
      const sorted = [...values].sort((a, b) => a - b);
      for (const nth of [0, count >> 1, count - 1]) assert.equal(nthSmallest(values.slice(), count, nth), sorted[nth], `${shape} ${count} nth ${nth}`);
    }
  }
  assert.throws(() => nthSmallest(new Float64Array(3), 3, 3), RangeError);
});

test('CandidateBuffer keeps the k smallest by (value, row), like TopK, with a bound, many ties and many cuts', () => {
  const random = seededRandom(11);
  for (let trial = 0; trial < 200; trial++) {
    const k = 1 + Math.floor(random() * 40);
    const n = Math.floor(random() * 2000);
    const levels = trial % 3 === 0 ? 5 : 1e9; // every third stream: almost all ties
    const bound = trial % 4 === 0 ? levels * 0.5 : Infinity;
    const buffer = new CandidateBuffer();
    const top = new TopK();
    buffer.reset(k, bound);
    top.reset(k, undefined, bound);
    for (let i = 0; i < n; i++) {
      const row = Math.floor(random() * 5000);
      const value = Math.floor(random() * levels);
      buffer.push(row, value);
      top.push(row, value);
      // The limit never drops below what TopK still accepts.
      assert.ok(buffer.limit >= top.worst, `trial ${trial}: limit ${buffer.limit} < ${top.worst}`);
    }
    buffer.finish();
    top.sort();
    assert.equal(buffer.length, top.length, `trial ${trial}`);
    for (let i = 0; i < top.length; i++) {
      assert.equal(buffer.valueAt(i), top.distanceAt(i), `trial ${trial} #${i} value`);
      assert.equal(buffer.rowAt(i), top.rowAt(i), `trial ${trial} #${i} row`);
    }
  }
  assert.throws(() => new CandidateBuffer().reset(0), RangeError);
});
