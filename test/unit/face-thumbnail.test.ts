import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { faceThumbnails, putThumbnails, squareAround, storeFaceThumbnails, THUMBNAIL_SIDE } from '../../libs/face-thumbnail/index.js';

test('the crop is a square around the box with a margin, moved inside the picture, never larger than it', () => {
  // 40 px box, 25% margin each side: 60 px, centred on the box.
  assert.deepEqual(squareAround({ x: 100, y: 50, width: 40, height: 30 }, 400, 300), { left: 90, top: 35, width: 60, height: 60 });
  // At the top-left corner (and sticking out): moved in, not cut.
  assert.deepEqual(squareAround({ x: -10, y: -5, width: 40, height: 40 }, 400, 300), { left: 0, top: 0, width: 60, height: 60 });
  // At the bottom-right corner.
  assert.deepEqual(squareAround({ x: 380, y: 290, width: 40, height: 40 }, 400, 300), { left: 340, top: 240, width: 60, height: 60 });
  // A face filling the photo: a square of the photo's shorter side, centred on the face.
  assert.deepEqual(squareAround({ x: 0, y: 0, width: 400, height: 300 }, 400, 300), { left: 50, top: 0, width: 300, height: 300 });
  assert.throws(() => squareAround({ x: 0, y: 0, width: 0, height: 10 }, 400, 300), /width and height positive/);
  assert.throws(() => squareAround({ x: Number.NaN, y: 0, width: 10, height: 10 }, 400, 300), /must be finite/);
});

/** A 200 x 100 blue picture (upright) with a red square at x 20-60, y 30-70. */
const upright = () =>
  sharp({ create: { width: 200, height: 100, channels: 3, background: '#0000ff' } })
    .composite([{ input: { create: { width: 40, height: 40, channels: 3, background: '#ff0000' } }, left: 20, top: 30 }])
    .png()
    .toBuffer();

async function centre(webp: Buffer): Promise<number[]> {
  const { data, info } = await sharp(webp).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height], [THUMBNAIL_SIDE, THUMBNAIL_SIDE]);
  const at = (THUMBNAIL_SIDE / 2) * THUMBNAIL_SIDE * info.channels + (THUMBNAIL_SIDE / 2) * info.channels;
  return [...data.subarray(at, at + 3)];
}

test('thumbnails are WebP crops of the upright photo: a photo stored turned (EXIF orientation 6) is cropped where the box is upright', async () => {
  const box = { x: 20, y: 30, width: 40, height: 40 };
  // Stored a quarter turn back, with orientation 6 saying "turn it a quarter clockwise to show it".
  const turned = await sharp(await upright())
    .rotate(-90)
    .jpeg({ quality: 95 })
    .withMetadata({ orientation: 6 })
    .toBuffer();
  assert.equal((await sharp(turned).metadata()).width, 100, 'stored sideways');
  for (const photo of [await upright(), turned]) {
    const [thumb] = await faceThumbnails(photo, [box]);
    assert.equal((await sharp(thumb).metadata()).format, 'webp');
    const [r, g, b] = await centre(thumb);
    assert.ok(r > 200 && g < 60 && b < 60, `the red face at the centre, got rgb(${r}, ${g}, ${b})`);
  }
  // Another box, another crop: blue there.
  const [elsewhere] = await faceThumbnails(await upright(), [{ x: 140, y: 30, width: 40, height: 40 }]);
  const [r, , b] = await centre(elsewhere);
  assert.ok(b > 200 && r < 60, `blue, got r ${r} b ${b}`);
});

test("storing is best effort: a bucket that cannot be opened is every thumbnail's failure, said once, before any photo is decoded; a failed put is that one's", async () => {
  const box = { x: 0, y: 0, width: 10, height: 10 };
  const noBucket = () => Promise.reject(new Error('the thumbnail bucket FACES_THUMBNAILS does not exist'));
  // Not a photo: a crop would fail with another reason, so this also shows the bucket is opened first.
  const faces = [
    { id: 'a', box },
    { id: 'b', box },
  ];
  const reason = 'cannot open the thumbnail bucket: the thumbnail bucket FACES_THUMBNAILS does not exist';
  assert.deepEqual(await storeFaceThumbnails(noBucket, Buffer.from('not a photo'), faces), {
    stored: 0,
    failures: [
      { id: 'a', reason },
      { id: 'b', reason },
    ],
  });
  assert.deepEqual(await putThumbnails(noBucket, [{ id: 'c', webp: new Uint8Array(1) }]), { stored: 0, failures: [{ id: 'c', reason }] });
  // Nothing to store: the bucket is not even opened.
  assert.deepEqual(await putThumbnails(noBucket, []), { stored: 0, failures: [] });
  const put = async (id: string) => {
    if (id === 'bad') throw new Error('put failed\nstack');
  };
  assert.deepEqual(
    await putThumbnails(
      () => Promise.resolve({ put }),
      [
        { id: 'ok', webp: new Uint8Array(1) },
        { id: 'bad', webp: new Uint8Array(1) },
      ],
    ),
    { stored: 1, failures: [{ id: 'bad', reason: 'put failed' }] },
  );
});
