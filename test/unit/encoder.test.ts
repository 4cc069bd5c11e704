import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeImage } from '../../libs/face-encoder/decode-image.js';
import { detectFaces } from '../../libs/face-encoder/detect-faces.js';
import { encodeImageFile, ImageError } from '../../libs/face-encoder/index.js';
import { ImageDirectoryError, isImageFileName, walkImages } from '../../libs/image-source/index.js';
import { samplePhotoDir } from '../../libs/sample-photos/index.js';
import { createProgressBar, renderLine } from '../../cli/encode/progress-bar.js';
import { pngClaiming } from '../helpers/images.js';

const sample1 = path.join(samplePhotoDir(), 'sample1.jpg');

let scratch: string;
before(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'faceshard-encoder-unit-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function collect(dir: string, onUnreadableDirectory?: (p: string, r: string) => void): Promise<string[]> {
  const found: string[] = [];
  for await (const file of walkImages(dir, { onUnreadableDirectory })) {
    assert.equal(file.absolutePath, path.join(dir, ...file.relativePath.split('/')));
    found.push(file.relativePath);
  }
  return found;
}

async function expectImageError(promise: Promise<unknown>, kind: ImageError['kind'], message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ImageError, `expected an ImageError, got ${String(error)}`);
    assert.equal(error.kind, kind);
    assert.match(error.message, message);
    return true;
  });
}

describe('walkImages', () => {
  it('finds images in nested folders, any extension case, sorted, ignoring everything else', async () => {
    const root = path.join(scratch, 'tree');
    const files = [
      'b.JPG',
      'a.png',
      'notes.txt',
      'anim.gif',
      'noext',
      '.hidden.jpg',
      'sub/Z.jpeg',
      'sub/c.WebP',
      'sub/deeper/d.Jpg',
      'sub/deeper/readme.md',
      '.git/objects/e.jpg',
      'empty-dir/.keep',
      'folder.jpg/inside.png', // a directory named like an image is walked, not yielded
    ];
    for (const file of files) {
      await mkdir(path.dirname(path.join(root, file)), { recursive: true });
      await writeFile(path.join(root, file), 'x');
    }
    const expected = ['a.png', 'b.JPG', 'folder.jpg/inside.png', 'sub/Z.jpeg', 'sub/c.WebP', 'sub/deeper/d.Jpg'];
    assert.deepEqual(await collect(root), expected);
    assert.deepEqual(await collect(root + path.sep), expected, 'a trailing slash changes nothing');
  });

  it('follows symbolic links once, even through a cycle', async () => {
    const root = path.join(scratch, 'links');
    await mkdir(path.join(root, 'real'), { recursive: true });
    await writeFile(path.join(root, 'real', 'p.jpg'), 'x');
    await symlink(path.join(root, 'real'), path.join(root, 'z-alias'));
    await symlink(root, path.join(root, 'real', 'loop'));
    assert.deepEqual(await collect(root), ['real/p.jpg']);
  });

  it('names a missing directory, and a path that is a file', async () => {
    const missing = path.join(scratch, 'does-not-exist');
    await assert.rejects(collect(missing), (error: unknown) => {
      assert.ok(error instanceof ImageDirectoryError);
      assert.equal(error.message, `image directory not found: ${missing}`);
      return true;
    });
    const file = path.join(scratch, 'plain-file.jpg');
    await writeFile(file, 'x');
    await assert.rejects(collect(file), { name: 'ImageDirectoryError', message: `not a directory: ${file}` });
  });

  it('recognises image names by extension only', () => {
    assert.ok(isImageFileName('x.JPEG'));
    assert.ok(isImageFileName('dir/x.webp'));
    assert.ok(!isImageFileName('jpg'));
    assert.ok(!isImageFileName('x.jpg.txt'));
    assert.ok(!isImageFileName('x.gif'));
  });
});

describe('decodeImage', () => {
  it('decodes a JPEG to upright 3-channel pixels', async () => {
    const pixels = await decodeImage(await readFile(sample1));
    assert.deepEqual([pixels.width, pixels.height, pixels.channels], [1920, 1280, 3]);
    assert.equal(pixels.data.length, 1920 * 1280 * 3);
  });

  it('refuses a zero-byte .jpg as an empty file', async () => {
    const file = path.join(scratch, 'zero.jpg');
    await writeFile(file, '');
    await expectImageError(decodeImage(await readFile(file)), 'empty', /^empty file$/);
  });

  it('refuses a text file named .jpg as not an image', async () => {
    await expectImageError(decodeImage(Buffer.from('hello, I am not a JPEG\n')), 'unsupported', /^not an image or unsupported format/);
  });

  it('refuses a truncated JPEG (first half of sample1.jpg) as corrupt', async () => {
    const bytes = await readFile(sample1);
    await expectImageError(decodeImage(bytes.subarray(0, bytes.length / 2)), 'corrupt', /^corrupt or truncated image \(.+\)$/);
  });

  it('refuses SVG: faces are photos, not vector art', async () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>';
    await expectImageError(decodeImage(Buffer.from(svg)), 'unsupported', /unsupported format \(svg\)/);
  });

  it('flattens a PNG with alpha to 3 channels (transparent becomes white)', async () => {
    const png = await sharp({ create: { width: 4, height: 2, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
      .png()
      .toBuffer();
    const pixels = await decodeImage(png);
    assert.deepEqual([pixels.width, pixels.height, pixels.channels, pixels.data.length], [4, 2, 3, 4 * 2 * 3]);
    assert.ok(pixels.data.every((v) => v === 255));
  });

  it('converts greyscale, CMYK and 16-bit input to 8-bit sRGB', async () => {
    const source = sharp(sample1).resize(64);
    const inputs = {
      grey: await source.clone().toColourspace('b-w').png().toBuffer(),
      cmyk: await source.clone().toColourspace('cmyk').jpeg().toBuffer(),
      rgb16: await source.clone().toColourspace('rgb16').png().toBuffer(),
    };
    assert.equal((await sharp(inputs.grey).metadata()).channels, 1, 'test input really is single-channel');
    for (const [name, bytes] of Object.entries(inputs)) {
      const pixels = await decodeImage(bytes);
      assert.equal(pixels.channels, 3, name);
      assert.equal(pixels.data.length, pixels.width * pixels.height * 3, name);
    }
  });

  it('honours EXIF orientation', async () => {
    // 30x20 stored, orientation 6 (rotate 90° clockwise to view) -> 20x30 upright
    const jpeg = await sharp({ create: { width: 30, height: 20, channels: 3, background: '#808080' } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const pixels = await decodeImage(jpeg);
    assert.deepEqual([pixels.width, pixels.height], [20, 30]);
  });

  it('refuses an image over the pixel limit before decoding it', async () => {
    // A PNG whose header claims 20000x20000 (400 MP) with almost no pixel data behind it.
    await expectImageError(decodeImage(pngClaiming(20000, 20000)), 'too_large', /^image is 20000x20000, over the 40 MP limit$/);
    const real = await sharp({ create: { width: 1500, height: 1000, channels: 3, background: '#123456' } })
      .png()
      .toBuffer();
    await expectImageError(decodeImage(real, { maxPixels: 1_000_000 }), 'too_large', /^image is 1500x1000, over the 1 MP limit$/);
    const ok = await decodeImage(real, { maxPixels: 1_500_000 });
    assert.equal(ok.width, 1500);
  });
});

describe('encodeImageFile', () => {
  it('reports a missing file as an ImageError (no face-api needed)', async () => {
    await expectImageError(encodeImageFile(path.join(scratch, 'nope.jpg')), 'unreadable', /^\/.*\/nope\.jpg: no such file$/);
  });

  it('refuses files over the byte limit without reading them', async () => {
    const file = path.join(scratch, 'big.jpg');
    await writeFile(file, Buffer.alloc(3 * 1024 * 1024));
    await expectImageError(encodeImageFile(file, { maxFileBytes: 1024 * 1024 }), 'too_large', /^\/.*\/big\.jpg: file is 3 MiB, over the 1 MiB limit$/);
  });
});

describe('detectFaces', () => {
  it('rejects a minScore outside (0, 1] before touching the model', async () => {
    const pixels = { data: new Uint8Array(3), width: 1, height: 1, channels: 3 as const };
    const unused = {} as Parameters<typeof detectFaces>[0];
    await assert.rejects(detectFaces(unused, pixels, { minScore: 0 }), RangeError);
    await assert.rejects(detectFaces(unused, pixels, { minScore: 1.5 }), RangeError);
    await assert.rejects(detectFaces(unused, pixels, { minScore: Number.NaN }), RangeError);
  });
});

describe('progress bar', () => {
  it('fits the line to the terminal width', () => {
    for (const columns of [20, 40, 80, 200]) {
      const line = renderLine('encoding', 412, 1000, 10, columns);
      assert.ok(line.length < columns, `${line.length} < ${columns}: ${line}`);
    }
    assert.match(renderLine('encoding', 412, 1000, 10, 80), /^encoding \[#+\.+\] 412\/1000 41% 41\.2\/s eta 14s$/);
    assert.match(renderLine('encoding', 0, 0, 0, 80), /0\/0 100%/);
  });

  it('writes nothing when the stream is not a TTY', () => {
    const writes: string[] = [];
    const stream = { isTTY: false, columns: 80, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream;
    const bar = createProgressBar({ stream });
    bar.update(1, 2);
    bar.update(2, 2);
    bar.finish();
    assert.deepEqual(writes, []);
  });

  it('draws and clears on a TTY', () => {
    const writes: string[] = [];
    const stream = { isTTY: true, columns: 60, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream;
    const bar = createProgressBar({ stream, minIntervalMs: 1000 });
    bar.update(1, 3);
    bar.update(2, 3); // throttled
    bar.update(3, 3); // the last update is always drawn
    bar.finish();
    assert.equal(writes.length, 3);
    assert.match(writes[1], /3\/3 100%/);
    assert.equal(writes[2], '\r\x1b[K');
  });
});
