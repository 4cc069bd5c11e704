import type { BackendName } from './backend.js';
import { decodeImage, ImageError, type ImageErrorKind } from './decode-image.js';
import { detectFaces, type DetectOptions } from './detect-faces.js';
import type { Box, FaceApi, Tf } from './face-api-types.js';

/** One image's bytes in, its faces (or a named reason it has none) out. */

export interface ImageEncodeOptions extends DetectOptions {
  /** Images over this many pixels are refused before decoding (default 40 MP). */
  maxPixels?: number;
  /** Byte buffers larger than this are refused (default 64 MiB). */
  maxFileBytes?: number;
}

export interface FoundFace {
  box: Box;
  score: number;
  vector: Float32Array;
}

/** Serializable (worker messages, job results): a bad image is a value, not an exception. */
export type ImageResult = { ok: true; faces: FoundFace[] } | { ok: false; kind: ImageErrorKind; reason: string };

export const DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024;

/** Decodes off the JS thread (sharp runs on libuv threads), then detects on this one. */
export async function decodeForDetection(bytes: Uint8Array, options: ImageEncodeOptions) {
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (bytes.length > maxFileBytes) throw new ImageError('too_large', `image is ${formatBytes(bytes.length)}, over the ${formatBytes(maxFileBytes)} limit`);
  return decodeImage(bytes, { maxPixels: options.maxPixels });
}

export async function encodeImage(api: { faceapi: FaceApi; tf: Tf }, bytes: Uint8Array, options: ImageEncodeOptions = {}): Promise<ImageResult> {
  let pixels;
  try {
    pixels = await decodeForDetection(bytes, options);
  } catch (error) {
    return imageErrorResult(error);
  }
  const detected = await detectFaces(api, pixels, options);
  return { ok: true, faces: detected.map((f) => ({ box: f.box, score: f.score, vector: f.descriptor })) };
}

/** ImageErrors become results; anything else (a bug, a broken model) stays an exception. */
export function imageErrorResult(error: unknown): ImageResult {
  if (error instanceof ImageError) return { ok: false, kind: error.kind, reason: error.message };
  throw error;
}

export interface ImageEncoder {
  readonly backend: BackendName;
  /** Images it can usefully work on at once (workers x images decoded ahead). */
  readonly capacity: number;
  encode(bytes: Uint8Array, options: ImageEncodeOptions): Promise<ImageResult>;
  /** tfjs tensors alive in each TensorFlow engine (one per worker): flat means no leak. */
  tensorCounts(): Promise<number[]>;
  close(): Promise<void>;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.ceil(bytes / 1024)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')} MiB`;
}
