import assert from 'node:assert/strict';
import { test } from 'node:test';
import { perShardPlan, planLegs } from '../../services/coordinator/leg-plan.js';

const ready = (counts: Record<number, number>) => new Map(Object.entries(counts).map(([s, n]) => [Number(s), n]));

test('no group endpoints: one leg per shard', () => {
  assert.deepEqual(planLegs(4, ready({ 0: 1, 1: 1, 2: 1, 3: 1 }), []), [[0], [1], [2], [3]]);
  assert.deepEqual(perShardPlan(3), [[0], [1], [2]]);
});

test('processes serving 0,2 and 1,3 (one replica each): one leg per process', () => {
  assert.deepEqual(
    planLegs(4, ready({ 0: 1, 1: 1, 2: 1, 3: 1 }), [
      [0, 2],
      [3, 1],
    ]),
    [
      [0, 2],
      [1, 3],
    ],
  );
  // Two replicas of each packing: still one leg per group (the queue group picks the process).
  assert.deepEqual(
    planLegs(4, ready({ 0: 2, 1: 2, 2: 2, 3: 2 }), [
      [0, 2],
      [1, 3],
      [2, 0],
      [1, 3],
    ]),
    [
      [0, 2],
      [1, 3],
    ],
  );
  // A group next to a shard process of its own.
  assert.deepEqual(planLegs(3, ready({ 0: 1, 1: 1, 2: 1 }), [[0, 2]]), [[0, 2], [1]]);
});

test('a replica outside the group keeps its shards on their own legs, so it is not left idle', () => {
  // A second replica of shard 0 in a process of its own: group 0,2 is not used.
  assert.deepEqual(
    planLegs(4, ready({ 0: 2, 1: 1, 2: 1, 3: 1 }), [
      [0, 2],
      [1, 3],
    ]),
    [[0], [1, 3], [2]],
  );
  // A group whose process has not all its replicas ready yet (counts differ) is not used.
  assert.deepEqual(planLegs(2, ready({ 0: 1 }), [[0, 1]]), [[0], [1]]);
  // Overlapping packings: neither covers every replica of shard 1.
  assert.deepEqual(
    planLegs(3, ready({ 0: 1, 1: 2, 2: 1 }), [
      [0, 1],
      [1, 2],
    ]),
    [[0], [1], [2]],
  );
});

test('malformed group metadata is ignored: a shard outside the cluster, one shard, a shard twice, not a number', () => {
  const counts = ready({ 0: 1, 1: 1, 2: 1 });
  for (const bad of [[0, 5], [1], [2, 2], [Number.NaN, 1], []]) assert.deepEqual(planLegs(3, counts, [bad]), [[0], [1], [2]], JSON.stringify(bad));
});
