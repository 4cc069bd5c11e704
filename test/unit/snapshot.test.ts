import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { FaceIndex, bruteForceSearch } from '../../libs/index/face-index/index.js';
import { readSnapshot, SnapshotError, snapshotFileName, snapshotState, snapshotVectors, writeSnapshot } from '../../libs/snapshot/index.js';
import { benchmarkData } from '../../libs/synthetic/face-model.js';
import { syntheticFaces } from '../../libs/synthetic/faces.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import { removeDir, tempDir } from '../helpers/nats.js';
import { onGrid } from '../helpers/stored.js';

const dirs: string[] = [];
after(async () => Promise.all(dirs.map(removeDir)));

async function indexWithFaces() {
  const data = onGrid(syntheticFaces({ identities: 100, photosPerIdentity: 4, seed: 3 }));
  const index = new FaceIndex();
  data.ids.forEach((id, i) =>
    index.upsert(id, data.vectors.subarray(i * FACE_DIMENSIONS, (i + 1) * FACE_DIMENSIONS), i % 3 ? { path: `${id}.jpg` } : undefined),
  );
  index.delete(data.ids[5]);
  index.upsert(data.ids[6], data.vectors.subarray(0, FACE_DIMENSIONS), { moved: true });
  return { data, index };
}

const header = { shard: 2, stream: 'FACES', streamCreated: '2026-11-27T00:00:00Z', appliedSeq: 1234 };

test('a snapshot round-trips the live faces, metas and sequence exactly', async () => {
  const dir = await tempDir('faceshard-snap-');
  dirs.push(dir);
  const { data, index } = await indexWithFaces();
  const written = await writeSnapshot(dir, index, header);
  assert.equal(written.faces, index.size);
  assert.deepEqual(await readdir(dir), [snapshotFileName(2)], 'no temp file is left behind');

  const snap = await readSnapshot(dir, 2);
  assert.ok(snap);
  assert.equal(snap.header.appliedSeq, 1234);
  assert.equal(snap.header.faces, index.size);
  const restored = new FaceIndex();
  const vectors = snapshotVectors(snap);
  snap.ids.forEach((id, i) => restored.upsert(id, vectors.subarray(i * FACE_DIMENSIONS, (i + 1) * FACE_DIMENSIONS), snap.metas[i] ?? undefined));
  assert.equal(restored.has(data.ids[5]), false, 'a deleted face stays deleted');
  const queries = data.vectors.subarray(0, 10 * FACE_DIMENSIONS);
  assert.deepEqual(restored.search(queries, 5), index.search(queries, 5));
  const moved = restored.search(data.vectors.subarray(0, FACE_DIMENSIONS), 2)[0];
  assert.deepEqual(moved.map((n) => n.id).sort(), [data.ids[0], data.ids[6]].sort());
  assert.deepEqual(moved.find((n) => n.id === data.ids[6])?.meta, { moved: true });
  assert.equal(await readSnapshot(dir, 3), undefined, 'no snapshot for another shard');
});

test('a corrupted, truncated or foreign file is detected, never loaded', async () => {
  const dir = await tempDir('faceshard-snap-');
  dirs.push(dir);
  const { index } = await indexWithFaces();
  const { file } = await writeSnapshot(dir, index, header);
  const good = await readFile(file);

  const flipped = Buffer.from(good);
  flipped[Math.floor(flipped.length / 2)] ^= 0x40;
  await writeFile(file, flipped);
  await assert.rejects(readSnapshot(dir, 2), (err: unknown) => err instanceof SnapshotError && /checksum mismatch/.test(err.message));

  await writeFile(file, good.subarray(0, good.length - 1000));
  await assert.rejects(readSnapshot(dir, 2), /checksum mismatch|truncated/);

  await writeFile(file, good.subarray(0, 20));
  await assert.rejects(readSnapshot(dir, 2), /too short/);

  await writeFile(file, Buffer.concat([Buffer.from('NOTASNAP'), good.subarray(8)]));
  await assert.rejects(readSnapshot(dir, 2), /bad magic/);

  await writeFile(file, good);
  assert.equal((await readSnapshot(dir, 2))?.header.faces, index.size);
  assert.equal(path.basename(file), 'shard-2.snapshot');
});

/** A live index with IVF lists, recent (unmerged) rows, replaced and deleted faces. */
function indexWithLists() {
  const faces = 12_000;
  const data = onGrid(benchmarkData({ faces, identities: faces / 5, queries: 60, seed: 77 }));
  const dims = FACE_DIMENSIONS;
  const options = { approximate: { minRows: 4000 } };
  const index = new FaceIndex(options);
  for (let i = 0; i < faces - 500; i++) index.upsert(data.ids[i], data.vectors.subarray(i * dims, (i + 1) * dims), i % 4 ? { i } : undefined);
  index.rebuild();
  // Recent rows (not merged into the lists yet), a replacement and deletes.
  for (let i = faces - 500; i < faces; i++) index.upsert(data.ids[i], data.vectors.subarray(i * dims, (i + 1) * dims));
  index.upsert(data.ids[3], data.vectors.subarray(10 * dims, 11 * dims), { replaced: true });
  for (let i = 20; i < 30; i++) index.delete(data.ids[i]);
  return { data, index, options };
}

test('v3 carries the IVF and the pre-filter: a restored index answers exactly like the live one, exact and approximate, without training or learning', async () => {
  const dir = await tempDir('faceshard-snap-');
  dirs.push(dir);
  const { data, index, options } = indexWithLists();
  const live = index.stats();
  assert.ok(live.lists > 0 && live.listedRows < live.faces, `lists ${live.lists}, listed ${live.listedRows} of ${live.faces}`);
  await writeSnapshot(dir, index, header);
  const snap = await readSnapshot(dir, 2);
  assert.ok(snap?.ivf);
  assert.ok(snap.prefilter, 'the pre-filter was ready: its codes are in the file');
  assert.equal(snap.header.version, 3);
  assert.equal(snap.header.faces, index.size);

  const restored = new FaceIndex(options);
  restored.pauseMaintenance();
  restored.importState(snapshotState(snap));
  assert.equal(restored.stats().prefilter, true, 'the pre-filter is ready at once');
  assert.equal(restored.size, index.size);
  assert.equal(restored.has(data.ids[25]), false);
  const queries = data.queries;
  const sameAnswers = (when: string) => {
    assert.deepEqual(restored.search(queries, 10), index.search(queries, 10), when);
    for (const effort of [0.5, 1]) {
      assert.deepEqual(
        restored.search(queries, 10, undefined, { approximate: true, effort }),
        index.search(queries, 10, undefined, { approximate: true, effort }),
        `${when}, effort ${effort}`,
      );
    }
  };
  // Loaded as it was: the same lists, the same recent rows.
  assert.equal(restored.stats().listedRows, live.listedRows - 11, 'the listed rows but the 10 deleted and 1 replaced');
  sameAnswers('as loaded');
  // Resumed: recent rows merged into the lists, nothing retrained; the live index after a rebuild (compaction, merge) is the same.
  restored.resumeMaintenance();
  index.rebuild();
  assert.equal(restored.stats().lists, live.lists, 'the same lists: nothing retrained');
  assert.equal(restored.stats().listedRows, restored.size);
  sameAnswers('after resume');
  assert.deepEqual(
    restored.search(queries, 5).map((list) => list.map(({ id, distance }) => ({ id, distance }))),
    bruteForceOf(restored, queries, 5),
  );
  const own = restored.search(data.vectors.subarray(10 * FACE_DIMENSIONS, 11 * FACE_DIMENSIONS), 2)[0];
  assert.deepEqual(new Set(own.map((n) => n.id)), new Set([data.ids[3], data.ids[10]]));
  assert.deepEqual(own.find((n) => n.id === data.ids[3])?.meta, { replaced: true });

  // Writes after the restore (a replay): found at once, and still exact.
  restored.pauseMaintenance();
  restored.importState(snapshotState((await readSnapshot(dir, 2))!));
  assert.equal(restored.maintenancePending, false, 'nothing to learn');
  for (let q = 0; q < 20; q++) restored.upsert(`after-${q}`, queries.subarray(q * FACE_DIMENSIONS, (q + 1) * FACE_DIMENSIONS));
  restored.resumeMaintenance();
  assert.equal(restored.stats().lists, live.lists);
  const found = restored.search(queries.subarray(0, 20 * FACE_DIMENSIONS), 1, undefined, { approximate: true });
  found.forEach((list, q) => assert.deepEqual(list[0], { id: `after-${q}`, distance: 0 }));
});

/** The oracle over an index's own live faces. */
function bruteForceOf(index: FaceIndex, queries: Float32Array, k: number) {
  const ids: string[] = [];
  const vectors = new Float32Array(index.size * FACE_DIMENSIONS);
  index.forEachFace((id, vector) => {
    vectors.set(vector, ids.length * FACE_DIMENSIONS);
    ids.push(id);
  });
  return bruteForceSearch(vectors, ids, queries, k, FACE_DIMENSIONS);
}

test('a corrupted v3 file (in the IVF and pre-filter sections too) is refused', async () => {
  const dir = await tempDir('faceshard-snap-');
  dirs.push(dir);
  const { index } = indexWithLists();
  const { file } = await writeSnapshot(dir, index, header);
  const good = await readFile(file);
  assert.equal(good.subarray(0, 8).toString('latin1'), 'FSNAP003');
  // Byte offsets: just past the rows (the rows' lists), the centroids, the pre-filter's codes near the end, a row.
  const headerBytes = good.readUInt32LE(8);
  const rowsEnd = 12 + headerBytes + index.size * FACE_DIMENSIONS * 2;
  const h = JSON.parse(good.subarray(12, 12 + headerBytes).toString('utf8')) as {
    ivf: { lists: number; groups: number };
    prefilter: { prefixDims: number; rankAxes: number };
  };
  const ivfEnd = rowsEnd + index.size * 4 + (h.ivf.lists + h.ivf.groups) * FACE_DIMENSIONS * 4 + (h.ivf.groups + 1) * 4;
  const prefixCodes = ivfEnd + (1 + h.prefilter.prefixDims) * FACE_DIMENSIONS * 8 + h.prefilter.rankAxes * 16 * 8 + index.size * 4;
  for (const at of [rowsEnd + 100, rowsEnd + index.size * 4 + 400, prefixCodes + 1000, 12 + headerBytes + 7]) {
    const bad = Buffer.from(good);
    bad[at] ^= 0x01;
    await writeFile(file, bad);
    await assert.rejects(readSnapshot(dir, 2), (err: unknown) => err instanceof SnapshotError && /checksum mismatch/.test(err.message), `byte ${at}`);
  }
  await writeFile(file, good.subarray(0, good.length - 5));
  await assert.rejects(readSnapshot(dir, 2), SnapshotError);
  // A header claiming v1 inside a v3 file (checksum recomputed) is refused too.
  const headerJson = JSON.parse(good.subarray(12, 12 + headerBytes).toString('utf8')) as Record<string, unknown>;
  const v1Header = Buffer.from(JSON.stringify({ ...headerJson, version: 1, ivf: undefined, prefilter: undefined }));
  const body = Buffer.concat([good.subarray(0, 8), u32(v1Header.length), v1Header, good.subarray(12 + headerBytes, good.length - 32)]);
  await writeFile(file, Buffer.concat([body, createHash('sha256').update(body).digest()]));
  await assert.rejects(readSnapshot(dir, 2), /version/);
  await writeFile(file, good);
  assert.ok((await readSnapshot(dir, 2))?.ivf);
});

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n, 0);
  return b;
}

/** A version 1 file, byte for byte as the v1 writer made them. */
function v1File(ids: string[], vectors: Float32Array, metas: unknown[]): Buffer {
  const h = Buffer.from(JSON.stringify({ version: 1, ...header, faces: ids.length, dims: FACE_DIMENSIONS, createdAt: '2026-11-27T00:00:00Z' }));
  const names = Buffer.from(JSON.stringify([ids, metas]));
  const body = Buffer.concat([
    Buffer.from('FSNAP001', 'latin1'),
    u32(h.length),
    h,
    Buffer.from(vectors.buffer, vectors.byteOffset, vectors.byteLength),
    u32(names.length),
    names,
  ]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

test('v1 files still load (the lists are built on resume); a corrupted v1 is refused', async () => {
  const dir = await tempDir('faceshard-snap-');
  dirs.push(dir);
  const { data, index, options } = indexWithLists();
  const ids: string[] = [];
  const metas: unknown[] = [];
  const vectors = new Float32Array(index.size * FACE_DIMENSIONS);
  index.forEachFace((id, vector, meta) => {
    vectors.set(vector, ids.length * FACE_DIMENSIONS);
    ids.push(id);
    metas.push(meta ?? null);
  });
  const file = path.join(dir, snapshotFileName(2));
  const v1 = v1File(ids, vectors, metas);
  await writeFile(file, v1);
  const snap = await readSnapshot(dir, 2);
  assert.ok(snap);
  assert.equal(snap.header.version, 1);
  assert.equal(snap.ivf, undefined);
  const restored = new FaceIndex(options);
  restored.pauseMaintenance();
  restored.importState(snapshotState(snap));
  restored.resumeMaintenance();
  assert.ok(restored.stats().lists > 0);
  assert.equal(restored.stats().listedRows, restored.size);
  assert.deepEqual(restored.search(data.queries, 10), index.search(data.queries, 10));
  assert.deepEqual(
    restored.search(data.queries.subarray(0, 5 * FACE_DIMENSIONS), 3)[0][0].meta,
    index.search(data.queries.subarray(0, 5 * FACE_DIMENSIONS), 3)[0][0].meta,
  );

  // The shard loads it too, and knows to write it again in today's format.
  const { restoreSnapshot } = await import('../../services/shard/snapshots.js');
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as unknown as Parameters<
    typeof restoreSnapshot
  >[4];
  const shardIndex = new FaceIndex(options);
  shardIndex.pauseMaintenance();
  assert.deepEqual(await restoreSnapshot(dir, 2, { stream: header.stream, created: header.streamCreated }, shardIndex, quiet), {
    appliedSeq: header.appliedSeq,
    outdated: true,
  });

  const bad = Buffer.from(v1);
  bad[bad.length - 100] ^= 0x20;
  await writeFile(file, bad);
  await assert.rejects(readSnapshot(dir, 2), /checksum mismatch/);
});

test('the shard restores a snapshot with its lists (no training), and refuses a foreign or damaged one', async () => {
  const { restoreSnapshot } = await import('../../services/shard/snapshots.js');
  const dir = await tempDir('faceshard-snap-');
  dirs.push(dir);
  const { data, index, options } = indexWithLists();
  await writeSnapshot(dir, index, header);
  const warnings: string[] = [];
  const log = {
    info: () => undefined,
    warn: (msg: string) => void warnings.push(msg),
    error: () => undefined,
    debug: () => undefined,
  } as unknown as Parameters<typeof restoreSnapshot>[4];
  const stream = { stream: header.stream, created: header.streamCreated };
  const restored = new FaceIndex(options);
  restored.pauseMaintenance();
  assert.deepEqual(await restoreSnapshot(dir, 2, stream, restored, log), { appliedSeq: header.appliedSeq, outdated: false });
  assert.equal(restored.stats().lists, index.stats().lists, 'lists loaded, not trained');
  restored.resumeMaintenance();
  assert.deepEqual(restored.search(data.queries, 5), index.search(data.queries, 5));
  assert.deepEqual(warnings, []);

  const other = new FaceIndex(options);
  assert.equal((await restoreSnapshot(dir, 2, { ...stream, created: 'recreated' }, other, log)).appliedSeq, 0);
  const file = path.join(dir, snapshotFileName(2));
  const bad = await readFile(file);
  bad[bad.length - 40] ^= 1;
  await writeFile(file, bad);
  assert.equal((await restoreSnapshot(dir, 2, stream, other, log)).appliedSeq, 0);
  assert.equal(other.size, 0);
  assert.equal(warnings.length, 2);
});
