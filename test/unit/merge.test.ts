import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeTopK } from '../../services/coordinator/merge.js';

test('merge takes the global top-k across shards, ties by id, duplicates once', () => {
  const merged = mergeTopK(
    [
      {
        shard: 0,
        matches: [
          { id: 'b', distance: 0.1 },
          { id: 'd', distance: 0.3 },
          { id: 'x', distance: 0.9 },
        ],
      },
      {
        shard: 1,
        matches: [
          { id: 'a', distance: 0.1 },
          { id: 'c', distance: 0.2 },
        ],
      },
      { shard: 2, matches: [] },
      {
        shard: 3,
        matches: [
          { id: 'b', distance: 0.1 },
          { id: 'e', distance: 0.3, meta: { path: 'e.jpg' } },
        ],
      },
    ],
    5,
  );
  assert.deepEqual(
    merged.map((m) => [m.id, m.distance, m.shard]),
    [
      ['a', 0.1, 1],
      ['b', 0.1, 0],
      ['c', 0.2, 1],
      ['d', 0.3, 0],
      ['e', 0.3, 3],
    ],
  );
  assert.deepEqual(merged[4].meta, { path: 'e.jpg' });
});

test('merge with fewer matches than k, and with no shards', () => {
  assert.equal(mergeTopK([{ shard: 0, matches: [{ id: 'a', distance: 1 }] }], 10).length, 1);
  assert.deepEqual(mergeTopK([], 3), []);
});
