import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { writeNpyFloat32 } from '../../libs/npy/write.js';
import { samplePhotoDir } from '../../libs/sample-photos/index.js';
import { syntheticFaces } from '../../libs/synthetic/faces.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { faceshard } from '../helpers/cli.js';
import { removeDir, tempDir } from '../helpers/nats.js';
import { storedIds } from '../helpers/stored-ids.js';

/**
 * Issue 21: ids that cannot collide by accident (a dataset's or file's own name starts
 * its ids), a delete that says which ids existed, and errors that name the path and say
 * what to do instead.
 */

describe('ids, deletes and errors a person can trust', { timeout: 240_000 }, () => {
  let cluster: TestCluster;
  let work: string;
  before(async () => {
    cluster = await startTestCluster({ shards: 2, auth: true });
    work = await tempDir('faceshard-ids-');
  });
  after(async () => {
    await cluster?.cleanup();
    if (work) await removeDir(work);
  });

  test('two datasets with the same inner paths keep their own faces and their own done marks', async () => {
    // photos/family/sample1.jpg and other/family/sample1.jpg: different photos, one inner path.
    const photos = path.join(work, 'photos');
    const other = path.join(work, 'other');
    await mkdir(path.join(photos, 'family'), { recursive: true });
    await mkdir(path.join(other, 'family'), { recursive: true });
    await writeFile(path.join(photos, 'family', 'sample1.jpg'), await readFile(path.join(samplePhotoDir(), 'sample1.jpg')));
    await writeFile(path.join(photos, 'family', 'sample4.jpg'), await readFile(path.join(samplePhotoDir(), 'sample4.jpg')));
    const small = await sharp(path.join(samplePhotoDir(), 'sample2.jpg')).resize({ width: 800 }).jpeg().toBuffer();
    await writeFile(path.join(other, 'family', 'sample1.jpg'), small);

    const first = await faceshard(['encode', photos, '--workers', '1', ...cluster.cliArgs()]);
    assert.equal(first.code, 0, first.stderr + first.stdout);
    const second = await faceshard(['encode', other, '--workers', '1', '--resume', ...cluster.cliArgs()]);
    assert.equal(second.code, 0, second.stderr + second.stdout);
    assert.match(second.stderr, /; 0 image\(s\) already done/, "the other folder's marks are not this one's");
    assert.doesNotMatch(second.stdout, /already done \(resumed\)/);

    const ids = await storedIds(cluster);
    const ofPhotos = ids.filter((id) => id.startsWith('photos/family/sample1.jpg#'));
    const ofOther = ids.filter((id) => id.startsWith('other/family/sample1.jpg#'));
    assert.ok(ofPhotos.length >= 3 && ofOther.length >= 1, `both kept their faces: ${ids.join(' ')}`);
    const firstStored = Number(/(\d+) face\(s\) stored/.exec(first.stdout)?.[1]);
    const secondStored = Number(/(\d+) face\(s\) stored/.exec(second.stdout)?.[1]);
    assert.equal(ids.filter((id) => /^(photos|other)\//.test(id)).length, firstStored + secondStored, 'nothing replaced');

    // --resume of photos counts its own two images only.
    const again = await faceshard(['encode', photos, '--workers', '1', '--resume', ...cluster.cliArgs()]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /; 2 image\(s\) already done/);

    const badPrefix = await faceshard(['encode', photos, '--id-prefix', 'a#b', ...cluster.cliArgs()]);
    assert.equal(badPrefix.code, 2);
    assert.match(badPrefix.stderr, /--id-prefix "a#b": must not contain '#'/);
  });

  test('a .npy ingested twice without --ids under two names does not overwrite; the same name replaces', async () => {
    const a = syntheticFaces({ identities: 5, photosPerIdentity: 1, seed: 3 });
    const b = syntheticFaces({ identities: 5, photosPerIdentity: 1, seed: 4 });
    await writeNpyFloat32(path.join(work, 'first.npy'), { rows: 5, dims: FACE_DIMENSIONS, data: a.vectors });
    await writeNpyFloat32(path.join(work, 'second.npy'), { rows: 5, dims: FACE_DIMENSIONS, data: b.vectors });
    for (const name of ['first.npy', 'second.npy', 'first.npy']) {
      const out = await faceshard(['ingest', path.join(work, name), ...cluster.cliArgs()]);
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, new RegExp(`ingested 5 faces from .*${name} as ${name.replace('.npy', '')}/\\.\\.\\.`));
    }
    const ids = (await storedIds(cluster)).filter((id) => /^(first|second)\//.test(id));
    assert.deepEqual(ids, [0, 1, 2, 3, 4].flatMap((row) => [`first/${row}`, `second/${row}`]).sort());

    const given = await faceshard(['ingest', path.join(work, 'second.npy'), '--id-prefix', 'team/b', ...cluster.cliArgs()]);
    assert.equal(given.code, 0, given.stderr);
    assert.ok((await storedIds(cluster)).includes('team/b/4'));
  });

  test('delete says which ids existed: an unknown id is reported, not counted', async () => {
    const file = path.join(work, 'two.jsonl');
    const v = new Array(128).fill(0.03);
    await writeFile(file, `${JSON.stringify({ id: 'keep-me', vector: v })}\n${JSON.stringify({ id: 'delete-me', vector: v })}\n`);
    const ingested = await faceshard(['ingest', file, ...cluster.cliArgs()]);
    assert.equal(ingested.code, 0, ingested.stderr);
    // Right after the ingest: the lookup waits until the shards applied it.
    const deleted = await faceshard(['delete', 'delete-me', 'made-up-id', 'also/not#here', ...cluster.cliArgs()]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(deleted.stdout.trim(), 'deleted 1 of 3 id(s); not found: made-up-id, also/not#here');
    const ids = await storedIds(cluster);
    assert.ok(ids.includes('keep-me') && !ids.includes('delete-me'));

    const reply = await cluster.client.delete(['delete-me', 'never']);
    assert.deepEqual(
      { deleted: reply.deleted, notFound: reply.notFound, tombstones: reply.tombstones },
      { deleted: 0, notFound: ['delete-me', 'never'], tombstones: 0 },
      'a deleted id is gone: not found again',
    );
  });

  test('errors name the path and say what to do', async () => {
    const photo = path.join(work, 'photo.jpg');
    await writeFile(photo, await readFile(path.join(samplePhotoDir(), 'sample1.jpg')));
    const one = await faceshard(['encode', photo, ...cluster.cliArgs()]);
    assert.equal(one.code, 2);
    assert.match(one.stderr, /encode takes a folder or a \.zip of images, and .*photo\.jpg is one photo: .*faceshard query .*photo\.jpg/);

    const gone = path.join(work, 'gone');
    const encodeMissing = await faceshard(['encode', gone, ...cluster.cliArgs()]);
    assert.match(encodeMissing.stderr, new RegExp(`${gone}: no such file or folder`));
    const ingestMissing = await faceshard(['ingest', `${gone}.npy`, ...cluster.cliArgs()]);
    assert.equal(ingestMissing.code, 1);
    assert.match(ingestMissing.stderr, new RegExp(`${gone}\\.npy: no such file`));
    const queryMissing = await faceshard(['query', `${gone}.jpg`, ...cluster.cliArgs()]);
    assert.equal(queryMissing.code, 1);
    assert.match(queryMissing.stderr, new RegExp(`${gone}\\.jpg: no such file`));
    const idsMissing = await faceshard(['ingest', path.join(work, 'first.npy'), '--ids', `${gone}.txt`, ...cluster.cliArgs()]);
    assert.match(idsMissing.stderr, new RegExp(`${gone}\\.txt: no such file \\(the ids file\\)`));
  });
});
