// The scale bench's arithmetic: the growth exponent between two sizes, recall of one answer list against another, the effort row reported at the target.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { growthExponent } from '../../bench/scale/growth.js';
import { recallAt } from '../../bench/scale/recall.js';
import { approximateAtTarget, type ApproximateResult } from '../../bench/scale/result.js';

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

test('approximateAtTarget: the lowest effort tried that reaches the target, in whatever order they were tried; else the last tried', () => {
  const row = (effort: number, recall1: number) => ({ effort, recall1 }) as ApproximateResult;
  // Tried downwards from 1 until 0.25 missed.
  assert.equal(approximateAtTarget([row(1, 0.999), row(0.5, 0.995), row(0.35, 0.991), row(0.25, 0.98)], 0.99).effort, 0.35);
  // Tried upwards from 1 until 2 reached it.
  assert.equal(approximateAtTarget([row(1, 0.985), row(2, 0.993)], 0.99).effort, 2);
  assert.equal(approximateAtTarget([row(1, 0.9), row(2, 0.95), row(4, 0.97)], 0.99).effort, 4);
});
