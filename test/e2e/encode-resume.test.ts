import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { samplePhotoDir } from '../../libs/sample-photos/index.js';
import { portrait } from '../fixtures/sample-portraits.js';
import { openDoneMarks } from '../../services/encoder/done-marks.js';
import { EncodeReport } from '../../cli/encode/report.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { faceshard } from '../helpers/cli.js';
import { removeDir, tempDir } from '../helpers/nats.js';

/**
 * `faceshard encode FOLDER --resume`: images that gave no face (none found, not an image,
 * empty) are done as much as those with faces, so a second run redoes none of
 * them and counts them as resumed. (The --queue mode's twin is in test/integration/encode-queue.)
 */

// sample1.jpg's first clear face (face-api SSD on wasm).
const FACE = { x: 414, y: 355, width: 177, height: 240 };

describe('encode a folder, then again with --resume', { timeout: 240_000 }, () => {
  let cluster: TestCluster;
  let work: string;
  let dataset: string;
  before(async () => {
    cluster = await startTestCluster({ shards: 1 });
    work = await tempDir('faceshard-encode-resume-');
    dataset = path.join(work, 'photos');
    const photo = await readFile(path.join(samplePhotoDir(), 'sample1.jpg'));
    await mkdir(dataset, { recursive: true });
    const face = await portrait(photo, FACE, 0);
    await writeFile(path.join(dataset, 'face.jpg'), face);
    await writeFile(
      path.join(dataset, 'blank.jpg'),
      await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 90, g: 160, b: 110 } } })
        .jpeg()
        .toBuffer(),
    );
    await writeFile(path.join(dataset, 'broken.jpg'), 'not a photo');
    await writeFile(path.join(dataset, 'empty.jpg'), Buffer.alloc(0));
  });
  after(async () => {
    await cluster?.cleanup();
    if (work) await removeDir(work);
  });

  test('face-less, corrupt and empty images are recorded done with their reason; --resume skips and counts them', async () => {
    const report = path.join(work, 'report.json');
    const first = await faceshard(['encode', dataset, '--workers', '1', '--report', report, '--nats', cluster.url]);
    assert.equal(first.code, 0, first.stderr + first.stdout);
    const r = EncodeReport.parse(JSON.parse(await readFile(report, 'utf8')));
    assert.equal(r.images, 4);
    assert.equal(r.faces, 1);
    assert.deepEqual(r.skipped, [
      { path: 'blank.jpg', reason: 'no face found' },
      { path: 'broken.jpg', reason: 'not an image or unsupported format' },
      { path: 'empty.jpg', reason: 'empty file' },
    ]);

    // What --resume reads: every image marked done, the skipped ones with why.
    const marks = await openDoneMarks(cluster.client.nc, cluster.client.subjects, 'photos');
    assert.equal((await marks.get('face.jpg'))?.faces, 1);
    for (const skip of r.skipped) assert.equal((await marks.get(skip.path))?.skipped, skip.reason, skip.path);

    const again = await faceshard(['encode', dataset, '--workers', '1', '--resume', '--report', report, '--nats', cluster.url]);
    assert.equal(again.code, 0, again.stderr + again.stdout);
    const r2 = EncodeReport.parse(JSON.parse(await readFile(report, 'utf8')));
    assert.deepEqual({ images: r2.images, resumed: r2.resumed, faces: r2.faces, skipped: r2.skipped }, { images: 4, resumed: 4, faces: 0, skipped: [] });
    assert.match(again.stdout, /4 already done \(resumed\)/);
    assert.match(again.stderr, /4 image\(s\) already done/);
  });
});
