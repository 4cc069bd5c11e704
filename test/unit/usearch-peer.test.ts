import assert from 'node:assert/strict';
import { test } from 'node:test';
import { measureUsearch, USEARCH_EXPANSION_SEARCH } from '../../bench/search/usearch-peer.js';

test('usearch peer: every setting answers each query with its own row first, batched and one at a time', async () => {
  const dims = 8;
  const faces = 300;
  const vectors = new Float32Array(faces * dims);
  let seed = 7;
  for (let i = 0; i < vectors.length; i++) vectors[i] = ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
  const picked = [0, 17, 123, 299];
  const queries = new Float32Array(picked.length * dims);
  picked.forEach((row, q) => queries.set(vectors.subarray(row * dims, (row + 1) * dims), q * dims));
  const run = await measureUsearch(vectors, queries, dims, 5);
  assert.ok(typeof run !== 'string', `usearch loads: ${String(run)}`);
  assert.deepEqual(
    Object.keys(run.peers),
    USEARCH_EXPANSION_SEARCH.map((ef) => `usearch ef=${ef}`),
  );
  for (const [name, r] of Object.entries(run.peers)) {
    assert.deepEqual(
      r.neighbors.map((list) => list[0]),
      picked,
      `${name} batched`,
    );
    assert.deepEqual(
      r.single_neighbors.map((list) => list[0]),
      picked,
      `${name} one at a time`,
    );
    assert.ok(r.neighbors.every((list) => list.length === 5));
    assert.equal(r.batched_queries, picked.length);
    assert.ok(r.batched_qps > 0 && r.single_qps > 0 && r.build_s > 0 && r.memory_bytes > 0);
  }
  assert.match(run.note, /usearch 2\.\d+\.\d+ \(npm, in process\)/);
});
