import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bruteForceSearch, type Neighbor } from '../../libs/index/face-index/index.js';
import { KDTree } from '../../libs/index/kdtree/index.js';
import { TopK } from '../../libs/index/topk/index.js';
import { gaussian, seededRandom } from '../helpers/random.js';

/** mulberry32: small seeded PRNG so failures reproduce. */

function uniformVectors(random: () => number, rows: number, dims: number): Float32Array {
  const vectors = new Float32Array(rows * dims);
  for (let i = 0; i < vectors.length; i++) vectors[i] = random() * 2 - 1;
  return vectors;
}

/** Face-like data: identity centres plus per-photo noise; returns rows then queries. */
function clusteredVectors(random: () => number, rows: number, queries: number, dims: number): { rows: Float32Array; queries: Float32Array } {
  const identities = Math.max(1, Math.floor(rows / 8));
  const centres = new Float32Array(identities * dims);
  for (let i = 0; i < centres.length; i++) centres[i] = gaussian(random) * 0.06;
  const photo = (out: Float32Array, row: number): void => {
    const identity = Math.floor(random() * identities);
    for (let a = 0; a < dims; a++) out[row * dims + a] = centres[identity * dims + a] + gaussian(random) * 0.025;
  };
  const data = new Float32Array(rows * dims);
  for (let r = 0; r < rows; r++) photo(data, r);
  const probes = new Float32Array(queries * dims);
  for (let q = 0; q < queries; q++) photo(probes, q);
  return { rows: data, queries: probes };
}

function idsFor(rows: number): string[] {
  // Zero-padded so id order differs from row order only where we want it to.
  return Array.from({ length: rows }, (_, row) => `face-${String((row * 7919) % 100003).padStart(6, '0')}`);
}

/** Runs the tree for every query and returns neighbours the way the oracle does. */
function treeSearch(tree: KDTree, vectors: Float32Array, ids: readonly string[], queries: Float32Array, k: number, deleted?: Uint8Array): Neighbor[][] {
  const dims = tree.dims;
  const topk = new TopK(4);
  const results: Neighbor[][] = [];
  for (let q = 0; q * dims < queries.length; q++) {
    topk.reset(k, ids);
    tree.search(vectors, queries, q * dims, topk, deleted);
    topk.sort();
    const found: Neighbor[] = [];
    for (let i = 0; i < topk.length; i++) found.push({ id: ids[topk.rowAt(i)], distance: Math.sqrt(topk.distanceAt(i)) });
    results.push(found);
  }
  return results;
}

function liveRows(vectors: Float32Array, ids: readonly string[], dims: number, deleted: Uint8Array): { vectors: Float32Array; ids: string[] } {
  const keep: number[] = [];
  for (let row = 0; row < ids.length; row++) if (deleted[row] === 0) keep.push(row);
  const out = new Float32Array(keep.length * dims);
  keep.forEach((row, i) => out.set(vectors.subarray(row * dims, (row + 1) * dims), i * dims));
  return { vectors: out, ids: keep.map((row) => ids[row]) };
}

describe('KDTree exact k-NN equals brute force', () => {
  for (const { name, dims, rows, leafSize } of [
    { name: 'uniform 3-d', dims: 3, rows: 3000, leafSize: 8 },
    { name: 'uniform 13-d (kernel tail)', dims: 13, rows: 2000, leafSize: 16 },
    { name: 'uniform 128-d', dims: 128, rows: 1500, leafSize: 32 },
  ]) {
    test(name, () => {
      const random = seededRandom(dims * 1000 + rows);
      const vectors = uniformVectors(random, rows, dims);
      const queries = uniformVectors(random, 12, dims);
      const ids = idsFor(rows);
      const tree = new KDTree(vectors, rows, dims, { leafSize });
      for (const k of [1, 5, 50]) {
        assert.deepEqual(treeSearch(tree, vectors, ids, queries, k), bruteForceSearch(vectors, ids, queries, k, dims), `k=${k}`);
      }
    });
  }

  test('clustered 128-d faces (identity centres + noise)', () => {
    const dims = 128;
    const random = seededRandom(42);
    const data = clusteredVectors(random, 4000, 16, dims);
    const ids = idsFor(4000);
    const tree = new KDTree(data.rows, 4000, dims, { leafSize: 16 });
    for (const k of [1, 5, 50]) {
      assert.deepEqual(treeSearch(tree, data.rows, ids, data.queries, k), bruteForceSearch(data.rows, ids, data.queries, k, dims), `k=${k}`);
    }
  });

  test('clustered 8-d, where the tree actually prunes', () => {
    const dims = 8;
    const random = seededRandom(7);
    const data = clusteredVectors(random, 5000, 20, dims);
    const ids = idsFor(5000);
    const tree = new KDTree(data.rows, 5000, dims, { leafSize: 4 });
    for (const k of [1, 5, 50]) {
      assert.deepEqual(treeSearch(tree, data.rows, ids, data.queries, k), bruteForceSearch(data.rows, ids, data.queries, k, dims), `k=${k}`);
    }
  });

  test('duplicates and coordinate ties: equal distances are ordered by id', () => {
    const dims = 4;
    const rows = 1200;
    const random = seededRandom(3);
    // Coordinates from {0, 1, 2}: many equal coordinates (median ties) and equal distances.
    const vectors = new Float32Array(rows * dims);
    for (let i = 0; i < vectors.length; i++) vectors[i] = Math.floor(random() * 3);
    const ids = Array.from({ length: rows }, (_, row) => `dup-${(rows - row).toString(36)}`);
    // Queries sitting exactly on data points (distance 0 ties) and between them.
    const queries = new Float32Array(10 * dims);
    for (let q = 0; q < 5; q++) queries.set(vectors.subarray(q * 97 * dims, (q * 97 + 1) * dims), q * dims);
    for (let i = 5 * dims; i < queries.length; i++) queries[i] = Math.floor(random() * 5) / 2;
    const tree = new KDTree(vectors, rows, dims, { leafSize: 4 });
    for (const k of [1, 5, 50]) {
      const got = treeSearch(tree, vectors, ids, queries, k);
      assert.deepEqual(got, bruteForceSearch(vectors, ids, queries, k, dims), `k=${k}`);
      for (const list of got) {
        for (let i = 1; i < list.length; i++) {
          const [a, b] = [list[i - 1], list[i]];
          assert.ok(a.distance < b.distance || (a.distance === b.distance && a.id < b.id), 'sorted by (distance, id)');
        }
      }
    }
    // All rows identical: the answer is purely the id order.
    const same = new Float32Array(100 * dims).fill(0.5);
    const sameIds = Array.from({ length: 100 }, (_, i) => `id-${String(99 - i).padStart(2, '0')}`);
    const sameTree = new KDTree(same, 100, dims, { leafSize: 2 });
    const result = treeSearch(sameTree, same, sameIds, new Float32Array(dims).fill(0.5), 3);
    assert.deepEqual(result, [
      [
        { id: 'id-00', distance: 0 },
        { id: 'id-01', distance: 0 },
        { id: 'id-02', distance: 0 },
      ],
    ]);
  });

  test('k larger than the rows returns every row; an empty tree returns nothing', () => {
    const dims = 6;
    const random = seededRandom(11);
    const vectors = uniformVectors(random, 20, dims);
    const ids = idsFor(20);
    const queries = uniformVectors(random, 3, dims);
    const tree = new KDTree(vectors, 20, dims, { leafSize: 4 });
    const got = treeSearch(tree, vectors, ids, queries, 100);
    assert.deepEqual(got, bruteForceSearch(vectors, ids, queries, 100, dims));
    assert.equal(got[0].length, 20);

    const empty = new KDTree(new Float32Array(0), 0, dims);
    assert.deepEqual(treeSearch(empty, new Float32Array(0), [], queries, 5), [[], [], []]);
  });

  test('deleted rows are skipped', () => {
    const dims = 16;
    const rows = 2000;
    const random = seededRandom(5);
    const vectors = uniformVectors(random, rows, dims);
    const ids = idsFor(rows);
    const queries = uniformVectors(random, 10, dims);
    const deleted = new Uint8Array(rows);
    for (let row = 0; row < rows; row++) deleted[row] = random() < 0.3 ? 1 : 0;
    // Also delete each query's true nearest neighbour so the deletion matters.
    for (const [nearest] of bruteForceSearch(vectors, ids, queries, 1, dims)) deleted[ids.indexOf(nearest.id)] = 1;
    const tree = new KDTree(vectors, rows, dims, { leafSize: 8 });
    const live = liveRows(vectors, ids, dims, deleted);
    for (const k of [1, 5, 50]) {
      assert.deepEqual(treeSearch(tree, vectors, ids, queries, k, deleted), bruteForceSearch(live.vectors, live.ids, queries, k, dims), `k=${k}`);
    }
  });

  test('a tree over the first rows of a larger buffer ignores the rest', () => {
    const dims = 5;
    const random = seededRandom(9);
    const vectors = uniformVectors(random, 500, dims);
    const ids = idsFor(500);
    const queries = uniformVectors(random, 4, dims);
    const tree = new KDTree(vectors, 300, dims, { leafSize: 8 });
    assert.equal(tree.order.length, 300);
    assert.deepEqual(treeSearch(tree, vectors, ids, queries, 10), bruteForceSearch(vectors.subarray(0, 300 * dims), ids.slice(0, 300), queries, 10, dims));
  });

  test('rejects bad parameters', () => {
    assert.throws(() => new KDTree(new Float32Array(10), 3, 4), RangeError);
    assert.throws(() => new KDTree(new Float32Array(8), 2, 4, { leafSize: 1 }), RangeError);
    assert.throws(() => new KDTree(new Float32Array(8), 2, 0), RangeError);
  });
});

describe('TopK', () => {
  test('keeps the k smallest by (distance, id), whatever the push order', () => {
    const random = seededRandom(21);
    for (let round = 0; round < 50; round++) {
      const n = 1 + Math.floor(random() * 200);
      const k = Math.floor(random() * 30);
      const ids = Array.from({ length: n }, () => Math.floor(random() * 1e6).toString(36) + '-' + round);
      // Few distinct distances, so ties are common.
      const distances = Array.from({ length: n }, () => Math.floor(random() * 10) / 4);
      const topk = new TopK(2);
      topk.reset(k, ids);
      for (let row = 0; row < n; row++) topk.push(row, distances[row]);
      topk.sort();
      const got = Array.from({ length: topk.length }, (_, i) => [topk.rowAt(i), topk.distanceAt(i)]);
      const want = Array.from({ length: n }, (_, row) => row)
        .sort((a, b) => distances[a] - distances[b] || (ids[a] < ids[b] ? -1 : ids[a] > ids[b] ? 1 : 0))
        .slice(0, k)
        .map((row) => [row, distances[row]]);
      assert.deepEqual(got, want);
    }
  });

  test('bound rejects far candidates and worst reports it until k are kept', () => {
    const topk = new TopK(4);
    topk.reset(2, ['a', 'b', 'c', 'd'], 1);
    assert.equal(topk.worst, 1);
    topk.push(0, 2);
    assert.equal(topk.length, 0);
    topk.push(1, 0.5);
    topk.push(2, 1);
    assert.equal(topk.worst, 1);
    topk.push(0, 1); // ties with c at 1, and a < c
    topk.sort();
    assert.deepEqual([topk.rowAt(0), topk.rowAt(1)], [1, 0]);
    assert.throws(() => topk.reset(-1, []), RangeError);
  });
});
