import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { copySamplePhotos } from '../../libs/sample-photos/index.js';
import { benchmarkData, FaceModel } from '../../libs/synthetic/face-model.js';
import { descriptorStats, euclidean, spread, type DescriptorStats } from '../../libs/synthetic/stats.js';
import { encodeDirectory, type EncodedFace } from '../../libs/face-encoder/index.js';

/**
 * The benchmark generator (libs/synthetic/face-model.ts) against real face-api
 * descriptors of the six sample photos (wasm, ~7 s). Real same-person pairs: each face
 * and its copy in a mirrored, 80%-resized copy of its photo (an easy pair: a lower bound
 * for two different photos of one person). Real different-person pairs: any two faces
 * of the originals.
 *
 * Tolerances (stated, not tuned per run):
 *  - norms: synthetic median within 5% of the real median; min and max within 0.1;
 *  - different people (same number of faces and pairs as the real set): median within
 *    0.05, min within 0.08, max within 0.12 of the real values;
 *  - same person: synthetic median in 0.30-0.45, above the real mirrored-pair median
 *    and below the real different-people minimum (so 0.6 still separates them);
 *  - the spectrum: 65-75% of the identity variance in the top 16 axes.
 */
describe('synthetic benchmark data vs real face-api descriptors', { timeout: 180_000 }, () => {
  let scratch: string;
  const originals: EncodedFace[] = [];
  const mirrored: EncodedFace[] = [];
  let real: DescriptorStats;
  let mirrorPairs: number[];

  before(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'faceshard-synth-stats-'));
    const photos = await copySamplePhotos(path.join(scratch, 'photos'));
    await mkdir(path.join(scratch, 'photos', 'mirrored'));
    for (const photo of photos) {
      const meta = await sharp(photo).metadata();
      await sharp(photo)
        .flop()
        .resize(Math.round((meta.width ?? 1000) * 0.8))
        .toFile(path.join(scratch, 'photos', 'mirrored', path.basename(photo)));
    }
    await encodeDirectory(path.join(scratch, 'photos'), {
      backend: 'wasm',
      onFaces: async (batch) => {
        for (const face of batch) (face.meta.path.startsWith('mirrored') ? mirrored : originals).push(face);
      },
    });
    real = descriptorStats(
      originals.map((f) => f.vector),
      originals.map((f) => f.id),
    );
    // Each original face and the nearest face of its photo's mirrored copy.
    mirrorPairs = [];
    for (const face of originals) {
      const copies = mirrored.filter((m) => m.meta.path === path.join('mirrored', face.meta.path));
      if (copies.length) mirrorPairs.push(Math.min(...copies.map((m) => euclidean(face.vector, m.vector))));
    }
    console.log('real', JSON.stringify({ ...real, mirrored: spread(mirrorPairs) }));
  });
  after(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  const synthetic = (faces: number, identities: number): DescriptorStats => {
    const data = benchmarkData({ faces, identities, queries: 0, seed: 42 });
    const vectors = Array.from({ length: faces }, (_, i) => data.vectors.subarray(i * 128, (i + 1) * 128));
    return descriptorStats(vectors, Array.from(data.identity));
  };

  it('found the sample faces and their mirrored copies', () => {
    assert.ok(originals.length >= 15, `${originals.length} faces`);
    assert.ok(mirrorPairs.length >= originals.length * 0.8);
    assert.ok(spread(mirrorPairs).median < 0.45, 'mirrored copies are the same person');
  });

  it('norms match', () => {
    const syn = synthetic(500, 100).norms;
    console.log('synthetic norms', JSON.stringify(syn));
    assert.ok(Math.abs(syn.median - real.norms.median) <= 0.05 * real.norms.median, `median ${syn.median} vs ${real.norms.median}`);
    assert.ok(Math.abs(syn.min - real.norms.min) <= 0.1, `min ${syn.min} vs ${real.norms.min}`);
    assert.ok(Math.abs(syn.max - real.norms.max) <= 0.1, `max ${syn.max} vs ${real.norms.max}`);
  });

  it('different-people distances match (range and median)', () => {
    const faces = originals.length;
    const syn = synthetic(faces, faces).differentPeople;
    console.log('synthetic different people', JSON.stringify(syn));
    assert.equal(syn.count, real.differentPeople.count);
    assert.ok(Math.abs(syn.median - real.differentPeople.median) <= 0.05, `median ${syn.median} vs ${real.differentPeople.median}`);
    assert.ok(Math.abs(syn.min - real.differentPeople.min) <= 0.08, `min ${syn.min} vs ${real.differentPeople.min}`);
    assert.ok(Math.abs(syn.max - real.differentPeople.max) <= 0.12, `max ${syn.max} vs ${real.differentPeople.max}`);
  });

  it('same-person distances sit between a mirrored copy and a stranger', () => {
    const syn = synthetic(500, 100).samePerson;
    console.log('synthetic same person', JSON.stringify(syn));
    assert.ok(syn.median >= 0.3 && syn.median <= 0.45, `median ${syn.median}`);
    assert.ok(syn.median > spread(mirrorPairs).median, 'a new photo differs more than a mirrored copy');
    assert.ok(syn.max < real.differentPeople.min, `same-person max ${syn.max} below the closest strangers ${real.differentPeople.min}`);
  });

  it('~70% of the identity variance lies in the top 16 axes', () => {
    const share = new FaceModel({ seed: 1 }).varianceShare(16);
    assert.ok(share >= 0.65 && share <= 0.75, `${share}`);
  });
});
