// The scale bench's arithmetic: the growth exponent between two sizes and recall of one answer list against another.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { growthExponent } from '../../bench/scale/growth.js';
import { recallAt } from '../../bench/scale/recall.js';

test('growthExponent: 1 for a cost that grows with n, 0.5 for √n, 0 for a flat one, negative for one that falls', () => {
  assert.equal(growthExponent(100_000, 2, 1_000_000, 20), 1);
  assert.ok(Math.abs(growthExponent(100_000, 3, 10_000_000, 30) - 0.5) < 1e-12);
  assert.equal(growthExponent(1_000_000, 7, 10_000_000, 7), 0);
  assert.ok(Math.abs(growthExponent(1_000, 10, 100_000, 1) + 0.5) < 1e-12);
});

test('growthExponent: NaN when a cost is missing, zero, or the sizes are equal', () => {
  assert.ok(Number.isNaN(growthExponent(1, undefined, 10, 5)));
  assert.ok(Number.isNaN(growthExponent(1, 5, 10, 0)));
  assert.ok(Number.isNaN(growthExponent(10, 5, 10, 6)));
});

test('recallAt: the share of the truth top k found, over the queries with a truth; an unanswered query counts 0', () => {
  const truth = [['a', 'b'], ['c', 'd'], ['e', 'f'], undefined];
  const got = [['a', 'x'], ['d', 'c'], undefined, ['z']];
  assert.equal(recallAt(got, truth, 1), 1 / 3);
  assert.equal(recallAt(got, truth, 2), (0.5 + 1 + 0) / 3);
  assert.equal(
    recallAt(got, truth, 1, (q) => q === 0),
    1,
  );
  assert.ok(Number.isNaN(recallAt(got, [], 1)));
});
