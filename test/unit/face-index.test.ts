import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FaceIndex, bruteForceSearch, storedVector, type Neighbor, type SearchStrategy } from '../../libs/index/face-index/index.js';
import { squaredDistance, squaredDistanceWithin } from '../../libs/index/exact-distance/index.js';
import { syntheticFaces } from '../../libs/synthetic/faces.js';
import { gaussian, seededRandom } from '../helpers/random.js';
import { onGrid } from '../helpers/stored.js';

/** mulberry32: small seeded PRNG so failures reproduce. */

function randomVector(random: () => number, dims: number): Float32Array {
  const vector = new Float32Array(dims);
  for (let a = 0; a < dims; a++) vector[a] = random() * 2 - 1;
  return vector;
}

/** Face-like generator: a fixed set of identity centres, each photo = centre + noise. */
function faceGenerator(random: () => number, identities: number, dims: number): () => Float32Array {
  const centres = Array.from({ length: identities }, () => Float32Array.from({ length: dims }, () => gaussian(random) * 0.06));
  return () => {
    const centre = centres[Math.floor(random() * identities)];
    return Float32Array.from(centre, (value) => value + gaussian(random) * 0.025);
  };
}

function concat(vectors: readonly Float32Array[], dims: number): Float32Array {
  const out = new Float32Array(vectors.length * dims);
  vectors.forEach((vector, i) => out.set(vector, i * dims));
  return out;
}

/** What the index should contain: a plain Map, searched by the brute-force oracle. */
class Model {
  readonly faces = new Map<string, Float32Array>();
  constructor(readonly dims: number) {}

  search(queries: Float32Array, k: number, maxDistance?: number): Neighbor[][] {
    const ids = [...this.faces.keys()];
    return bruteForceSearch(storedVector(concat([...this.faces.values()], this.dims)), ids, queries, k, this.dims, maxDistance);
  }
}

/** The largest double below a positive finite x. */
function nextDown(x: number): number {
  const bits = new BigInt64Array(Float64Array.of(x).buffer);
  bits[0] -= 1n;
  return new Float64Array(bits.buffer)[0];
}

const STRATEGIES: SearchStrategy[] = ['tree', 'flat', 'auto'];

function fill(index: FaceIndex, model: Model, count: number, next: () => Float32Array, prefix = 'face'): void {
  for (let i = 0; i < count; i++) {
    const id = `${prefix}-${i.toString().padStart(5, '0')}`;
    const vector = next();
    index.upsert(id, vector);
    model.faces.set(id, vector);
  }
}

describe('distance kernel', () => {
  test('equals a naive float64 loop in dimension order, bit for bit', () => {
    const random = seededRandom(1);
    for (const dims of [1, 3, 8, 13, 128, 131]) {
      const a = randomVector(random, dims * 3);
      const b = randomVector(random, dims * 2);
      let naive = 0;
      for (let i = 0; i < dims; i++) naive += (a[dims + i] - b[dims + i]) * (a[dims + i] - b[dims + i]);
      assert.equal(squaredDistance(a, dims, b, dims, dims), naive, `dims=${dims}`);
      assert.equal(squaredDistanceWithin(a, dims, b, dims, dims, naive), naive, 'not abandoned at an equal bound');
      const early = squaredDistanceWithin(a, dims, b, dims, dims, naive / 4);
      assert.ok(early > naive / 4 && early <= naive, 'abandoned result exceeds the bound');
    }
  });
});

describe('FaceIndex search equals brute force', () => {
  for (const strategy of STRATEGIES) {
    test(`uniform 16-d, k = 1, 5, 50, delta and tree mixed (${strategy})`, () => {
      const dims = 16;
      const random = seededRandom(100);
      const index = new FaceIndex({ dimensions: dims, leafSize: 8, deltaLimit: 500, strategy });
      const model = new Model(dims);
      fill(index, model, 1700, () => randomVector(random, dims));
      const queries = concat(
        Array.from({ length: 9 }, () => randomVector(random, dims)),
        dims,
      );
      for (const k of [1, 5, 50]) assert.deepEqual(index.search(queries, k), model.search(queries, k), `k=${k}`);
    });

    test(`clustered 128-d faces, batched queries (${strategy})`, () => {
      const dims = 128;
      const random = seededRandom(200);
      const nextFace = faceGenerator(random, 300, dims);
      const index = new FaceIndex({ deltaLimit: 1000, strategy });
      const model = new Model(dims);
      fill(index, model, 2500, nextFace);
      // 7 queries: one group of four plus three single ones in the flat scan.
      const queries = concat(Array.from({ length: 7 }, nextFace), dims);
      for (const k of [1, 5, 50]) {
        const batched = index.search(queries, k);
        assert.deepEqual(batched, model.search(queries, k), `k=${k}`);
        for (let q = 0; q < 7; q++) {
          assert.deepEqual(index.search(queries.subarray(q * dims, (q + 1) * dims), k), [batched[q]], 'one query alone = same query in a batch');
        }
      }
    });
  }

  test('duplicates (same vector, different ids) come back in id order', () => {
    const dims = 8;
    const index = new FaceIndex({ dimensions: dims, leafSize: 2, deltaLimit: 10, strategy: 'tree' });
    const model = new Model(dims);
    const random = seededRandom(300);
    const shared = storedVector(randomVector(random, dims)); // on the rows' grid: stored as given
    for (const id of ['m', 'c', 'x', 'a', 'q', 'b']) {
      index.upsert(id, shared);
      model.faces.set(id, shared);
    }
    fill(index, model, 40, () => randomVector(random, dims));
    const got = index.search(shared, 4);
    assert.deepEqual(got, [['a', 'b', 'c', 'm'].map((id) => ({ id, distance: 0 }))]);
    assert.deepEqual(index.search(shared, 20), model.search(shared, 20));
  });

  test('k larger than the index, k = 0, and an empty index', () => {
    const dims = 4;
    const random = seededRandom(400);
    const index = new FaceIndex({ dimensions: dims });
    const queries = concat([randomVector(random, dims), randomVector(random, dims)], dims);
    assert.deepEqual(index.search(queries, 5), [[], []]);
    assert.deepEqual(index.search(new Float32Array(0), 5), []);
    const model = new Model(dims);
    fill(index, model, 3, () => randomVector(random, dims));
    const got = index.search(queries, 10);
    assert.equal(got[0].length, 3);
    assert.deepEqual(got, model.search(queries, 10));
    assert.deepEqual(index.search(queries, 0), [[], []]);
  });

  test('maxDistance keeps only faces within it, boundary included', () => {
    const dims = 32;
    const random = seededRandom(500);
    for (const strategy of STRATEGIES) {
      const index = new FaceIndex({ dimensions: dims, strategy, deltaLimit: 200 });
      const model = new Model(dims);
      fill(index, model, 600, () => randomVector(random, dims));
      const query = randomVector(random, dims);
      const all = model.search(query, 600)[0];
      const exact = all[7].distance; // a face sits exactly at the limit
      const got = index.search(query, 50, exact);
      assert.deepEqual(got, model.search(query, 50, exact));
      assert.equal(got[0].at(-1)?.distance, exact);
      assert.ok(got[0].length >= 8);
      assert.deepEqual(index.search(query, 3, exact), [all.slice(0, 3)], 'k still cuts');
      assert.deepEqual(index.search(query, 5, all[0].distance / 2), [[]], 'nothing that close');
      // One ulp below a face's distance excludes that face (the squared bound alone would not).
      const justBelow = nextDown(exact);
      const below = index.search(query, 50, justBelow);
      assert.deepEqual(below, model.search(query, 50, justBelow));
      assert.ok(below[0].every((n) => n.distance < exact));
    }
  });

  test('meta comes back with its face and follows replacement', () => {
    const index = new FaceIndex({ dimensions: 2 });
    index.upsert('a', Float32Array.of(0, 0), { path: 'a1.jpg' });
    index.upsert('b', Float32Array.of(1, 0));
    index.upsert('a', Float32Array.of(0, 1), { path: 'a2.jpg' });
    assert.deepEqual(index.search(Float32Array.of(0, 0), 2), [
      [
        { id: 'a', distance: 1, meta: { path: 'a2.jpg' } },
        { id: 'b', distance: 1 },
      ],
    ]);
    // By id too (a stored face read back), through rebuilds that move rows, and gone with its face.
    index.upsert('c', Float32Array.of(1, 1), { path: 'c.jpg' });
    index.delete('b');
    index.rebuild();
    assert.deepEqual(
      [index.metaOf('a'), index.metaOf('b'), index.metaOf('c'), index.metaOf('never')],
      [{ path: 'a2.jpg' }, undefined, { path: 'c.jpg' }, undefined],
    );
  });
});

describe('FaceIndex updates', () => {
  for (const strategy of STRATEGIES) {
    test(`upsert replaces: the old vector is never returned (${strategy})`, () => {
      const dims = 16;
      const random = seededRandom(600);
      const index = new FaceIndex({ dimensions: dims, leafSize: 4, deltaLimit: 50, strategy });
      const model = new Model(dims);
      fill(index, model, 300, () => randomVector(random, dims));
      index.rebuild(); // the old rows now sit in the tree
      const oldVectors = new Map<string, Float32Array>();
      for (let i = 0; i < 300; i += 3) {
        const id = `face-${i.toString().padStart(5, '0')}`;
        oldVectors.set(id, model.faces.get(id)!);
        const replacement = randomVector(random, dims);
        index.upsert(id, replacement.subarray(0)); // also a view, not a copy
        model.faces.set(id, replacement);
      }
      assert.equal(index.size, 300);
      const queries = concat([...oldVectors.values()].slice(0, 20), dims);
      const got = index.search(queries, 5);
      assert.deepEqual(got, model.search(queries, 5));
      [...oldVectors.keys()].slice(0, 20).forEach((id, q) => {
        const hit = got[q].find((n) => n.id === id);
        assert.ok(hit === undefined || hit.distance > 0, 'replaced vector not found at distance 0');
      });
    });

    test(`delete, delete then re-add (${strategy})`, () => {
      const dims = 16;
      const random = seededRandom(700);
      const index = new FaceIndex({ dimensions: dims, leafSize: 4, deltaLimit: 60, strategy });
      const model = new Model(dims);
      fill(index, model, 400, () => randomVector(random, dims));
      index.rebuild();
      const target = model.faces.get('face-00010')!;
      assert.equal(index.delete('face-00010'), true);
      assert.equal(index.delete('face-00010'), false);
      assert.equal(index.delete('never-added'), false);
      model.faces.delete('face-00010');
      assert.equal(index.has('face-00010'), false);
      assert.equal(index.size, 399);
      assert.deepEqual(index.search(target, 5), model.search(target, 5));
      assert.notEqual(index.search(target, 1)[0][0].id, 'face-00010');

      index.upsert('face-00010', target);
      model.faces.set('face-00010', target);
      assert.equal(index.has('face-00010'), true);
      assert.deepEqual(index.search(storedVector(target), 1), [[{ id: 'face-00010', distance: 0 }]]);
      assert.deepEqual(index.search(target, 5), model.search(target, 5));
    });
  }

  test('rebuild keeps results identical and empties the delta', () => {
    const dims = 128;
    const random = seededRandom(800);
    const nextFace = faceGenerator(random, 100, dims);
    for (const strategy of STRATEGIES) {
      const index = new FaceIndex({ deltaLimit: 5000, strategy });
      const model = new Model(dims);
      fill(index, model, 900, nextFace);
      for (let i = 0; i < 900; i += 4) {
        const id = `face-${i.toString().padStart(5, '0')}`;
        index.delete(id);
        model.faces.delete(id);
      }
      const queries = concat(Array.from({ length: 5 }, nextFace), dims);
      const before = index.search(queries, 10);
      const statsBefore = index.stats();
      assert.equal(statsBefore.deletedRows, 225);
      assert.equal(statsBefore.deltaRows, 900);
      index.rebuild();
      assert.deepEqual(index.search(queries, 10), before);
      assert.deepEqual(before, model.search(queries, 10));
      const stats = index.stats();
      assert.equal(stats.faces, 675);
      assert.equal(stats.deletedRows, 0);
      assert.equal(stats.treeRows + stats.deltaRows, 675);
      assert.equal(stats.treeRows, strategy === 'tree' ? 675 : 0);
      assert.ok(stats.bytes >= 675 * dims * 4);
    }
  });

  test('random upserts, replacements, deletes and rebuilds always match the model', () => {
    const dims = 8;
    const random = seededRandom(900);
    for (const strategy of STRATEGIES) {
      // A small deltaLimit so automatic rebuilds and compactions happen along the way.
      const index = new FaceIndex({ dimensions: dims, leafSize: 4, deltaLimit: 40, strategy });
      const model = new Model(dims);
      for (let step = 0; step < 1500; step++) {
        const id = `id-${Math.floor(random() * 300)}`;
        const roll = random();
        if (roll < 0.65) {
          // Coarse coordinates make exact duplicates and distance ties common.
          const vector = Float32Array.from({ length: dims }, () => Math.floor(random() * 4) / 4);
          index.upsert(id, vector);
          model.faces.set(id, vector);
        } else if (roll < 0.97) {
          assert.equal(index.delete(id), model.faces.delete(id));
        } else {
          index.rebuild();
        }
        if (step % 50 === 0) {
          assert.equal(index.size, model.faces.size);
          // 5 queries: a group of four and a single one in the flat scan, all with many ties.
          const queries = Float32Array.from({ length: 5 * dims }, () => Math.floor(random() * 8) / 8);
          for (const k of [1, 5]) assert.deepEqual(index.search(queries, k), model.search(queries, k), `${strategy} step ${step} k=${k}`);
          assert.deepEqual(index.search(queries, 50, 0.6), model.search(queries, 50, 0.6), `${strategy} step ${step} maxDistance`);
        }
      }
      const stats = index.stats();
      assert.equal(stats.faces, model.faces.size);
      assert.ok(stats.deletedRows <= Math.max(40, (stats.treeRows + stats.deltaRows) / 4 + 1), 'dead rows get compacted');
    }
  });

  test('upsert triggers a rebuild when the delta passes deltaLimit (tree mode)', () => {
    const dims = 4;
    const random = seededRandom(1000);
    const index = new FaceIndex({ dimensions: dims, deltaLimit: 100, strategy: 'tree' });
    for (let i = 0; i < 100; i++) index.upsert(`f${i}`, randomVector(random, dims));
    assert.deepEqual([index.stats().treeRows, index.stats().deltaRows], [0, 100]);
    index.upsert('f100', randomVector(random, dims));
    assert.deepEqual([index.stats().treeRows, index.stats().deltaRows], [101, 0]);
  });

  test('rejects malformed input', () => {
    const index = new FaceIndex({ dimensions: 4 });
    assert.throws(() => index.upsert('a', new Float32Array(3)), RangeError);
    assert.throws(() => index.upsert('a', Float32Array.of(0, Number.NaN, 0, 0)), RangeError);
    assert.throws(() => index.search(new Float32Array(6), 1), RangeError);
    assert.throws(() => index.search(new Float32Array(4), -1), RangeError);
    assert.throws(() => index.search(new Float32Array(4), 1.5), RangeError);
    assert.throws(() => index.search(new Float32Array(4), 1, -0.5), RangeError);
    assert.throws(() => index.search(Float32Array.of(0, 0, Number.POSITIVE_INFINITY, 0), 1), RangeError);
    assert.throws(() => new FaceIndex({ dimensions: 0 }), RangeError);
    assert.equal(index.size, 0);
  });
});

test('bulk load with maintenance paused: same answers, approximate index built once on resume', async () => {
  const { syntheticFaces } = await import('../../libs/synthetic/faces.js');
  const data = onGrid(syntheticFaces({ identities: 6000, photosPerIdentity: 5, seed: 12 }));
  const paused = new FaceIndex({ approximate: { minRows: 1000 } });
  paused.pauseMaintenance();
  data.ids.forEach((id, i) => paused.upsert(id, data.vectors.subarray(i * 128, (i + 1) * 128)));
  assert.equal(paused.stats().lists ?? 0, 0, 'no approximate index while paused');
  const queries = data.vectors.subarray(0, 5 * 128);
  const exact = bruteForceSearch(data.vectors, data.ids, queries, 5, 128);
  assert.deepEqual(paused.search(queries, 5), exact, 'exact while paused');
  paused.resumeMaintenance();
  assert.ok((paused.stats().lists ?? 0) > 0, 'built on resume');
  assert.deepEqual(paused.search(queries, 5), exact);
});

test('stats().bytes counts the ids held: longer ids, more bytes; an import counts them again', () => {
  const data = onGrid(syntheticFaces({ identities: 200, photosPerIdentity: 5, seed: 5 }));
  const build = (suffix: string) => {
    const index = new FaceIndex();
    data.ids.forEach((id, i) => index.upsert(id + suffix, data.vectors.subarray(i * 128, (i + 1) * 128)));
    return index;
  };
  const short = build('');
  const long = build('x'.repeat(100));
  // 100 more characters an id, one byte each, in an arena that grows by doubling: between
  // half and four times their bytes more.
  const extra = data.ids.length * 100;
  const within = (more: number) => assert.ok(more >= extra / 2 && more <= 4 * extra, `${more} bytes more for ${extra} more characters`);
  within(long.stats().bytes - short.stats().bytes);
  const copy = new FaceIndex();
  copy.importState(long.exportState());
  within(copy.stats().bytes - short.stats().bytes);
  assert.equal(long.delete('not-held'), false);
});
