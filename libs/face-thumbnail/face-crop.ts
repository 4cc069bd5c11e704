import sharp from 'sharp';

/** A face rectangle in the photo's upright pixels (what the encoder answers). */
export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Side of a thumbnail, in pixels: big enough to recognise a face in a list of matches. */
export const THUMBNAIL_SIDE = 96;
/** Room around the box on each side, as a fraction of the box's longer side: the detector's box is tight (no hair, no chin). */
const MARGIN = 0.25;
const WEBP_QUALITY = 75;

/**
 * Each face in `boxes` of `photo` as a THUMBNAIL_SIDE-pixel square WebP (a few KB): its box
 * grown by MARGIN, made square, and moved inside the photo where it would stick out. The
 * photo is decoded once and turned upright (EXIF) as the encoder turns it, so the boxes fit.
 */
export async function faceThumbnails(photo: Uint8Array, boxes: readonly FaceBox[]): Promise<Buffer[]> {
  const { data, info } = await sharp(photo).rotate().removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const raw = { width: info.width, height: info.height, channels: info.channels };
  return Promise.all(
    boxes.map((box) =>
      sharp(data, { raw })
        .extract(squareAround(box, info.width, info.height))
        .resize(THUMBNAIL_SIDE, THUMBNAIL_SIDE, { fit: 'cover' })
        .webp({ quality: WEBP_QUALITY })
        .toBuffer(),
    ),
  );
}

/** The square (with margin) around `box`, shifted inside a width x height picture and no larger than it. */
export function squareAround(box: FaceBox, width: number, height: number): { left: number; top: number; width: number; height: number } {
  if (![box.x, box.y, box.width, box.height].every(Number.isFinite) || box.width <= 0 || box.height <= 0)
    throw new Error(`face box ${JSON.stringify(box)}: x, y, width and height must be finite, width and height positive`);
  const side = Math.max(1, Math.min(Math.round(Math.max(box.width, box.height) * (1 + 2 * MARGIN)), width, height));
  const place = (centre: number, limit: number) => Math.min(Math.max(0, Math.round(centre - side / 2)), limit - side);
  return { left: place(box.x + box.width / 2, width), top: place(box.y + box.height / 2, height), width: side, height: side };
}
