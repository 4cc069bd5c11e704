// A snapshot written by an earlier build (1d7ddd5, before issue 23's row store, search
// split and maintenance rule) loads into today's index without training and answers
// exactly as that build did. The fixture and its answers were made by
// test/fixtures/snapshot-1d7ddd5/make-fixture.mjs run against that build.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FaceIndex, type Neighbor } from '../../libs/index/face-index/index.js';
import { readSnapshot, snapshotState } from '../../libs/snapshot/index.js';

/** The fixture folder in the source tree (this file runs from dist/test/unit). */
const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/snapshot-1d7ddd5');

interface Answers {
  builtBy: string;
  stats: { faces: number; lists: number; listedRows: number };
  queries: number[];
  exact: Neighbor[][];
  approximate: Neighbor[][];
}

test('a snapshot written by build 1d7ddd5 loads without training and answers exactly as that build did', async () => {
  const answers = JSON.parse(await readFile(path.join(FIXTURE, 'answers.json'), 'utf8')) as Answers;
  const snapshot = await readSnapshot(FIXTURE, 0);
  assert.ok(snapshot, 'the fixture snapshot is found');
  assert.equal(snapshot.header.appliedSeq, 4242);
  const index = new FaceIndex({ approximate: { minRows: 300, listsPerSqrtRow: 1 }, deltaLimit: 40, backgroundMaintenance: false });
  index.importState(snapshotState(snapshot));
  const stats = index.stats();
  assert.equal(stats.faces, answers.stats.faces);
  assert.ok(answers.stats.lists > 0, 'the fixture has IVF lists');
  assert.equal(stats.lists, answers.stats.lists, 'the lists are adopted, not trained again');
  assert.equal(index.maintenancePending, false, 'no training started');
  const queries = Float32Array.from(answers.queries);
  // JSON drops undefined metas: compare through the same round trip.
  const viaJson = (results: Neighbor[][]) => JSON.parse(JSON.stringify(results)) as Neighbor[][];
  assert.deepEqual(viaJson(index.search(queries, 5)), answers.exact, 'exact answers');
  assert.deepEqual(viaJson(index.search(queries, 5, undefined, { approximate: true, effort: 1 })), answers.approximate, 'approximate answers');
});
