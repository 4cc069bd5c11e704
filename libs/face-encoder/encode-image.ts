/** One image's bytes in, its faces (or a named reason it has none) out: the types and steps every encoder shares. */
import type { BackendName } from './backend.js';
import { decodeImage, ImageError, type ImageErrorKind } from './decode-image.js';
import type { DetectOptions } from './detect-faces.js';
import type { Box } from './face-api-types.js';

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
