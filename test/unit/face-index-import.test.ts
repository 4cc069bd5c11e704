import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FaceIndex, bruteForceSearch, type FaceIndexState } from '../../libs/index/face-index/index.js';
import { benchmarkData } from '../../libs/synthetic/face-model.js';
import { onGrid } from '../helpers/stored.js';

/**
 * FaceIndex.importState of what exportState gave (what a snapshot carries): the rows as
 * int16 codes, the IVF lists, and the pre-filter's parameters with every row's codes.
 * An import answers from its first query as the index it came from, without learning the
 * pre-filter again; pre-filter codes that do not belong to the rows are refused (the
 * filter learns again) and answers stay exact.
 */
const dims = 128;
const faces = 12_000;
const data = onGrid(benchmarkData({ faces, identities: faces / 5, queries: 50, seed: 41 }));

/** Lists trained and the pre-filter learned on part of the faces, then more written (recent rows) and some replaced or deleted. */
function liveIndex(): FaceIndex {
  const index = new FaceIndex({ approximate: { minRows: 4000 }, backgroundMaintenance: false });
  for (let i = 0; i < faces - 3000; i++) index.upsert(data.ids[i], data.vectors.subarray(i * dims, (i + 1) * dims), i % 3 ? { i } : undefined);
  index.rebuild();
  for (let i = faces - 3000; i < faces; i++) index.upsert(data.ids[i], data.vectors.subarray(i * dims, (i + 1) * dims));
  index.upsert(data.ids[7], data.vectors.subarray(100 * dims, 101 * dims), { moved: true });
  for (let i = 40; i < 60; i++) index.delete(data.ids[i]);
  return index;
}

const approximate = (index: FaceIndex, effort: number) => index.search(data.queries, 10, undefined, { approximate: true, effort });

/** The same index's state, imported into a fresh index the way a replica loads a snapshot (maintenance paused). */
function imported(state: FaceIndexState): FaceIndex {
  const index = new FaceIndex({ approximate: { minRows: 4000 }, backgroundMaintenance: false });
  index.pauseMaintenance();
  index.importState(state);
  return index;
}

test('an imported state answers from its first query as the index it came from: its pre-filter adopted, not learned again', () => {
  const live = liveIndex();
  const state = live.exportState();
  assert.ok(state.rows && !state.vectors, 'rows go out as the int16 codes the index stores');
  assert.ok(state.prefilter, 'the pre-filter was ready: its parameters and codes go out');
  const learnedOn = state.prefilter.learnedRows;
  assert.ok(learnedOn < live.size, `learned on ${learnedOn} rows, before the last ${live.size - learnedOn} were written`);

  const index = imported(live.exportState());
  assert.equal(index.stats().prefilter, true, 'ready at once');
  assert.equal(index.maintenancePending, false);
  // Learning again would have learned on every row: the parameters are the exported ones.
  const again = index.exportState().prefilter!;
  assert.equal(again.learnedRows, learnedOn);
  assert.deepEqual(again.offset, state.prefilter.offset);
  assert.deepEqual(again.codes, state.prefilter.codes);
  for (const effort of [0.5, 1, 2]) assert.deepEqual(approximate(index, effort), approximate(live, effort), `approximate, effort ${effort}`);
  assert.deepEqual(index.search(data.queries, 10), live.search(data.queries, 10), 'exact');
  index.resumeMaintenance();
  live.rebuild();
  assert.deepEqual(approximate(index, 1), approximate(live, 1), 'after resume (recent rows merged)');
});

test('pre-filter codes or parameters that do not fit the rows are refused: the filter learns again and answers stay exact', () => {
  const live = liveIndex();
  const oracle = (() => {
    const ids: string[] = [];
    const vectors = new Float32Array(live.size * dims);
    live.forEachFace((id, vector) => {
      vectors.set(vector, ids.length * dims);
      ids.push(id);
    });
    return (k: number) => bruteForceSearch(vectors, ids, data.queries, k, dims).map((list) => list.map(({ id, distance }) => ({ id, distance })));
  })();
  const exact = (index: FaceIndex) => index.search(data.queries, 10).map((list) => list.map(({ id, distance }) => ({ id, distance })));
  const learnedOn = live.exportState().prefilter!.learnedRows;

  const cases: Array<[string, (state: FaceIndexState) => void]> = [
    // Row 0 is among the rows checked: its codes no longer match its vector.
    ['a row codes', (s) => (s.prefilter!.codes[3] += 9)],
    ['a row miss', (s) => (s.prefilter!.residuals[0] *= 0.5)],
    ['a row 4-bit codes', (s) => (s.prefilter!.rankCodes[1] ^= 0x11)],
    // Codes of other rows: shifted by one row.
    ['codes shifted a row', (s) => s.prefilter!.codes.copyWithin(s.prefilter!.codeDims, 0)],
    ['the offset', (s) => (s.prefilter!.offset[0] += 0.05)],
    ['the levels, out of order', (s) => (s.prefilter!.levels[1] = s.prefilter!.levels[0] - 1)],
    ['the shape', (s) => (s.prefilter!.codeDims = 32)],
  ];
  for (const [what, spoil] of cases) {
    const state = live.exportState();
    spoil(state);
    const index = imported(state);
    assert.equal(index.stats().prefilter, true, `${what}: learned again, ready`);
    assert.equal(index.exportState().prefilter!.learnedRows, index.size, `${what}: learned on every row (not adopted: ${learnedOn})`);
    assert.deepEqual(exact(index), oracle(10), `${what}: exact answers`);
  }
});

test('an index without the pre-filter imports a state that has one (and the reverse): answers the same', () => {
  const live = liveIndex();
  const plain = new FaceIndex({ prefilter: false, approximate: { minRows: 4000 }, backgroundMaintenance: false });
  plain.importState(live.exportState());
  assert.equal(plain.stats().prefilter, false);
  assert.deepEqual(plain.search(data.queries, 10), live.search(data.queries, 10));
  const state = plain.exportState();
  assert.equal(state.prefilter, undefined);
  const back = imported(state);
  assert.equal(back.stats().prefilter, true, 'learned on import');
  assert.deepEqual(back.search(data.queries, 10), live.search(data.queries, 10));
});
