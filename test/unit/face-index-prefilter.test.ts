import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FaceIndex, bruteForceSearch, squaredDistance, storedVector, type Neighbor } from '../../libs/index/face-index/index.js';
import { Int8Filter, float32StoredRows, type StoredRows } from '../../libs/index/face-index/int8-filter.js';
import { Int16RowArena } from '../../libs/index/simd-kernel/int16.js';
import { SCAN_BLOCK_ROWS } from '../../libs/index/simd-kernel/int8.js';
import { benchmarkData } from '../../libs/synthetic/face-model.js';
import { gaussian, seededRandom } from '../helpers/random.js';
import { onGrid } from '../helpers/stored.js';

/**
 * The int8 lower-bound pre-filter (libs/index/face-index/int8-filter.ts) must never change an
 * answer: every search here is compared with the float64 brute-force oracle (ties by id),
 * with the filter pruning almost everything, pruning nothing, across writes, deletes,
 * relearning and snapshots, and on near-ties built so that a bound without its margins
 * would drop rows the oracle keeps.
 */
const dims = 128;

/** A plain Map searched by the oracle: what the index should answer. */
class Model {
  readonly faces = new Map<string, Float32Array>();
  search(queries: Float32Array, k: number, maxDistance?: number): Neighbor[][] {
    const ids = [...this.faces.keys()];
    const vectors = new Float32Array(ids.length * dims);
    ids.forEach((id, i) => vectors.set(this.faces.get(id)!, i * dims));
    return bruteForceSearch(storedVector(vectors), ids, queries, k, dims, maxDistance);
  }
}

function prefilterShare(index: FaceIndex, run: () => void): number {
  const before = index.stats();
  run();
  const after = index.stats();
  const scanned = after.prefilterScanned - before.prefilterScanned;
  assert.ok(scanned > 0, 'searches went through the pre-filter');
  return (after.prefilterCandidates - before.prefilterCandidates) / scanned;
}

describe('int8 pre-filter: exact answers', () => {
  test('face-like data: prunes almost every row, answers equal the oracle (exact and approximate)', () => {
    const faces = 30_000;
    const data = onGrid(benchmarkData({ faces, identities: faces / 5, queries: 40, seed: 31 }));
    const index = new FaceIndex({ backgroundMaintenance: false });
    for (let i = 0; i < faces; i++) index.upsert(data.ids[i], data.vectors.subarray(i * dims, (i + 1) * dims));
    index.rebuild();
    assert.equal(index.stats().prefilter, true);
    assert.ok(index.stats().lists > 0);
    for (const k of [1, 10, 100]) {
      const want = bruteForceSearch(data.vectors, data.ids, data.queries, k, dims);
      let got: Neighbor[][] = [];
      const share = prefilterShare(index, () => {
        got = [];
        for (let q = 0; q < 40; q++) got.push(index.search(data.queries.subarray(q * dims, (q + 1) * dims), k)[0]);
      });
      assert.deepEqual(got, want, `k=${k}`);
      assert.deepEqual(index.search(data.queries, k), want, `k=${k}, batched`);
      if (k <= 10) assert.ok(share < 0.03, `k=${k}: ${(share * 100).toFixed(2)}% of the rows reached the exact distance`);
    }
    // maxDistance through the filter.
    assert.deepEqual(index.search(data.queries, 20, 0.55), bruteForceSearch(data.vectors, data.ids, data.queries, 20, dims, 0.55));
    // Approximate answers without the shortlist equal the unfiltered approximate scan (same lists, same rows, exact distances).
    const plain = new FaceIndex({ prefilter: false, backgroundMaintenance: false });
    plain.importState(index.exportState());
    assert.equal(plain.stats().prefilter, false);
    const noShortlist = new FaceIndex({ shortlist: false, backgroundMaintenance: false });
    noShortlist.importState(index.exportState());
    for (const effort of [0.5, 1])
      assert.deepEqual(
        noShortlist.search(data.queries, 10, undefined, { approximate: true, effort }),
        plain.search(data.queries, 10, undefined, { approximate: true, effort }),
        `effort ${effort}`,
      );
  });

  test('approximate shortlist: exact distances of live rows, near the full scan of the same lists', () => {
    const faces = 30_000;
    const queries = 200;
    const data = onGrid(benchmarkData({ faces, identities: faces / 5, queries, seed: 32 }));
    const index = new FaceIndex({ backgroundMaintenance: false });
    for (let i = 0; i < faces; i++) index.upsert(data.ids[i], data.vectors.subarray(i * dims, (i + 1) * dims));
    index.rebuild();
    const noShortlist = new FaceIndex({ shortlist: false, backgroundMaintenance: false });
    noShortlist.importState(index.exportState());
    const vectorOf = new Map(data.ids.map((id, i) => [id, data.vectors.subarray(i * dims, (i + 1) * dims)]));
    const query = (q: number) => data.queries.subarray(q * dims, (q + 1) * dims);
    const hits = (got: Neighbor[][], want: Neighbor[][], k: number) => {
      let sum = 0;
      for (let q = 0; q < want.length; q++) {
        const ids = new Set(want[q].slice(0, k).map((n) => n.id));
        sum += got[q].slice(0, k).filter((n) => ids.has(n.id)).length / k;
      }
      return sum / want.length;
    };
    const exact = index.search(data.queries, 10);
    const full = noShortlist.search(data.queries, 10, undefined, { approximate: true });
    const before = index.stats();
    const short = index.search(data.queries, 10, undefined, { approximate: true });
    const after = index.stats();
    // The shortlist path ran: rows ranked, and far fewer than them given the exact distance.
    assert.ok(after.prefilterScanned - before.prefilterScanned > queries * 1000);
    assert.ok(after.prefilterCandidates - before.prefilterCandidates <= queries * 128);
    for (let q = 0; q < queries; q++) {
      assert.equal(short[q].length, 10);
      for (let i = 0; i < 10; i++) {
        const n = short[q][i];
        assert.ok(
          Math.abs(n.distance - Math.sqrt(squaredDistance(vectorOf.get(n.id)!, 0, query(q), 0, dims))) < 1e-12,
          `query ${q}: ${n.id} at its exact distance`,
        );
        if (i > 0) assert.ok(n.distance >= short[q][i - 1].distance, `query ${q}: sorted`);
      }
    }
    // It ranks on 32 of 128 axes: a little below the full scan of the same lists, far above chance.
    const r1 = hits(short, exact, 1);
    const r10 = hits(short, exact, 10);
    assert.ok(r1 >= hits(full, exact, 1) - 0.03 && r1 >= 0.95, `recall@1 ${r1}`);
    assert.ok(r10 >= hits(full, exact, 10) - 0.06 && r10 >= 0.9, `recall@10 ${r10}`);
    // A shortlist longer than the probed rows: the full codes and exact distances must then find the same answers as the full scan.
    const everyRow = new FaceIndex({ shortlistRows: faces, backgroundMaintenance: false });
    everyRow.importState(index.exportState());
    assert.deepEqual(
      everyRow.search(data.queries, 10, undefined, { approximate: true }),
      noShortlist.search(data.queries, 10, undefined, { approximate: true }),
    );
    assert.throws(() => new FaceIndex({ shortlistRows: 0 }), RangeError);
    // maxDistance and deleted rows: never answered.
    const bounded = index.search(data.queries, 10, 0.5, { approximate: true });
    for (const list of bounded) for (const n of list) assert.ok(n.distance <= 0.5);
    assert.ok(bounded.some((list) => list.length > 0));
    const gone = short.slice(0, 20).map((list) => list[0].id);
    for (const id of gone) index.delete(id);
    const again = index.search(data.queries.subarray(0, 20 * dims), 10, undefined, { approximate: true });
    for (let q = 0; q < 20; q++) {
      assert.ok(!again[q].some((n) => gone.includes(n.id)), `query ${q}: deleted faces stay out`);
      assert.equal(again[q].length, 10);
    }
  });

  test('rows all (nearly) equidistant from the query: nothing can be pruned, answers still exact', () => {
    const random = seededRandom(7);
    const index = new FaceIndex();
    const model = new Model();
    const centre = Float32Array.from({ length: dims }, () => random() - 0.5);
    for (let i = 0; i < 3000; i++) {
      // A random direction at radius 0.5 from the centre (float32 rounding makes the radii differ a hair).
      const direction = Float64Array.from({ length: dims }, () => gaussian(random));
      const norm = Math.hypot(...direction);
      const v = Float32Array.from(centre, (c, d) => c + (0.5 * direction[d]) / norm);
      const id = `s${String(i).padStart(5, '0')}`;
      index.upsert(id, v);
      model.faces.set(id, v);
    }
    assert.equal(index.stats().prefilter, true);
    let got: Neighbor[][] = [];
    const share = prefilterShare(index, () => (got = index.search(centre, 10)));
    assert.deepEqual(got, model.search(centre, 10));
    assert.ok(share > 0.9, `${(share * 100).toFixed(1)}% of the rows reached the exact distance`);
  });

  test('near-ties on the quantization grid: a bound without its margins would drop rows the oracle keeps', () => {
    // Rows q ± t·e_d (exactly t from q) and q ± t·(1 ± 2^-20)·e_d around them: the int8
    // codes of such a row differ from the query's in one dimension by round-off, so the
    // code distance alone (no miss terms) overestimates about half of them. With the
    // misses and float margins every tie and near-tie comes back, in id order.
    const random = seededRandom(11);
    const index = new FaceIndex();
    const model = new Model();
    const add = (id: string, v: Float32Array) => {
      index.upsert(id, v);
      model.faces.set(id, v);
    };
    // Background so that the filter learns a scale like the faces' (~0.002).
    for (let i = 0; i < 4000; i++)
      add(
        `bg${String(i).padStart(5, '0')}`,
        Float32Array.from({ length: dims }, () => gaussian(random) * 0.05),
      );
    const q = Float32Array.from({ length: dims }, () => gaussian(random) * 0.03);
    const t = 0.0625; // exactly representable: q[d] ± t is exact for |q[d]| < 0.25 in float32 only up to rounding, so distances differ by ulps
    addNearTies(q, t, dims, random, add);
    assert.equal(index.stats().prefilter, true);
    for (const k of [1, 50, 200, 384, 500]) assert.deepEqual(index.search(q, k), model.search(q, k), `k=${k}`);
    // Queries between the grid points too.
    const queries = new Float32Array(4 * dims);
    for (let j = 0; j < 4; j++) for (let d = 0; d < dims; d++) queries[j * dims + d] = q[d] + (j === 0 ? 0 : 0.0004 * j * (random() - 0.5));
    assert.deepEqual(index.search(queries, 300), model.search(queries, 300));
  });

  test('near-ties along the principal axes (where the first stage bound is tight) come back in oracle order', () => {
    // Variance only in coordinates 0..31, so the learned axes span them: a row q ± t·e_d
    // (d < 32) projects to exactly t from the query, and the first stage's codes alone
    // (without their misses) overestimate about half of these rows.
    const random = seededRandom(13);
    const index = new FaceIndex();
    const model = new Model();
    const draw = () => Float32Array.from({ length: dims }, (_, d) => gaussian(random) * (d < 32 ? 0.3 : 0.003));
    const add = (id: string, v: Float32Array) => {
      index.upsert(id, v);
      model.faces.set(id, v);
    };
    for (let i = 0; i < 4000; i++) add(`bg${String(i).padStart(5, '0')}`, draw());
    const q = draw();
    const t = 0.05;
    addNearTies(q, t, 32, random, add);
    assert.equal(index.stats().prefilter, true);
    for (const k of [1, 20, 96, 192, 250]) assert.deepEqual(index.search(q, k), model.search(q, k), `k=${k}`);
  });

  for (const prefilterAxes of [undefined, 0])
    test(`writes, deletes and replacements across learning and relearning: always the oracle (${prefilterAxes === 0 ? 'one stage' : 'two stages'})`, () => {
      const random = seededRandom(23);
      const data = onGrid(benchmarkData({ faces: 24_000, identities: 4800, queries: 6, seed: 5 }));
      const index = new FaceIndex({ backgroundMaintenance: false, deltaLimit: 500, approximate: { minRows: 3000 }, prefilterAxes });
      const model = new Model();
      const check = (label: string) => {
        for (const k of [1, 10]) assert.deepEqual(index.search(data.queries, k), model.search(data.queries, k), `${label}, k=${k}`);
      };
      let next = 0;
      const ids: string[] = [];
      const learnedAt: number[] = [];
      let wasOn = false;
      while (next < data.ids.length) {
        const r = random();
        if (r < 0.8 || ids.length < 10) {
          const id = data.ids[next];
          const v = data.vectors.subarray(next * dims, (next + 1) * dims);
          next++;
          index.upsert(id, v);
          model.faces.set(id, v);
          ids.push(id);
        } else if (r < 0.9) {
          // Replace a face by another photo (the oracle must never see the old vector).
          const id = ids[Math.floor(random() * ids.length)];
          const from = Math.floor(random() * next);
          const copy = Float32Array.from(data.vectors.subarray(from * dims, (from + 1) * dims), (x) => x + 0.001);
          index.upsert(id, copy);
          model.faces.set(id, copy);
        } else {
          const at = Math.floor(random() * ids.length);
          const id = ids[at];
          ids[at] = ids[ids.length - 1];
          ids.pop();
          assert.equal(index.delete(id), model.faces.delete(id));
        }
        const on = index.stats().prefilter;
        if (on && !wasOn) learnedAt.push(index.size);
        wasOn = on;
        if (next % 2500 === 0 || (index.size >= 1020 && index.size <= 1030)) check(`at ${next} written, ${index.size} live`);
      }
      check('end');
      assert.ok(learnedAt.length >= 1 && learnedAt[0] <= 1100, `pre-filter on at ${learnedAt}`);
      const stats = index.stats();
      assert.ok(stats.lists > 0 && stats.deletedRows > 0, JSON.stringify(stats));
      index.rebuild();
      check('after rebuild');
      // Snapshot round trip: the codes are rebuilt on import; the old shape loads as before.
      const restored = new FaceIndex({ backgroundMaintenance: false, prefilterAxes });
      restored.importState(index.exportState());
      assert.equal(restored.stats().prefilter, true);
      assert.deepEqual(restored.search(data.queries, 10), model.search(data.queries, 10));
      // Deleting down under the learning threshold turns the filter off; answers stay exact.
      for (const id of [...model.faces.keys()].slice(0, model.faces.size - 500)) {
        restored.delete(id);
        model.faces.delete(id);
      }
      restored.rebuild();
      assert.equal(restored.stats().prefilter, false);
      assert.deepEqual(restored.search(data.queries, 10), model.search(data.queries, 10));
    });

  test('far-out rows and queries (codes clamped) are still found', () => {
    const random = seededRandom(3);
    const index = new FaceIndex();
    const model = new Model();
    for (let i = 0; i < 2000; i++) {
      const v = Float32Array.from({ length: dims }, () => gaussian(random) * 0.05);
      if (i % 100 === 0) v[i % dims] = 3.9 * (random() - 0.5); // far outside the learned range (rows hold up to ±1.99994)
      const id = `c${String(i).padStart(5, '0')}`;
      index.upsert(id, v);
      model.faces.set(id, v);
    }
    const queries = new Float32Array(3 * dims);
    queries.set(model.faces.get('c00100')!, 0);
    for (let d = 0; d < dims; d++) queries[dims + d] = 30;
    for (let d = 0; d < dims; d++) queries[2 * dims + d] = gaussian(random) * 0.05;
    assert.equal(index.stats().prefilter, true);
    for (const k of [1, 5, 40]) assert.deepEqual(index.search(queries, k), model.search(queries, k), `k=${k}`);
  });

  test('other vector lengths (one stage at 20 and 48 dims, two at 64): the oracle', () => {
    const random = seededRandom(19);
    for (const d of [20, 48, 64]) {
      const index = new FaceIndex({ dimensions: d });
      const rows = 3000;
      const vectors = new Float32Array(rows * d);
      const centres = Array.from({ length: 50 }, () => Float32Array.from({ length: d }, () => gaussian(random) * 0.3));
      const ids: string[] = [];
      for (let i = 0; i < rows; i++) {
        const centre = centres[i % 50];
        for (let k = 0; k < d; k++) vectors[i * d + k] = centre[k] + gaussian(random) * 0.05;
        ids.push(`v${String(i).padStart(5, '0')}`);
        index.upsert(ids[i], vectors.subarray(i * d, (i + 1) * d));
      }
      assert.equal(index.stats().prefilter, true, `${d} dims`);
      const queries = Float32Array.from({ length: 5 * d }, (_, i) => centres[(i / d) | 0][i % d] + gaussian(random) * 0.05);
      for (const k of [1, 10]) assert.deepEqual(index.search(queries, k), bruteForceSearch(storedVector(vectors), ids, queries, k, d), `${d} dims, k=${k}`);
    }
  });

  test('prefilter: false, the JS kernel and small or tree indexes do without it', () => {
    const random = seededRandom(9);
    const off = new FaceIndex({ prefilter: false });
    const js = new FaceIndex({ kernel: 'js' });
    const small = new FaceIndex();
    const tree = new FaceIndex({ dimensions: 16 });
    for (let i = 0; i < 1500; i++) {
      const v = Float32Array.from({ length: dims }, () => random() - 0.5);
      off.upsert(`r${i}`, v);
      js.upsert(`r${i}`, v);
      if (i < 1000) small.upsert(`r${i}`, v);
      tree.upsert(`r${i}`, v.subarray(0, 16));
    }
    for (const index of [off, js, small, tree]) assert.equal(index.stats().prefilter, false);
    assert.deepEqual(off.search(new Float32Array(dims), 5), js.search(new Float32Array(dims), 5));
  });
});

/** Rows q ± t·e_d (exactly t from q) and q ± t·(1 ± 2^-20)·e_d, for d < axes, with shuffled ids. */
function addNearTies(q: Float32Array, t: number, axes: number, random: () => number, add: (id: string, v: Float32Array) => void): void {
  let n = 0;
  for (let d = 0; d < axes; d++) {
    for (const sign of [1, -1]) {
      for (const factor of [1, 1 + 2 ** -20, 1 - 2 ** -20]) {
        const v = Float32Array.from(q);
        v[d] = q[d] + sign * t * factor;
        add(`t${String(Math.floor(random() * 1e6)).padStart(6, '0')}-${n++}`, v);
      }
    }
  }
}

describe('int8 pre-filter: learning in maintenance steps', () => {
  test('learnSteps, while the index grows between steps, learns exactly what learn() learns at once', () => {
    const rows = 6000;
    const data = benchmarkData({ faces: rows, identities: rows / 5, queries: 4, seed: 31 });
    const deleted = new Uint8Array(rows);
    deleted[17] = 1; // a dead row is skipped by the samples of both
    // The full stage: the rows' own codes, shared by both filters.
    const arena = new Int16RowArena(dims, rows);
    for (let row = 0; row < rows; row++) arena.setRow(row, data.vectors, row * dims);
    const atOnce = new Int8Filter(dims, rows, arena);
    atOnce.learn(float32StoredRows(data.vectors, dims, deleted), rows);
    // Between steps the index grows: its columns are reallocated (the old buffers
    // detached, as a grown WebAssembly memory's are) and rows appended past the
    // learning's rowCount must not be sampled.
    const inSteps = new Int8Filter(dims, rows, arena);
    let current: { vectors: Float32Array; deleted: Uint8Array } | undefined;
    let appended = 0;
    const grow = () => {
      if (current) structuredClone(current.vectors.buffer, { transfer: [current.vectors.buffer as ArrayBuffer] });
      appended += 50;
      const vectors = new Float32Array((rows + appended) * dims).fill(1000);
      vectors.set(data.vectors);
      const grownDeleted = new Uint8Array(rows + appended);
      grownDeleted.set(deleted);
      current = { vectors, deleted: grownDeleted };
    };
    grow();
    const source: StoredRows = {
      get deleted() {
        return current!.deleted;
      },
      readRows: (first, count, out, at) => out.set(current!.vectors.subarray(first * dims, (first + count) * dims), at),
    };
    const steps = inSteps.learnSteps(source, rows);
    let yields = 0;
    while (!steps.next().done) {
      yields++;
      assert.equal(inSteps.learned, false, 'not learned before the last step');
      grow();
    }
    // Covariance blocks, 16 rounds of the axes, projection blocks and level steps.
    assert.ok(yields >= 20, `${yields} steps`);
    assert.equal(inSteps.learned, true);
    assert.equal(inSteps.ready, false, 'no codes yet: searches wait for codesComplete');
    assert.equal(inSteps.learnedRows, atOnce.learnedRows);
    for (const filter of [atOnce, inSteps]) filter.encodeRows(float32StoredRows(data.vectors, dims, deleted), 0, rows);
    let compared = 0;
    for (let q = 0; q < 4; q++) {
      const outcome = (filter: Int8Filter) => {
        filter.setQuery(data.queries, q * dims);
        const passed = filter.candidates(0, Math.min(rows, SCAN_BLOCK_ROWS), 0.3, true);
        const candidates = Array.from(filter.out.subarray(0, passed));
        const ranked = filter.rank(0, rows, 40);
        return { candidates, ranked: Array.from(filter.rankOut.subarray(0, ranked)), values: Array.from(filter.rankValues.subarray(0, ranked)) };
      };
      const a = outcome(atOnce);
      assert.deepEqual(outcome(inSteps), a, `query ${q}`);
      compared += a.candidates.length + a.ranked.length;
    }
    assert.ok(compared > 0, 'the comparison saw candidates and ranked rows');
  });
});
