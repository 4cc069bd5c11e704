import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import {
  BACKEND_ORDER,
  loadFaceApi,
  type FaceApiRuntime,
  type SkippedBackend,
  encodeDirectory,
  encodeImageFile,
  type EncodedFace,
  type EncodeSummary,
} from '../../libs/face-encoder/index.js';
import { SAMPLE_PHOTOS, samplePhotoDir } from '../../libs/sample-photos/index.js';
import { euclidean } from '../../libs/synthetic/stats.js';

/**
 * face-api on the wasm backend over the six demo photos that ship with @vladmandic/face-api
 * (group photos, 3-5 faces each). About 1 s per image here.
 */

const require = createRequire(import.meta.url);
const demoDir = samplePhotoDir();
const SAMPLES = SAMPLE_PHOTOS;
const SAME_FACE = 0.5; // face-api's usual threshold: same person below, different above

describe('encoding the face-api sample photos (wasm)', { timeout: 110_000 }, () => {
  let scratch: string;
  let runtime: FaceApiRuntime;
  let tensorsAfterLoad: number;
  let summary: EncodeSummary;
  const faces: EncodedFace[] = [];
  const progress: Array<[number, number]> = [];
  const progressAt: number[] = [];

  before(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'faceshard-encoder-e2e-'));
    for (const name of SAMPLES) await copyFile(path.join(demoDir, name), path.join(scratch, name));
    // Files that must be counted and named, never fatal.
    await mkdir(path.join(scratch, 'extras'));
    await writeFile(path.join(scratch, 'extras', 'empty.jpg'), '');
    await writeFile(path.join(scratch, 'extras', 'not-a-photo.JPG'), 'just text\n');
    await sharp({ create: { width: 320, height: 240, channels: 3, background: '#8090a0' } })
      .png()
      .toFile(path.join(scratch, 'extras', 'blank.png'));
    runtime = await loadFaceApi({ backend: 'wasm' });
    tensorsAfterLoad = runtime.tf.memory().numTensors;
    summary = await encodeDirectory(scratch, {
      backend: 'wasm',
      batchSize: 5,
      onFaces: async (batch) => {
        assert.ok(batch.length >= 1 && batch.length <= 5);
        faces.push(...batch);
      },
      onProgress: (done, total) => {
        progress.push([done, total]);
        progressAt.push(performance.now());
      },
    });
  });
  after(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('runs on the forced wasm backend', (t) => {
    assert.equal(runtime.backend, 'wasm');
    assert.equal(summary.backend, 'wasm');
    assert.deepEqual(runtime.skipped, [], 'a forced backend skips nothing');
    t.diagnostic(`models loaded in ${runtime.loadSeconds.toFixed(2)} s; ${tensorsAfterLoad} tensors held by the models`);
  });

  it('picks the best available backend by itself and says why better ones were skipped', async (t) => {
    // The choice is made once per process, so ask a fresh one.
    const backendModule = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), '../../libs/face-encoder/backend.js')).href;
    const script = `const { loadFaceApi } = await import(${JSON.stringify(backendModule)}); const r = await loadFaceApi(); console.log(JSON.stringify({ backend: r.backend, skipped: r.skipped }));`;
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
    const chosen = JSON.parse(stdout) as { backend: string; skipped: SkippedBackend[] };
    const position = BACKEND_ORDER.indexOf(chosen.backend as (typeof BACKEND_ORDER)[number]);
    assert.ok(position >= 0, chosen.backend);
    assert.deepEqual(
      chosen.skipped.map((s) => s.backend),
      BACKEND_ORDER.slice(0, position),
      'every better backend is accounted for',
    );
    for (const skip of chosen.skipped) {
      const installed = isInstalled(skip.backend === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node');
      if (!installed) assert.match(skip.reason, /^@tensorflow\/tfjs-node(-gpu)? is not installed$/);
    }
    assert.equal(stderr, '', 'loading logs nothing');
    t.diagnostic(`auto: ${chosen.backend}; skipped ${chosen.skipped.map((s) => `${s.backend} (${s.reason})`).join(', ') || 'nothing'}`);
  });

  it('finds at least one face in every sample, and names the files it could not use', (t) => {
    assert.equal(summary.images, SAMPLES.length + 3);
    assert.deepEqual(summary.skipped, [
      { path: 'extras/blank.png', reason: 'no face found', kind: 'no_face' },
      { path: 'extras/empty.jpg', reason: 'empty file', kind: 'empty' },
      { path: 'extras/not-a-photo.JPG', reason: 'not an image or unsupported format', kind: 'unsupported' },
    ]);
    assert.equal(summary.faces, faces.length);
    for (const name of SAMPLES) {
      const mine = faces.filter((f) => f.meta.path === name);
      assert.ok(mine.length >= 1, `${name} has a face`);
      assert.deepEqual(
        mine.map((f) => f.id),
        mine.map((_, i) => `${name}#${i}`),
        'ids number the faces of an image from 0',
      );
      const scores = mine.map((f) => f.meta.score);
      assert.deepEqual(
        scores,
        [...scores].sort((a, b) => b - a),
        'most confident face first',
      );
    }
    assert.deepEqual(
      progress,
      Array.from({ length: summary.images + 1 }, (_, done) => [done, summary.images]),
    );
    // Files are visited sorted: the three extras/ files, then the six samples.
    const photoMs = SAMPLES.map((_, i) => progressAt[4 + i] - progressAt[3 + i]);
    const mean = photoMs.reduce((a, b) => a + b, 0) / photoMs.length;
    t.diagnostic(
      `${summary.faces} faces in ${summary.images} files, ${summary.seconds.toFixed(1)} s in all; per photo ${photoMs.map((ms) => ms.toFixed(0)).join(', ')} ms (mean ${mean.toFixed(0)} ms)`,
    );
  });

  it('gives 128 finite numbers per face with norm between 1 and 2, and integer boxes', () => {
    for (const face of faces) {
      assert.ok(face.vector instanceof Float32Array);
      assert.equal(face.vector.length, 128);
      assert.ok(face.vector.every(Number.isFinite), face.id);
      const norm = Math.hypot(...face.vector);
      assert.ok(norm > 1 && norm < 2, `${face.id}: norm ${norm}`);
      const { x, y, width, height } = face.meta.box;
      assert.ok([x, y, width, height].every(Number.isInteger), face.id);
      assert.ok(width > 0 && height > 0, face.id);
    }
  });

  it('leaves no tensors behind', () => {
    assert.equal(runtime.tf.memory().numTensors, tensorsAfterLoad);
  });

  it('matches a mirrored, shrunk copy of sample1.jpg to the same face in the original', async (t) => {
    const original = path.join(demoDir, 'sample1.jpg');
    const { width: originalWidth = 0 } = await sharp(original).metadata();
    const copyWidth = 1440;
    const copy = path.join(scratch, 'mirrored', 'sample1-mirrored.jpg');
    await mkdir(path.dirname(copy));
    await sharp(original).flop().resize({ width: copyWidth }).jpeg({ quality: 85 }).toFile(copy);

    const started = performance.now();
    const query = await encodeImageFile(copy, { backend: 'wasm' });
    const queryMs = performance.now() - started;
    assert.ok(query.length >= 1);
    const best = query[0];
    assert.ok(
      query.every((f) => f.score <= best.score),
      'first query face is the most confident',
    );

    const candidates = faces
      .filter((f) => f.meta.path === 'sample1.jpg')
      .map((f) => ({ face: f, distance: euclidean(best.vector, f.vector) }))
      .sort((a, b) => a.distance - b.distance);
    const nearest = candidates[0];
    assert.ok(nearest.distance < SAME_FACE, `nearest distance ${nearest.distance}`);

    // And it is the right face: its box, mirrored and scaled, lands where the query face is.
    const scale = copyWidth / originalWidth;
    const { x, y, width, height } = nearest.face.meta.box;
    const expected = { x: (originalWidth - x - width) * scale, y: y * scale, width: width * scale, height: height * scale };
    assert.ok(intersectionOverUnion(expected, best.box) > 0.6, `boxes overlap: ${JSON.stringify({ expected, got: best.box })}`);
    assert.equal(runtime.tf.memory().numTensors, tensorsAfterLoad);

    t.diagnostic(
      `mirrored copy -> ${nearest.face.id}: ${nearest.distance.toFixed(3)}; other faces ${candidates
        .slice(1)
        .map((c) => c.distance.toFixed(3))
        .join(', ')}; query took ${queryMs.toFixed(0)} ms`,
    );
  });

  it('keeps different people apart (faces within one photo are different people)', (t) => {
    const distances: number[] = [];
    for (let i = 0; i < faces.length; i++) {
      for (let j = i + 1; j < faces.length; j++) {
        if (faces[i].meta.path === faces[j].meta.path) distances.push(euclidean(faces[i].vector, faces[j].vector));
      }
    }
    distances.sort((a, b) => a - b);
    const apart = distances.filter((d) => d > SAME_FACE).length / distances.length;
    const median = distances[Math.floor(distances.length / 2)];
    assert.ok(distances.length >= 20);
    assert.ok(apart >= 0.9, `${(apart * 100).toFixed(0)}% of pairs are > ${SAME_FACE} apart`);
    assert.ok(median > 0.6, `median ${median}`);
    t.diagnostic(
      `${distances.length} pairs of different people: min ${distances[0].toFixed(3)}, median ${median.toFixed(3)}, max ${distances.at(-1)?.toFixed(3)}, ${(apart * 100).toFixed(0)}% > ${SAME_FACE}`,
    );
  });
});

interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

function intersectionOverUnion(a: Rect, b: Rect): number {
  const w = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const h = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const intersection = w * h;
  return intersection / (a.width * a.height + b.width * b.height - intersection);
}

function isInstalled(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}
