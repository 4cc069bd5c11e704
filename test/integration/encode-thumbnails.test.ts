// Thumbnails from `faceshard encode` (issue 25): run here (the CLI crops while it encodes) and
// with --queue (the encoder service's job worker crops from the job's image), each with and
// without --no-thumbnails. A real nats-server with authentication, a real encoder, two of
// face-api's sample photos.
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { ThumbnailStore } from '../../libs/nats/thumbnail-store/index.js';
import { subjectsFor } from '../../libs/protocol/subjects.js';
import { samplePhotoDir } from '../../libs/sample-photos/index.js';
import { faceshard } from '../helpers/cli.js';
import { startEncoder, startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { removeDir, tempDir } from '../helpers/nats.js';

const PHOTOS = ['sample2.jpg', 'sample5.jpg'];

describe('thumbnails from faceshard encode, here and through the encode queue', { timeout: 600_000 }, () => {
  let cluster: TestCluster;
  let dir: string;
  let photos: string;
  let store: ThumbnailStore;

  /** Encodes the photos under `prefix`; the ids stored and how many of them have a 96 px WebP thumbnail. */
  const encode = async (prefix: string, flags: string[]) => {
    const run = await faceshard(['encode', photos, '--id-prefix', prefix, ...flags, ...cluster.cliArgs()]);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    const ids = (await cluster.client.list({ prefix: `${prefix}/`, limit: 100 })).faces.map((f) => f.id);
    assert.ok(ids.length >= PHOTOS.length, `faces stored under ${prefix}: ${ids.length}\n${run.stdout}`);
    let withThumbnail = 0;
    for (const id of ids) {
      const thumbnail = await store.get(id);
      if (!thumbnail) continue;
      const meta = await sharp(thumbnail.data).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 96, 96], id);
      withThumbnail++;
    }
    return { ids, withThumbnail, stderr: run.stderr };
  };

  before(async () => {
    cluster = await startTestCluster({ shards: 2, auth: true });
    await startEncoder(cluster);
    dir = await tempDir('faceshard-encode-thumbnails-');
    photos = path.join(dir, 'photos');
    await mkdir(photos);
    for (const name of PHOTOS) await copyFile(path.join(samplePhotoDir(), name), path.join(photos, name));
    store = await ThumbnailStore.of(await cluster.adminNc(), subjectsFor('faces'));
  });
  after(async () => {
    await cluster?.cleanup();
    if (dir) await removeDir(dir);
  });

  test('encoded here: every stored face gets its thumbnail; --no-thumbnails: none', async () => {
    const on = await encode('here', ['--workers', '0']);
    assert.equal(on.withThumbnail, on.ids.length);
    assert.doesNotMatch(on.stderr, /not stored/);
    const off = await encode('here-off', ['--workers', '0', '--no-thumbnails']);
    assert.equal(off.withThumbnail, 0);
    assert.equal(off.ids.length, on.ids.length);
  });

  test('--queue: the encoder service stores every face’s thumbnail; --no-thumbnails reaches it as a job option', async () => {
    const on = await encode('queued', ['--queue']);
    assert.equal(on.withThumbnail, on.ids.length);
    const off = await encode('queued-off', ['--queue', '--no-thumbnails']);
    assert.equal(off.withThumbnail, 0);
    assert.equal(off.ids.length, on.ids.length);
  });
});
