/**
 * The shard's snapshot schedule (services/shard/snapshots.ts): when a snapshot is taken,
 * put off, and what `lastSeq` reports. Real files in a temp dir, a real (small) index.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { FaceIndex } from '../../libs/index/face-index/index.js';
import { createLogger } from '../../libs/observability/logger.js';
import { createRegistry } from '../../libs/observability/metrics.js';
import { readSnapshot, SNAPSHOT_VERSION, snapshotFileName } from '../../libs/snapshot/index.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import { shardMetrics } from '../../services/shard/metrics.js';
import { scheduleSnapshots } from '../../services/shard/snapshots.js';
import { until } from '../helpers/wait.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A 20-face index that applied up to sequence 7, snapshotted every second into a fresh dir. */
async function schedule(lastSeq: number, busy?: () => boolean, outdated?: boolean) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'faceshard-schedule-'));
  dirs.push(dir);
  const index = new FaceIndex();
  for (let i = 0; i < 20; i++)
    index.upsert(
      `face-${i}`,
      Float32Array.from({ length: FACE_DIMENSIONS }, (_, d) => Math.sin(i + d)),
    );
  const state = { appliedSeq: 7, targetSeq: 7, caughtUp: true };
  const snapshots = scheduleSnapshots({
    dir,
    intervalS: 1,
    shard: 0,
    stream: { stream: 'S', created: 'c' },
    index,
    state,
    lastSeq,
    metrics: shardMetrics(createRegistry('shard'), 0),
    log: createLogger({ service: 'test' }, 'error'),
    finishMaintenanceMs: 100,
    busy,
    outdated,
  });
  return { dir, state, snapshots };
}

test('snapshots: taken within the first interval, put off while busy (a bounded number of ticks), then taken', async () => {
  let busy = true;
  const { dir, state, snapshots } = await schedule(0, () => busy);
  try {
    // Busy the whole time: put off at most 4 ticks (first tick < 1 s, then one a second).
    assert.equal(snapshots.lastSeq, 0);
    await sleep(2500);
    assert.equal(snapshots.lastSeq, 0, 'nothing written while busy and within the deferral bound');
    await until('taken anyway once put off for 4 ticks', () => (snapshots.lastSeq === 7 ? true : undefined), 4000, 50);
    assert.equal((await readSnapshot(dir, 0))?.header.appliedSeq, 7);
    // Idle: a newly applied record is snapshotted at the next tick.
    busy = false;
    state.appliedSeq = 9;
    await until('the next tick takes the new record', () => (snapshots.lastSeq === 9 ? true : undefined), 2000, 50);
  } finally {
    await snapshots.stop();
  }
  assert.equal((await readSnapshot(dir, 0))?.header.appliedSeq, 9);
});

test('snapshots: nothing new, none written; at stop, the last one', async () => {
  const { dir, state, snapshots } = await schedule(7); // as if loaded from a snapshot covering everything applied
  await sleep(1500);
  assert.equal(await readSnapshot(dir, 0), undefined, 'no snapshot: nothing applied since');
  state.appliedSeq = 8;
  await snapshots.stop();
  assert.equal(snapshots.lastSeq, 8);
  assert.equal((await readSnapshot(dir, 0))?.header.appliedSeq, 8);
});

test("snapshots: an index loaded from an older format is written in today's at the first tick, though nothing is new; then not again", async () => {
  const { dir, snapshots } = await schedule(7, undefined, true);
  try {
    const first = await until('written at the first tick', () => readSnapshot(dir, 0), 2000, 50);
    assert.equal(first.header.version, SNAPSHOT_VERSION);
    assert.equal(first.header.appliedSeq, 7);
    const { mtimeMs } = await stat(path.join(dir, snapshotFileName(0)));
    await sleep(1500);
    assert.equal((await stat(path.join(dir, snapshotFileName(0)))).mtimeMs, mtimeMs, 'nothing new since: not written again');
  } finally {
    await snapshots.stop();
  }
});
