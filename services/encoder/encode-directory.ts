import { promises as fs } from 'node:fs';
import { idProblem } from '../../libs/vector/index.js';
import { loadFaceApi, type BackendName } from './backend.js';
import { decodeImage, ImageError, type RgbPixels } from './decode-image.js';
import { detectFaces, type DetectedFace } from './detect-faces.js';
import type { Box } from './face-api-types.js';
import { walkImages, type ImageFile } from './walk-images.js';

/** Turns a folder of photos (or one photo, for queries) into 128-d face encodings. */

export interface EncodedFace {
  /** `${relativePath}#${faceIndex}`; face 0 is the image's most confident face. */
  id: string;
  vector: Float32Array;
  meta: { path: string; box: Box; score: number };
}

export interface EncodeOptions {
  minScore?: number;
  backend?: BackendName;
  /** Images over this many pixels are refused (default 40 MP). */
  maxPixels?: number;
  /** Files larger than this are refused without being read (default 64 MiB). */
  maxFileBytes?: number;
}

export interface EncodeDirectoryOptions extends EncodeOptions {
  /** Receives faces in batches; awaited before more images are encoded (back-pressure). */
  onFaces(batch: EncodedFace[]): Promise<void>;
  /** Called with (0, total) once the tree is listed, then after every image. */
  onProgress?(done: number, total: number): void;
  /** Faces per onFaces call, at most; the last batch may be smaller. Default 64. */
  batchSize?: number;
}

export interface EncodeSummary {
  /** Image files found (encoded, face-less and unreadable together). */
  images: number;
  faces: number;
  /** Relative paths of readable images in which no face was found. */
  noFace: string[];
  unreadable: Array<{ path: string; reason: string }>;
  seconds: number;
  backend: BackendName;
}

/** One face of a query image. */
export interface QueryFace {
  vector: Float32Array;
  box: Box;
  score: number;
}

export const DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024;
const DEFAULT_BATCH_SIZE = 64;

type Decoded = { ok: true; pixels: RgbPixels } | { ok: false; reason: string };

/**
 * Encodes every image under `dir`. Unreadable files and images without faces are counted and
 * named in the summary, never fatal; a failing detector or onFaces is (it is not the image's fault).
 */
export async function encodeDirectory(dir: string, options: EncodeDirectoryOptions): Promise<EncodeSummary> {
  const started = performance.now();
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);

  const unreadable: EncodeSummary['unreadable'] = [];
  const files: ImageFile[] = [];
  for await (const file of walkImages(dir, { onUnreadableDirectory: (path, reason) => unreadable.push({ path, reason }) })) {
    files.push(file);
  }
  const api = await loadFaceApi({ backend: options.backend });
  const noFace: string[] = [];
  let faces = 0;
  let batch: EncodedFace[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const full = batch;
    batch = [];
    await options.onFaces(full);
  };

  options.onProgress?.(0, files.length);
  // Decoding runs on libuv threads, detection on the main thread: decode one image ahead.
  let next: Promise<Decoded> | undefined = files.length ? readAndDecode(files[0].absolutePath, options) : undefined;
  for (let i = 0; i < files.length; i++) {
    const file = files[i];
    const decoded = await (next as Promise<Decoded>);
    next = i + 1 < files.length ? readAndDecode(files[i + 1].absolutePath, options) : undefined;

    if (!decoded.ok) {
      unreadable.push({ path: file.relativePath, reason: decoded.reason });
    } else {
      let detected: DetectedFace[];
      try {
        detected = await detectFaces(api, decoded.pixels, { minScore: options.minScore });
      } catch (error) {
        await next; // never rejects; let it settle before bailing out
        throw new Error(`face detection failed on ${file.relativePath}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      const encoded = detected.map((face, index) => toEncodedFace(file.relativePath, index, face));
      const badId = encoded.map((face) => idProblem(face.id)).find((problem) => problem !== undefined);
      if (badId) {
        unreadable.push({ path: file.relativePath, reason: `path cannot be a face id: ${badId}` });
      } else if (encoded.length === 0) {
        noFace.push(file.relativePath);
      } else {
        faces += encoded.length;
        for (const face of encoded) {
          batch.push(face);
          if (batch.length >= batchSize) await flush();
        }
      }
    }
    options.onProgress?.(i + 1, files.length);
  }
  await flush();

  return {
    images: files.length,
    faces,
    noFace,
    unreadable,
    seconds: (performance.now() - started) / 1000,
    backend: api.backend,
  };
}

/** Query path: one vector per face found in the file, most confident first. */
export async function encodeImageFile(filePath: string, options: EncodeOptions = {}): Promise<QueryFace[]> {
  const bytes = await readImageFile(filePath, options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES);
  return encodeImageBytes(bytes, options);
}

/** Query path for bytes already in memory (a request body). Throws ImageError for bad images. */
export async function encodeImageBytes(bytes: Uint8Array, options: EncodeOptions = {}): Promise<QueryFace[]> {
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (bytes.length > maxFileBytes) throw new ImageError('too_large', `image is ${formatBytes(bytes.length)}, over the ${formatBytes(maxFileBytes)} limit`);
  const [api, pixels] = await Promise.all([loadFaceApi({ backend: options.backend }), decodeImage(bytes, { maxPixels: options.maxPixels })]);
  const detected = await detectFaces(api, pixels, { minScore: options.minScore });
  return detected.map((face) => ({ vector: face.descriptor, box: face.box, score: face.score }));
}

function toEncodedFace(relativePath: string, index: number, face: DetectedFace): EncodedFace {
  return {
    id: `${relativePath}#${index}`,
    vector: face.descriptor,
    meta: { path: relativePath, box: face.box, score: face.score },
  };
}

async function readAndDecode(filePath: string, options: EncodeOptions): Promise<Decoded> {
  try {
    const bytes = await readImageFile(filePath, options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES);
    return { ok: true, pixels: await decodeImage(bytes, { maxPixels: options.maxPixels }) };
  } catch (error) {
    if (error instanceof ImageError) return { ok: false, reason: error.message };
    return { ok: false, reason: `unexpected decoding error: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** Reads a file, refusing huge ones before reading; fs failures become ImageErrors. */
async function readImageFile(filePath: string, maxBytes: number): Promise<Uint8Array> {
  try {
    const stat = await fs.stat(filePath);
    if (!stat.isFile()) throw new ImageError('unreadable', 'not a regular file');
    if (stat.size > maxBytes) throw new ImageError('too_large', `file is ${formatBytes(stat.size)}, over the ${formatBytes(maxBytes)} limit`);
    return await fs.readFile(filePath);
  } catch (error) {
    if (error instanceof ImageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ImageError('unreadable', 'file not found');
    if (code === 'EACCES' || code === 'EPERM') throw new ImageError('unreadable', 'permission denied');
    throw new ImageError('unreadable', `cannot read file (${error instanceof Error ? error.message : String(error)})`);
  }
}

function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.ceil(bytes / 1024)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')} MiB`;
}
