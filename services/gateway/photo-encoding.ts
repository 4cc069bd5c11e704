import sharp from 'sharp';
import type { FaceshardClient } from '../../libs/nats/client/index.js';
import { bodyBudget, type EncodeReply } from '../../libs/protocol/index.js';
import { GatewayError } from './http-error.js';

/** Longest sides tried, largest first, when a photo must shrink to fit one NATS message (face-api detects faces far smaller than these). */
const FIT_SIDES = [2048, 1600, 1200, 800];

/**
 * The faces of a photo (faces.encode). A photo larger than one NATS message (the server's
 * max_payload, 1 MB by default: a phone photo is more) is first re-encoded here as a
 * JPEG of at most 2048 px a side, turned upright as the encoder turns it (EXIF), and the
 * boxes are scaled back, so they are in the photo's own (upright) pixels either way.
 */
export async function encodePhoto(client: FaceshardClient, photo: Buffer, field: string, timeoutMs: number): Promise<EncodeReply> {
  const { image, scale } = await fitPhoto(photo, bodyBudget(client.nc), field);
  const reply = await client.encode(image, timeoutMs);
  if (scale === 1) return reply;
  const scaled = (v: number) => Math.round(v * scale * 100) / 100;
  return {
    ...reply,
    faces: reply.faces.map((face) => ({
      ...face,
      box: { x: scaled(face.box.x), y: scaled(face.box.y), width: scaled(face.box.width), height: scaled(face.box.height) },
    })),
  };
}

async function fitPhoto(photo: Buffer, maxBytes: number, field: string): Promise<{ image: Buffer; scale: number }> {
  if (photo.length <= maxBytes) return { image: photo, scale: 1 };
  const unreadable = (err: unknown) =>
    new GatewayError('bad_request', `form field "${field}": cannot read the image (${String((err as Error).message ?? err).split('\n')[0]})`);
  const header = await sharp(photo)
    .metadata()
    .catch((err: unknown) => {
      throw unreadable(err);
    });
  // EXIF orientations 5-8 turn the picture a quarter: its upright width is its stored height.
  const uprightWidth = (header.orientation ?? 1) >= 5 ? header.height : header.width;
  for (const side of FIT_SIDES) {
    const { data, info } = await sharp(photo, { failOn: 'error' })
      .rotate()
      .resize({ width: side, height: side, fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality: 88 })
      .toBuffer({ resolveWithObject: true })
      .catch((err: unknown) => {
        throw unreadable(err);
      });
    if (data.length <= maxBytes) return { image: data, scale: uprightWidth / info.width };
  }
  throw new GatewayError('too_large', `form field "${field}": the photo does not fit one NATS message (${maxBytes} bytes) even at ${FIT_SIDES.at(-1)} px`);
}
