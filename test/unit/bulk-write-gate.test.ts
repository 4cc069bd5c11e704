import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { FaceIndex, bruteForceSearch } from '../../libs/index/face-index/index.js';
import { syntheticFaces } from '../../libs/synthetic/faces.js';
import { onGrid } from '../helpers/stored.js';
import { BulkWriteGate } from '../../services/shard/bulk-write-gate.js';

const data = onGrid(syntheticFaces({ identities: 800, photosPerIdentity: 5, seed: 31 })); // 4,000 faces
const QUIET_MS = 40;

/** Writes faces [start, end) as one record and tells the gate, like the log replayer does. */
function applyRecord(index: FaceIndex, gate: BulkWriteGate, start: number, end: number, pending = 0) {
  for (let i = start; i < end; i++) index.upsert(data.ids[i], data.vectors.subarray(i * 128, (i + 1) * 128));
  gate.noteRecord(end - start, pending);
}

function freshIndex() {
  // No background slices: training advances only on writes and maintenanceStep, so the test sees each state.
  return new FaceIndex({ approximate: { minRows: 1000 }, backgroundMaintenance: false });
}

test('bulk records defer index training until the writes go quiet; answers stay exact meanwhile', async () => {
  const index = freshIndex();
  const changes: boolean[] = [];
  const gate = new BulkWriteGate(index, { bulkRecordFaces: 500, quietMs: QUIET_MS, onChange: (d) => changes.push(d) });
  for (let start = 0; start < 4000; start += 500) applyRecord(index, gate, start, start + 500);
  assert.equal(gate.isDeferring, true);
  assert.equal(index.maintenancePending, false, 'no training job while bulk writes come in');
  assert.equal(index.stats().lists, 0);

  const queries = data.vectors.subarray(0, 8 * 128);
  const exact = bruteForceSearch(data.vectors.subarray(0, 4000 * 128), data.ids.slice(0, 4000), queries, 5, 128);
  assert.deepEqual(index.search(queries, 5), exact);
  assert.deepEqual(index.search(queries, 5, undefined, { approximate: true }), exact, 'approximate without lists scans every row');

  await sleep(QUIET_MS * 3);
  assert.equal(gate.isDeferring, false, 'resumed after the quiet time');
  assert.deepEqual(changes, [true, false]);
  assert.equal(index.maintenancePending, true, 'the first training runs in steps, not inside the timer');
  while (index.maintenanceStep(50));
  assert.ok(index.stats().lists > 0, 'lists trained after the bulk load');
  assert.equal(index.stats().listedRows, 4000);
  assert.deepEqual(index.search(queries, 5), exact);
});

test('small records with nothing pending leave maintenance running as writes come', () => {
  const index = freshIndex();
  const gate = new BulkWriteGate(index, { bulkRecordFaces: 500, quietMs: QUIET_MS });
  for (let start = 0; start < 4000; start += 10) applyRecord(index, gate, start, start + 10);
  assert.equal(gate.isDeferring, false);
  while (index.maintenanceStep(50));
  assert.ok(index.stats().lists > 0, 'trained while writing');
  gate.stop();
});

test('a replica behind its log defers even for small records; stop() ends the deferral at once', () => {
  const index = freshIndex();
  const gate = new BulkWriteGate(index, { bulkRecordFaces: 500, quietMs: 60_000 });
  for (let start = 0; start < 2000; start += 10) applyRecord(index, gate, start, start + 10, 3);
  assert.equal(gate.isDeferring, true);
  assert.equal(index.stats().lists, 0);
  gate.stop(); // would otherwise hold the test open for a minute
  assert.equal(gate.isDeferring, false);
  while (index.maintenanceStep(50));
  assert.equal(index.stats().listedRows, 2000);
});
