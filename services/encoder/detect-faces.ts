import type { RgbPixels } from './decode-image.js';
import type { Box, FaceApi, Tf } from './face-api-types.js';

/** Finds faces in decoded pixels and describes each one as a 128-d face-api descriptor. */

export const DEFAULT_MIN_SCORE = 0.5;

export interface DetectedFace {
  /** Integer pixels, clipped to the image. */
  box: Box;
  /** Detector confidence, 0..1. */
  score: number;
  descriptor: Float32Array;
}

export interface DetectOptions {
  /** Detections below this confidence are dropped (face-api's `minConfidence`). */
  minScore?: number;
}

/** Faces most confident first, so index 0 is the best query face. */
export async function detectFaces(
  api: { faceapi: FaceApi; tf: Tf },
  pixels: RgbPixels,
  options: DetectOptions = {},
): Promise<DetectedFace[]> {
  const minScore = options.minScore ?? DEFAULT_MIN_SCORE;
  if (!(minScore > 0 && minScore <= 1)) throw new RangeError(`minScore must be in (0, 1], got ${minScore}`);
  const { faceapi, tf } = api;
  const input = tf.tensor3d(pixels.data, [pixels.height, pixels.width, 3], 'int32');
  try {
    // face-api disposes its intermediate tensors itself; the input is ours to dispose.
    const results = await faceapi
      .detectAllFaces(input, new faceapi.SsdMobilenetv1Options({ minConfidence: minScore }))
      .withFaceLandmarks()
      .withFaceDescriptors();
    return results
      .map((r) => ({
        box: clipBox(r.detection.box, pixels.width, pixels.height),
        score: r.detection.score,
        descriptor: r.descriptor,
      }))
      .sort((a, b) => b.score - a.score);
  } finally {
    input.dispose();
  }
}

/** Rounds each edge (not the size, so x + width is the rounded right edge) and clips to the image. */
function clipBox(box: Box, imageWidth: number, imageHeight: number): Box {
  const clamp = (v: number, max: number) => Math.min(Math.max(Math.round(v), 0), max);
  const left = clamp(box.x, imageWidth);
  const top = clamp(box.y, imageHeight);
  const right = clamp(box.x + box.width, imageWidth);
  const bottom = clamp(box.y + box.height, imageHeight);
  return { x: left, y: top, width: right - left, height: bottom - top };
}
