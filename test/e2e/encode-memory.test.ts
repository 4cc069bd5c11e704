import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { encodeDataset, encodeImageFile, startWorkerPool } from '../../libs/face-encoder/index.js';
import { samplePhotoDir } from '../../libs/sample-photos/index.js';
import { portraits } from '../fixtures/sample-portraits.js';
import { folderDataset } from '../../libs/image-source/index.js';
import { removeDir, tempDir } from '../helpers/nats.js';

/**
 * Memory stays flat: a few hundred 512x512 images (portraits cut from the sample photos,
 * mirrored and scaled, plus face-less and broken ones) through two worker threads, and each
 * worker's tfjs tensor count is back at its baseline afterwards. The tiny detector keeps it
 * quick; the SSD path's tensors are checked in encode-samples.test.ts.
 */

const PORTRAITS = 200;

describe('memory stays flat over a few hundred images', { timeout: 180_000 }, () => {
  let work: string;
  before(async () => {
    work = await tempDir('faceshard-encode-memory-');
    const photo = await readFile(path.join(samplePhotoDir(), 'sample1.jpg'));
    const faces = (await encodeImageFile(path.join(samplePhotoDir(), 'sample1.jpg'), { backend: 'wasm' })).filter((f) => f.score >= 0.95);
    await mkdir(path.join(work, 'faces'));
    await mkdir(path.join(work, 'other'));
    const small = await portraits(
      faces.map((f) => ({ photo, box: f.box })),
      PORTRAITS,
    );
    for await (const p of small) await writeFile(path.join(work, 'faces', `${String(p.index).padStart(4, '0')}.jpg`), p.bytes);
    for (let i = 0; i < 20; i++) {
      await sharp({ create: { width: 512, height: 512, channels: 3, background: { r: 10 * i, g: 90, b: 200 - 5 * i } } })
        .jpeg()
        .toFile(path.join(work, 'other', `blank${i}.jpg`));
      await writeFile(path.join(work, 'other', `broken${i}.jpg`), Buffer.from(`broken ${i}`));
    }
  });
  after(async () => {
    if (work) await removeDir(work);
  });

  it('returns every worker to its baseline tensor count', async (t) => {
    const pool = await startWorkerPool({ workers: 2, mode: 'thread', backend: 'wasm' });
    try {
      const baseline = await pool.tensorCounts();
      assert.equal(baseline.length, 2);
      assert.ok(
        baseline.every((n) => n > 0 && n === baseline[0]),
        `baseline ${baseline}`,
      );
      let faces = 0;
      const started = performance.now();
      const summary = await encodeDataset(folderDataset(work), {
        encoder: pool,
        detector: 'tiny',
        onFaces: async (batch) => void (faces += batch.length),
      });
      const seconds = (performance.now() - started) / 1000;
      assert.equal(summary.images, PORTRAITS + 40);
      assert.equal(summary.skipped.filter((s) => s.kind === 'unsupported').length, 20);
      assert.ok(faces >= PORTRAITS * 0.5, `faces ${faces}: the face path ran many times`);
      assert.deepEqual(await pool.tensorCounts(), baseline);
      t.diagnostic(`${summary.images} images, ${faces} faces in ${seconds.toFixed(1)} s; tensors ${baseline} before and after`);
    } finally {
      await pool.close();
    }
  });
});
