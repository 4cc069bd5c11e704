import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KdPartition } from '../../libs/index/ann/kd-partition.js';
import { IvfQuantizer } from '../../libs/index/ann/ivf.js';
import { benchmarkData } from '../../libs/synthetic/face-model.js';
import { FaceIndex } from '../../libs/index/face-index/index.js';
import { squaredDistance } from '../../libs/index/exact-distance/index.js';

const dims = 128;

describe('KdPartition (a KD-tree over principal axes as the lists)', () => {
  const rows = 20_000;
  const data = benchmarkData({ faces: rows, identities: rows / 5, queries: 200, seed: 5 });
  const partition = KdPartition.train(data.vectors, rows, dims, { lists: 200 });

  test('lists are a power of two, balanced within a factor of two, and every row is in one', () => {
    assert.equal(partition.lists, 128);
    const lists = new Int32Array(rows);
    partition.assign(data.vectors, 0, rows, lists);
    const sizes = new Int32Array(partition.lists);
    for (const l of lists) sizes[l]++;
    const mean = rows / partition.lists;
    for (let l = 0; l < partition.lists; l++) assert.ok(sizes[l] > mean / 2 && sizes[l] < mean * 2, `list ${l} holds ${sizes[l]} rows (mean ${mean})`);
  });

  test("probe: a query's own leaf first (bound 0), lists in list order, each once; nearestFirst by bound", () => {
    partition.stage(data.queries);
    const own = new Int32Array(200);
    const out = new Int32Array(partition.lists);
    for (let q = 0; q < 50; q++) {
      partition.assign(data.queries, q, q + 1, own);
      const n = partition.probe(q, 20, out);
      assert.equal(n, 20);
      const probed = Array.from(out.subarray(0, n));
      assert.deepEqual(
        probed,
        [...probed].sort((a, b) => a - b),
        'list order',
      );
      assert.equal(new Set(probed).size, n, 'no list twice');
      assert.ok(probed.includes(own[q]), `query ${q}'s own leaf ${own[q]} is probed`);
      partition.nearestFirst(q, out, n, 1);
      assert.equal(out[0], own[q], 'its own leaf is the nearest (its box holds the projection)');
    }
    assert.equal(partition.probe(0, partition.lists + 5, out), partition.lists, 'probing more than every list gives every list');
  });

  test("at equal lists probed, recall@1 of the probed rows is in the k-means lists' range (measured, not fixed: both above 0.6 here)", () => {
    const recall = (p: { lists: number; assign: KdPartition['assign']; stage: KdPartition['stage']; probe: KdPartition['probe'] }) => {
      const lists = new Int32Array(rows);
      p.assign(data.vectors, 0, rows, lists);
      p.stage(data.queries);
      const out = new Int32Array(p.lists);
      let hits = 0;
      for (let q = 0; q < 200; q++) {
        let best = 0;
        let bestDistance = Infinity;
        for (let row = 0; row < rows; row++) {
          const d = squaredDistance(data.vectors, row * dims, data.queries, q * dims, dims);
          if (d < bestDistance) [best, bestDistance] = [row, d];
        }
        const n = p.probe(q, Math.ceil(p.lists / 16), out);
        if (Array.from(out.subarray(0, n)).includes(lists[best])) hits++;
      }
      return hits / 200;
    };
    const kd = recall(partition);
    const kmeans = recall(IvfQuantizer.train(data.vectors, rows, dims, { lists: 128 }));
    assert.ok(kd > 0.6 && kmeans > 0.6, `kd ${kd}, k-means ${kmeans}`);
  });

  test('a FaceIndex with the KD-tree partition answers approximate queries from its lists, and exact ones like the oracle', () => {
    const index = new FaceIndex({ approximate: { minRows: 1000, partition: 'kdtree' }, backgroundMaintenance: false });
    for (let row = 0; row < rows; row++) index.upsert(`f${row}`, data.vectors.subarray(row * dims, (row + 1) * dims));
    index.rebuild();
    assert.ok(index.stats().lists > 0);
    const exact = index.search(data.queries, 1);
    const approximate = index.search(data.queries, 1, undefined, { approximate: true, effort: 2 });
    let same = 0;
    for (let q = 0; q < exact.length; q++) if (exact[q][0].id === approximate[q][0].id) same++;
    assert.ok(same / exact.length >= 0.9, `recall@1 ${same / exact.length}`);
    const state = index.exportState();
    assert.equal(state.ivf, undefined, 'a KD-tree partition is not kept in snapshots');
  });
});
