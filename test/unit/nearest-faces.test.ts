import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BruteForceIndex,
  FaceIndex,
  bruteForceSearch,
  squaredDistance,
  storedVector,
  type FaceIndexOptions,
  type NearestFaces,
  type Neighbor,
} from '../../libs/index/face-index/index.js';
import { seededRandom } from '../../libs/index/seeded-random/index.js';
import { INT16_ROW_MAX } from '../../libs/index/simd-kernel/index.js';

/**
 * FaceIndex and its brute-force reference behind one interface (NearestFaces): one
 * scenario of writes, replacements, deletes and re-inserts, run on FaceIndex in each
 * configuration with a BruteForceIndex fed the same operations; every exact answer must
 * be deepEqual to the reference's, and bad input must fail alike in both.
 */

/** Faces the scenario writes first: past the pre-filter's 1,024 rows and the small IVF's minRows. */
const FIRST_FACES = 1300;
const QUERIES = 8;

/** Everything an index holds, by id, comparable with deepEqual (typed arrays compare by their bytes: quick). */
function contents(index: NearestFaces): [string, Float32Array, unknown][] {
  const faces: [string, Float32Array, unknown][] = [];
  index.forEachFace((id, vector, meta) => faces.push([id, vector.slice(), meta]));
  return faces.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/**
 * Feeds `create(dims)` and a BruteForceIndex the same seeded operations and compares
 * them after each phase; `settle` runs between phases (an index's own maintenance).
 */
function agreesWithBruteForce(create: (dims: number) => NearestFaces, dims: number, settle: (index: NearestFaces) => void, seed = 7): void {
  const random = seededRandom(seed);
  const index = create(dims);
  const reference = new BruteForceIndex(dims);
  assert.equal(index.dimensions, dims);

  // Clustered vectors (faces of a few people), some copied exactly (ties broken by id), some on a coarse grid (more ties).
  const centers = Array.from({ length: 20 }, () => Float32Array.from({ length: dims }, () => random() * 1.6 - 0.8));
  const face = (): Float32Array => {
    const roll = random();
    if (roll < 0.05) return Float32Array.from({ length: dims }, () => Math.floor(random() * 4) / 4);
    const center = centers[Math.floor(random() * centers.length)];
    return center.map((x) => x + (random() - 0.5) * 0.2);
  };
  const written: Float32Array[] = [];
  const write = (id: string, vector: Float32Array, meta?: unknown) => {
    index.upsert(id, vector, meta);
    reference.upsert(id, vector, meta);
    written.push(vector);
  };
  const writeNew = (id: string) => {
    const roll = random();
    const vector = roll < 0.1 && written.length > 0 ? written[Math.floor(random() * written.length)] : face();
    write(id, vector, roll < 0.6 ? { id, n: written.length } : roll < 0.65 ? null : undefined);
  };
  const remove = (id: string) => assert.equal(index.delete(id), reference.delete(id), `delete ${id}`);
  const liveIds = () => contents(reference).map(([id]) => id);

  const compare = (phase: string) => {
    assert.equal(index.size, reference.size, `${phase}: size`);
    for (let i = 0; i < 40; i++) {
      const id = `f${Math.floor(random() * (FIRST_FACES + 400))}`;
      assert.equal(index.has(id), reference.has(id), `${phase}: has(${id})`);
    }
    assert.deepEqual(contents(index), contents(reference), `${phase}: forEachFace`);

    // Queries: near the faces, written vectors as given (off the grid), and stored ones (distance 0).
    const stored = contents(reference);
    const queries = new Float32Array(QUERIES * dims);
    for (let q = 0; q < QUERIES; q++) {
      const pick = q % 3;
      if (pick === 0 || stored.length === 0) queries.set(face(), q * dims);
      else if (pick === 1) queries.set(written[Math.floor(random() * written.length)], q * dims);
      else queries.set(stored[Math.floor(random() * stored.length)][1], q * dims);
    }
    const size = reference.size;
    for (const k of [0, 1, 10, 57, size + 5]) {
      assert.deepEqual(index.search(queries, k), reference.search(queries, k), `${phase}: k=${k}`);
    }
    const first = queries.subarray(0, dims);
    assert.deepEqual(index.search(first, 10), reference.search(first, 10), `${phase}: one query`);
    assert.deepEqual(index.search(new Float32Array(0), 10), [], `${phase}: no query`);

    // maxDistance: 0 (exact copies only), exactly a found distance (kept: <=), and a radius a little wider.
    const tenth = reference.search(first, 10)[0].at(-1)?.distance ?? 1;
    for (const [k, maxDistance] of [
      [20, 0],
      [20, tenth],
      [20, tenth * 0.999],
      [5, tenth * 1.1],
      [size + 1, tenth * 1.1],
    ]) {
      assert.deepEqual(index.search(queries, k, maxDistance), reference.search(queries, k, maxDistance), `${phase}: k=${k} maxDistance=${maxDistance}`);
    }

    // Approximate: not the reference's answer, but live faces at their exact distance, in order.
    const vectors = new Map(stored.map(([id, vector]) => [id, vector]));
    const approximate = index.search(queries, 10, undefined, { approximate: true });
    assert.equal(approximate.length, QUERIES);
    approximate.forEach((list, q) => {
      assert.ok(list.length <= Math.min(10, size), `${phase}: approximate query ${q} length`);
      assert.equal(new Set(list.map((n) => n.id)).size, list.length, `${phase}: approximate query ${q} repeats an id`);
      list.forEach((n: Neighbor, i) => {
        const vector = vectors.get(n.id);
        assert.ok(vector, `${phase}: approximate query ${q} returned dead ${n.id}`);
        assert.equal(n.distance, Math.sqrt(squaredDistance(vector, 0, queries, q * dims, dims)), `${phase}: approximate distance of ${n.id}`);
        const previous = list[i - 1];
        if (previous) assert.ok(previous.distance < n.distance || (previous.distance === n.distance && previous.id < n.id), `${phase}: approximate order`);
      });
    });
  };

  for (let i = 0; i < FIRST_FACES; i++) writeNew(`f${i}`);
  compare('written');
  settle(index);
  compare('written, settled');

  // Replacements: new vectors, metas changed, dropped or added.
  for (let i = 0; i < 200; i++) writeNew(`f${Math.floor(random() * FIRST_FACES)}`);
  compare('replaced');
  settle(index);
  compare('replaced, settled');

  // Deletes, some of ids never written or already gone.
  const deleted: string[] = [];
  for (let i = 0; i < 300; i++) {
    const id = `f${Math.floor(random() * (FIRST_FACES + 50))}`;
    if (reference.has(id)) deleted.push(id);
    remove(id);
  }
  compare('deleted');
  settle(index);
  compare('deleted, settled');

  // Re-inserts after delete, and new faces.
  for (const id of deleted.slice(0, 150)) writeNew(id);
  for (let i = 0; i < 300; i++) writeNew(`f${FIRST_FACES + 50 + i}`);
  compare('re-inserted');
  settle(index);
  compare('re-inserted, settled');

  // Down to a few faces (under the pre-filter's and the lists' minimum rows), then none.
  const live = liveIds();
  for (const id of live.slice(0, live.length - 40)) remove(id);
  compare('few');
  settle(index);
  compare('few, settled');
  for (const id of liveIds()) remove(id);
  settle(index);
  compare('empty');
}

interface Configuration {
  name: string;
  dims: number;
  options: FaceIndexOptions;
  /** The maintenance run between phases. */
  settle: (index: FaceIndex) => void;
  /** Structures the scenario must have built at some settle (else it tested less than it says). */
  builds: { lists?: boolean; prefilter?: boolean; tree?: boolean; kernel?: 'js' };
}

const rebuild = (index: FaceIndex) => index.rebuild();
const smallLists = { minRows: 300, listsPerSqrtRow: 1 };

const configurations: Configuration[] = [
  { name: 'default', dims: 128, options: {}, settle: rebuild, builds: { prefilter: true } },
  { name: 'approximate: false', dims: 128, options: { approximate: false }, settle: rebuild, builds: { prefilter: true } },
  { name: 'prefilter: false', dims: 128, options: { prefilter: false }, settle: rebuild, builds: {} },
  { name: "kernel: 'js'", dims: 128, options: { kernel: 'js' }, settle: rebuild, builds: { kernel: 'js' } },
  {
    name: 'small IVF lists and the pre-filter, rebuild()',
    dims: 128,
    options: { approximate: smallLists, deltaLimit: 40, backgroundMaintenance: false },
    settle: rebuild,
    builds: { lists: true, prefilter: true },
  },
  {
    name: 'small IVF lists and the pre-filter, maintenance steps only',
    dims: 128,
    options: { approximate: smallLists, deltaLimit: 40, backgroundMaintenance: false },
    settle: (index) => {
      while (index.maintenanceStep(1));
    },
    builds: { lists: true, prefilter: true },
  },
  {
    name: 'small IVF lists, no pre-filter',
    dims: 32,
    options: { approximate: smallLists, prefilter: false, deltaLimit: 40, backgroundMaintenance: false },
    settle: rebuild,
    builds: { lists: true },
  },
  {
    name: 'small KD-tree partition lists and the pre-filter',
    dims: 128,
    options: { approximate: { ...smallLists, partition: 'kdtree' }, deltaLimit: 40, backgroundMaintenance: false },
    settle: rebuild,
    builds: { lists: true, prefilter: true },
  },
  { name: 'KD-tree (12 dims)', dims: 12, options: { deltaLimit: 50 }, settle: rebuild, builds: { tree: true } },
];

describe('FaceIndex answers like BruteForceIndex (the same writes, every configuration)', () => {
  for (const configuration of configurations) {
    test(configuration.name, () => {
      const built = { lists: false, prefilter: false, tree: false, kernel: 'wasm-simd' as 'wasm-simd' | 'js' };
      const settle = (index: NearestFaces) => {
        assert.ok(index instanceof FaceIndex);
        configuration.settle(index);
        const stats = index.stats();
        built.lists ||= stats.lists > 0;
        built.prefilter ||= stats.prefilter;
        built.tree ||= stats.treeRows > 0;
        built.kernel = stats.kernel;
      };
      agreesWithBruteForce((dims) => new FaceIndex({ ...configuration.options, dimensions: dims }), configuration.dims, settle);
      const { builds } = configuration;
      assert.equal(built.lists, builds.lists ?? false, 'IVF lists built');
      assert.equal(built.prefilter, builds.prefilter ?? false, 'pre-filter learned');
      assert.equal(built.tree, builds.tree ?? false, 'KD-tree built');
      if (builds.kernel) assert.equal(built.kernel, builds.kernel);
    });
  }
});

describe('BruteForceIndex', () => {
  test('answers like bruteForceSearch over the stored vectors', () => {
    const dims = 8;
    const random = seededRandom(3);
    const index = new BruteForceIndex(dims);
    const vectors = Float32Array.from({ length: 50 * dims }, () => random() * 2 - 1);
    const ids = Array.from({ length: 50 }, (_, i) => `id${49 - i}`);
    ids.forEach((id, i) => index.upsert(id, vectors.subarray(i * dims, (i + 1) * dims)));
    const queries = Float32Array.from({ length: 4 * dims }, () => random() * 2 - 1);
    assert.deepEqual(index.search(queries, 7), bruteForceSearch(storedVector(vectors), ids, queries, 7, dims));
    assert.deepEqual(index.search(queries, 50, 1.2), bruteForceSearch(storedVector(vectors), ids, queries, 50, dims, 1.2));
    // Stored rounded: a vector off the grid is not at distance 0 from itself.
    const own = vectors.subarray(0, dims);
    assert.ok(index.search(own, 1)[0][0].distance > 0);
    assert.equal(index.search(storedVector(own), 1)[0][0].distance, 0);
  });

  test('replaces, deletes, keeps metas, and hands out copies', () => {
    const index = new BruteForceIndex(2);
    index.upsert('a', Float32Array.of(0, 0), { n: 1 });
    index.upsert('b', Float32Array.of(1, 0));
    assert.deepEqual(index.search(Float32Array.of(0, 0), 5), [
      [
        { id: 'a', distance: 0, meta: { n: 1 } },
        { id: 'b', distance: 1 },
      ],
    ]);
    index.upsert('a', Float32Array.of(0, 1.5));
    assert.deepEqual(index.search(Float32Array.of(0, 0), 5), [
      [
        { id: 'b', distance: 1 },
        { id: 'a', distance: 1.5 },
      ],
    ]);
    assert.equal(index.delete('b'), true);
    assert.equal(index.delete('b'), false);
    assert.equal(index.has('b'), false);
    assert.equal(index.size, 1);
    index.forEachFace((_id, vector) => vector.fill(9));
    assert.deepEqual(index.search(Float32Array.of(0, 0), 5), [[{ id: 'a', distance: 1.5 }]]);
  });
});

/** The error `run` throws (it must throw one). */
function errorOf(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  assert.fail('did not throw');
}

describe('bad input: the same RangeErrors from BruteForceIndex and FaceIndex, nothing changed', () => {
  const dims = 4;
  const subjects: [string, () => NearestFaces][] = [
    ['BruteForceIndex', () => new BruteForceIndex(dims)],
    ['FaceIndex', () => new FaceIndex({ dimensions: dims })],
  ];
  const holding = (create: () => NearestFaces) => {
    const index = create();
    index.upsert('kept', Float32Array.of(0.5, 0.5, 0.5, 0.5), 'meta');
    return index;
  };
  const unchanged = (index: NearestFaces) => {
    assert.equal(index.size, 1);
    assert.deepEqual(index.search(Float32Array.of(0.5, 0.5, 0.5, 0.5), 5), [[{ id: 'kept', distance: 0, meta: 'meta' }]]);
  };
  /** Runs `bad` on each subject (holding one face); both must throw the same RangeError and keep the face. */
  const sameError = (bad: (index: NearestFaces) => unknown) => {
    const messages = subjects.map(([name, create]) => {
      const index = holding(create);
      const error = errorOf(() => bad(index));
      assert.ok(error instanceof RangeError, `${name}: ${error}`);
      unchanged(index);
      return error.message;
    });
    assert.equal(messages[0], messages[1]);
    return messages[0];
  };

  test('dimensions', () => {
    for (const dimensions of [0, -1, 1.5, NaN]) {
      const brute = errorOf(() => new BruteForceIndex(dimensions));
      assert.ok(brute instanceof RangeError);
      assert.equal(brute.message, errorOf(() => new FaceIndex({ dimensions })).message);
    }
    assert.equal(new BruteForceIndex().dimensions, new FaceIndex().dimensions);
  });

  test('upsert: wrong length, components not finite or past the int16 rows', () => {
    assert.match(
      sameError((index) => index.upsert('new', new Float32Array(3))),
      /vector has 3 numbers, expected 4/,
    );
    sameError((index) => index.upsert('new', new Float32Array(5)));
    for (const x of [NaN, Infinity, -Infinity, 2, -2]) {
      assert.match(
        sameError((index) => index.upsert('new', Float32Array.of(0, 0, x, 0))),
        /vector element 2 is/,
      );
      // A replacement that fails keeps the face as it was.
      sameError((index) => index.upsert('kept', Float32Array.of(x, 0, 0, 0)));
    }
    // The largest storable component is accepted by both.
    for (const [, create] of subjects) create().upsert('edge', Float32Array.of(INT16_ROW_MAX, -INT16_ROW_MAX, 0, 0));
  });

  test('search: queries, k, maxDistance, effort', () => {
    const query = Float32Array.of(0, 0, 0, 0);
    assert.match(
      sameError((index) => index.search(new Float32Array(6), 1)),
      /not a multiple of 4/,
    );
    for (const k of [-1, 1.5, NaN, Infinity]) sameError((index) => index.search(query, k));
    for (const maxDistance of [-1, NaN]) sameError((index) => index.search(query, 1, maxDistance));
    for (const effort of [0, -1, NaN, Infinity]) sameError((index) => index.search(query, 1, undefined, { approximate: true, effort }));
    for (const x of [NaN, Infinity])
      assert.match(
        sameError((index) => index.search(Float32Array.of(0, 0, 0, 0, 0, x, 0, 0), 1)),
        /query element 5 is/,
      );
  });
});
