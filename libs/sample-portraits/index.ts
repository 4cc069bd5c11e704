import sharp from 'sharp';

/**
 * 512x512 single-face portraits made from group photos: a square crop around one detected
 * face (the face about a third of the width, as in a passport-style dataset), mirrored or
 * not, at a few scales. Deterministic: variant i of a face is always the same image.
 */

export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PortraitOptions {
  /** Side of the square output in pixels. Default 512. */
  size?: number;
  /** JPEG quality. Default 88. */
  quality?: number;
}

/** Face width / crop width for each variant, cycled: the scales. */
const FACE_FRACTIONS = [0.45, 0.4, 0.5, 0.36];

export async function portrait(photo: Uint8Array, face: FaceBox, variant: number, options: PortraitOptions = {}): Promise<Buffer> {
  const size = options.size ?? 512;
  const { width: photoWidth = 0, height: photoHeight = 0 } = await sharp(photo).metadata();
  const fraction = FACE_FRACTIONS[variant % FACE_FRACTIONS.length];
  const mirrored = Math.floor(variant / FACE_FRACTIONS.length) % 2 === 1;
  // Nudge the crop a little per variant so no two variants are the same picture.
  const shift = ((variant * 7) % 5) - 2;
  let side = Math.round(Math.max(face.width, face.height) / fraction);
  side = Math.min(side, photoWidth, photoHeight);
  const centreX = face.x + face.width / 2 + (shift * face.width) / 20;
  const centreY = face.y + face.height / 2 + face.height * 0.05;
  const left = clamp(Math.round(centreX - side / 2), 0, photoWidth - side);
  const top = clamp(Math.round(centreY - side / 2), 0, photoHeight - side);
  let image = sharp(photo).extract({ left, top, width: side, height: side }).resize(size, size);
  if (mirrored) image = image.flop();
  return image.jpeg({ quality: options.quality ?? 88 }).toBuffer();
}

/** `count` portraits cycling over the faces: face i % faces.length, variant floor(i / faces.length). */
export async function* portraits(
  faces: Array<{ photo: Uint8Array; box: FaceBox }>,
  count: number,
  options: PortraitOptions = {},
): AsyncGenerator<{ index: number; face: number; bytes: Buffer }> {
  if (faces.length === 0) throw new Error('no faces to make portraits from');
  for (let index = 0; index < count; index++) {
    const face = index % faces.length;
    yield { index, face, bytes: await portrait(faces[face].photo, faces[face].box, Math.floor(index / faces.length), options) };
  }
}

function clamp(v: number, min: number, max: number): number {
  return Math.min(Math.max(v, min), Math.max(min, max));
}
