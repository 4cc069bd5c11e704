import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { FaceIndex } from '../../libs/face-index/index.js';
import { readSnapshot, SnapshotError, snapshotFileName, writeSnapshot } from '../../libs/snapshot/index.js';
import { syntheticFaces } from '../../libs/synthetic/faces.js';
import { FACE_DIMENSIONS } from '../../libs/vector/index.js';
import { removeDir, tempDir } from '../helpers/nats.js';

const dirs: string[] = [];
after(async () => Promise.all(dirs.map(removeDir)));

async function indexWithFaces() {
  const data = syntheticFaces({ identities: 100, photosPerIdentity: 4, seed: 3 });
  const index = new FaceIndex();
  data.ids.forEach((id, i) => index.upsert(id, data.vectors.subarray(i * FACE_DIMENSIONS, (i + 1) * FACE_DIMENSIONS), i % 3 ? { path: `${id}.jpg` } : undefined));
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
  snap.ids.forEach((id, i) => restored.upsert(id, snap.vectors.subarray(i * FACE_DIMENSIONS, (i + 1) * FACE_DIMENSIONS), snap.metas[i] ?? undefined));
  assert.equal(restored.has(data.ids[5]), false, 'a deleted face stays deleted');
  const queries = data.vectors.subarray(0, 10 * FACE_DIMENSIONS);
  assert.deepEqual(restored.search(queries, 5), index.search(queries, 5));
  const moved = restored.search(data.vectors.subarray(0, FACE_DIMENSIONS), 2)[0];
  assert.deepEqual(
    moved.map((n) => n.id).sort(),
    [data.ids[0], data.ids[6]].sort(),
  );
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
