import { stat } from 'node:fs/promises';
import { openDataset, readImageFile, DatasetReadError } from '../image-source/index.js';
import type { ZipLimits } from '../zip/index.js';
import { loadFaceApi, type BackendName } from './backend.js';
import { ImageError } from './decode-image.js';
import { detectFaces } from './detect-faces.js';
import { encodeDataset, type EncodeDatasetOptions, type EncodeSummary } from './encode-dataset.js';
import { decodeForDetection, DEFAULT_MAX_FILE_BYTES, type ImageEncodeOptions, type ImageEncoder } from './encode-image.js';
import type { Box } from './face-api-types.js';
import { inProcessEncoder } from './in-process-encoder.js';
import { startWorkerPool, type WorkerMode } from './worker-pool.js';

/** Turns a folder or zip of photos (or one photo, for queries) into 128-d face encodings. */

export interface EncodeOptions extends ImageEncodeOptions {
  backend?: BackendName;
}

export interface EncodeDirectoryOptions extends EncodeOptions, Omit<EncodeDatasetOptions, 'encoder'> {
  /** Worker threads (or processes) to encode in; 0 or unset: in this process. */
  workers?: number;
  workerMode?: WorkerMode;
  zipLimits?: Partial<ZipLimits>;
  /** Told once the encoder is up (backend chosen, models loaded). */
  onEncoderReady?(encoder: ImageEncoder): void;
}

/** One face of a query image. */
export interface QueryFace {
  vector: Float32Array;
  box: Box;
  score: number;
}

/**
 * Encodes every image of a folder or .zip. Unreadable files and images without faces are
 * named in the summary, never fatal; a failing detector or onFaces is (not the image's fault).
 */
export async function encodeDirectory(location: string, options: EncodeDirectoryOptions): Promise<EncodeSummary> {
  const dataset = await openDataset(location, { maxFileBytes: options.maxFileBytes, zipLimits: options.zipLimits });
  try {
    const encoder = options.workers
      ? await startWorkerPool({ workers: options.workers, mode: options.workerMode, backend: options.backend })
      : await inProcessEncoder({ backend: options.backend });
    try {
      options.onEncoderReady?.(encoder);
      return await encodeDataset(dataset, { ...options, encoder });
    } finally {
      await encoder.close();
    }
  } finally {
    await dataset.close();
  }
}

/** Query path: one vector per face found in the file, most confident first. Errors name the file. */
export async function encodeImageFile(filePath: string, options: EncodeOptions = {}): Promise<QueryFace[]> {
  let bytes;
  try {
    bytes = await readImageFile(filePath, options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES);
  } catch (error) {
    if (!(error instanceof DatasetReadError)) throw error;
    const missing = await stat(filePath).then(
      () => false,
      (e: NodeJS.ErrnoException) => e.code === 'ENOENT',
    );
    throw new ImageError(error.kind, `${filePath}: ${missing ? 'no such file' : error.message}`);
  }
  try {
    return await encodeImageBytes(bytes, options);
  } catch (error) {
    if (error instanceof ImageError) throw new ImageError(error.kind, `${filePath}: ${error.message}`);
    throw error;
  }
}

/** Query path for bytes already in memory (a request body). Throws ImageError for bad images. */
export async function encodeImageBytes(bytes: Uint8Array, options: EncodeOptions = {}): Promise<QueryFace[]> {
  const [api, pixels] = await Promise.all([loadFaceApi({ backend: options.backend }), decodeForDetection(bytes, options)]);
  const detected = await detectFaces(api, pixels, options);
  return detected.map((face) => ({ vector: face.descriptor, box: face.box, score: face.score }));
}
