import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { samplePhotoDir } from '../../libs/sample-photos/index.js';
import { portrait } from '../fixtures/sample-portraits.js';
import { writeZip, type ZipWriteEntry } from '../../libs/zip/write-zip.js';
import { encodeDirectory, encodeImageFile, type EncodedFace, type EncodeSummary } from '../../libs/face-encoder/index.js';
import { removeDir, tempDir } from '../helpers/nats.js';
import { pngClaiming } from '../helpers/images.js';
import { euclidean } from '../../libs/synthetic/stats.js';

/**
 * A small dataset with every kind of trouble, as a folder and as the zip of it, encoded
 * on wasm in this process and in two worker processes: same ids, same vectors, every bad
 * file named with its reason.
 */

const SAME_FACE = 0.5;

describe('encoding a folder and the zip of it (wasm)', { timeout: 240_000 }, () => {
  let work: string;
  let folder: string;
  let zip: string;
  const fromFolder: EncodedFace[] = [];
  const fromZip: EncodedFace[] = [];
  let folderSummary: EncodeSummary;
  let zipSummary: EncodeSummary;

  before(async () => {
    work = await tempDir('faceshard-encode-dataset-');
    folder = path.join(work, 'photos');
    const samples = samplePhotoDir();
    const group = await readFile(path.join(samples, 'sample1.jpg'));
    const faces = await encodeImageFile(path.join(samples, 'sample1.jpg'), { backend: 'wasm' });
    const big = faces.filter((f) => f.score >= 0.95 && f.box.width >= 80).slice(0, 2);
    assert.equal(big.length, 2, 'sample1.jpg has two faces big enough for portraits');

    const files: Record<string, Uint8Array> = {};
    for (let i = 0; i < 4; i++) files[`people/p${i % 2}/${i}.jpg`] = await portrait(group, big[i % 2].box, i);
    files['groups/sample1.jpg'] = group;
    const upright = files['people/p0/0.jpg'];
    // Stored rotated 90° counter-clockwise with EXIF orientation 6: a viewer shows it upright.
    files['odd/rotated.jpg'] = await sharp(upright).rotate(-90).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    files['odd/alpha.png'] = await sharp(upright).ensureAlpha(0.9).png().toBuffer();
    files['odd/cmyk.jpg'] = await sharp(upright).toColourspace('cmyk').jpeg().toBuffer();
    files['bad/empty.jpg'] = new Uint8Array(0);
    files['bad/text.jpg'] = new TextEncoder().encode('not a photo at all\n');
    files['bad/truncated.jpg'] = upright.subarray(0, Math.floor(upright.length / 3));
    files['bad/huge.png'] = pngClaiming(20000, 20000);
    for (const [name, data] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(folder, name)), { recursive: true });
      await writeFile(path.join(folder, name), data);
    }
    const entries: ZipWriteEntry[] = Object.entries(files).map(([name, data]) => ({ name: `photos/${name}`, data, method: 'store' }));
    entries.push({ name: '../escape.jpg', data: upright }, { name: 'photos/bomb.jpg', data: new Uint8Array(16 * 1024 * 1024) });
    zip = path.join(work, 'photos.zip');
    await writeZip(zip, entries);

    folderSummary = await encodeDirectory(folder, { backend: 'wasm', workers: 2, onFaces: async (b) => void fromFolder.push(...b) });
    zipSummary = await encodeDirectory(zip, { backend: 'wasm', workers: 0, onFaces: async (b) => void fromZip.push(...b) });
  });
  after(async () => {
    if (work) await removeDir(work);
  });

  it('gives the same ids and vectors from the folder (2 worker processes) and from the zip (in this process)', () => {
    const byId = (faces: EncodedFace[]) => new Map(faces.map((f) => [f.id, f]));
    const a = byId(fromFolder);
    const b = byId(fromZip);
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
    assert.ok(a.size >= 8, `faces: ${[...a.keys()].join(', ')}`);
    for (const [id, face] of a) {
      assert.ok(euclidean(face.vector, b.get(id)!.vector) < 1e-4, id);
      assert.deepEqual(face.meta, b.get(id)!.meta, id);
    }
    assert.equal(folderSummary.images, 12);
    assert.equal(zipSummary.images, 14, 'the escaping entry and the bomb are listed, then refused');
    assert.equal(folderSummary.faces, fromFolder.length);
  });

  it('names every file it could not use, with its reason, and never crashes', () => {
    const reasons = Object.fromEntries(folderSummary.skipped.map((s) => [s.path, s.reason]));
    assert.deepEqual(Object.keys(reasons).sort(), ['bad/empty.jpg', 'bad/huge.png', 'bad/text.jpg', 'bad/truncated.jpg']);
    assert.equal(reasons['bad/empty.jpg'], 'empty file');
    assert.equal(reasons['bad/text.jpg'], 'not an image or unsupported format');
    assert.match(reasons['bad/truncated.jpg'], /^corrupt or truncated image/);
    assert.equal(reasons['bad/huge.png'], 'image is 20000x20000, over the 40 MP limit');
    const zipReasons = Object.fromEntries(zipSummary.skipped.map((s) => [s.path, s.reason]));
    assert.match(zipReasons['../escape.jpg'], /escapes the dataset/);
    assert.match(zipReasons['bomb.jpg'], /^zip bomb: /);
    // Same skips, same reasons; libvips' detail in parentheses may differ between two decodes
    // of the same bytes on different threads ("Unknown error" vs "premature end of JPEG").
    const kind = (reason: string | undefined) => reason?.replace(/ \(.*\)$/, '');
    for (const name of Object.keys(reasons)) assert.equal(kind(zipReasons[name]), kind(reasons[name]), name);
  });

  it('finds the face in 512x512 portraits, in a PNG with alpha, a CMYK JPEG and an EXIF-rotated copy', () => {
    const first = (p: string) => fromFolder.find((f) => f.id === `${p}#0`);
    for (const p of ['people/p0/0.jpg', 'people/p1/1.jpg', 'people/p0/2.jpg', 'people/p1/3.jpg', 'odd/alpha.png', 'odd/cmyk.jpg', 'odd/rotated.jpg']) {
      assert.ok(first(p), `a face in ${p}`);
    }
    const upright = first('people/p0/0.jpg')!;
    for (const p of ['odd/rotated.jpg', 'odd/alpha.png', 'odd/cmyk.jpg', 'people/p0/2.jpg']) {
      const d = euclidean(first(p)!.vector, upright.vector);
      assert.ok(d < SAME_FACE, `${p} is the same person: ${d}`);
    }
    // Rotation honoured: the face box of the rotated copy sits where the upright one does.
    const r = first('odd/rotated.jpg')!.meta.box;
    const u = upright.meta.box;
    assert.ok(Math.abs(r.x - u.x) < 25 && Math.abs(r.y - u.y) < 25, `${JSON.stringify(r)} vs ${JSON.stringify(u)}`);
    assert.ok(euclidean(first('people/p1/1.jpg')!.vector, upright.vector) > SAME_FACE, 'different people stay apart');
  });

  it('finds several faces in the group photo', () => {
    assert.ok(fromFolder.filter((f) => f.meta.path === 'groups/sample1.jpg').length >= 3);
  });

  it('honours --detector tiny, --min-face-size and --max-faces-per-image', async () => {
    const only = async (options: Parameters<typeof encodeDirectory>[1]) => {
      const faces: EncodedFace[] = [];
      const summary = await encodeDirectory(path.join(folder, 'groups'), { ...options, backend: 'wasm', onFaces: async (b) => void faces.push(...b) });
      return { faces, summary };
    };
    const all = fromFolder.filter((f) => f.meta.path === 'groups/sample1.jpg');
    const one = await only({ maxFaces: 1, onFaces: async () => undefined });
    assert.deepEqual(
      one.faces.map((f) => f.id),
      ['sample1.jpg#0'],
    );
    assert.equal(one.faces[0].meta.score, all[0].meta.score, 'the most confident face is kept');
    const smallest = Math.min(...all.map((f) => Math.min(f.meta.box.width, f.meta.box.height)));
    const bigOnly = await only({ minFaceSize: smallest + 1, onFaces: async () => undefined });
    assert.ok(bigOnly.faces.length < all.length && bigOnly.faces.every((f) => Math.min(f.meta.box.width, f.meta.box.height) > smallest));
    const tiny = await only({ detector: 'tiny', onFaces: async () => undefined });
    assert.ok(tiny.faces.length >= 1, 'the tiny detector finds faces too');
    const none = await only({ minFaceSize: 10_000, onFaces: async () => undefined });
    assert.deepEqual(none.summary.skipped, [{ path: 'sample1.jpg', reason: 'no face found', kind: 'no_face' }]);
    assert.ok((await readdir(path.join(folder, 'groups'))).length === 1);
  });
});
