import { DatasetReadError, type DatasetItem, type ImageDataset } from '../image-source/index.js';
import { prefixedId } from '../protocol/index.js';
import { idProblem } from '../index/vector/index.js';
import type { BackendName } from './backend.js';
import { faceThumbnails } from '../face-thumbnail/index.js';
import type { ImageEncodeOptions, ImageEncoder, ImageResult } from './encode-image.js';
import type { Box } from './face-api-types.js';

/**
 * Encodes every image of a dataset (folder or zip) with any ImageEncoder (this process,
 * or a pool of worker threads/processes), hands faces on in batches, and names every
 * image that gave none. Images finish in any order; ids depend only on the dataset's id
 * prefix and the path, so they are the same whatever the order or the number of workers.
 * Stopped (`stop` aborted), it takes no new image, finishes the ones in flight and hands
 * them on, so everything it reports as done was stored.
 */

export interface EncodedFace {
  /** `${idPrefix}/${path inside the dataset}#${faceIndex}`; face 0 is the image's most confident face. */
  id: string;
  vector: Float32Array;
  meta: { path: string; box: Box; score: number };
  /** The face's thumbnail (a small WebP crop), when the run asked for them (`thumbnails`). */
  thumbnail?: Uint8Array;
}

export type SkipKind = 'refused' | 'unreadable' | 'empty' | 'unsupported' | 'corrupt' | 'too_large' | 'no_face' | 'bad_id' | 'gave_up';

export interface SkippedImage {
  path: string;
  reason: string;
  kind: SkipKind;
}

export const NO_FACE_REASON = 'no face found';

export interface EncodeDatasetOptions extends ImageEncodeOptions {
  encoder: ImageEncoder;
  /** Receives faces in batches; awaited before more results are handed on (back-pressure). */
  onFaces(batch: EncodedFace[]): Promise<void>;
  /**
   * Called once the faces of these images were handed on and onFaces resolved (for
   * images without faces: once they are known); what `--resume` records.
   */
  onImagesDone?(images: Array<{ path: string; faces: number; skipped?: SkippedImage }>): Promise<void>;
  /** Called with (0, total) once the dataset is listed, then after every image. */
  onProgress?(done: number, total: number): void;
  /** Images for which this says true are not encoded (already done: `--resume`). */
  alreadyDone?(path: string): boolean;
  /** Faces per onFaces call, at most. Default 256. */
  batchSize?: number;
  /** Hands on what it has at least this often (ms), so a killed run loses little. Default 5000. */
  flushEveryMs?: number;
  /** The first part of every id (`<idPrefix>/<path>#<face>`); none: `<path>#<face>`. */
  idPrefix?: string;
  /** Once aborted: no new image is started; those in flight are finished and handed on. */
  stop?: AbortSignal;
  /** Crop each face's thumbnail (EncodedFace.thumbnail) from its image while the image is at hand. */
  thumbnails?: boolean;
}

export interface EncodeSummary {
  /** Images in the dataset (encoded, face-less, unreadable and resumed together). */
  images: number;
  faces: number;
  /** Every image that gave no face, with why (no face found, unreadable, refused...), by path. */
  skipped: SkippedImage[];
  /** Images left alone because an earlier run did them (`--resume`). */
  resumed: number;
  seconds: number;
  backend: BackendName;
  /** Images this run finished and handed on (not counting resumed ones). */
  imagesDone: number;
  /** Stopped before the end (`stop` aborted): the images not done are left for `--resume`. */
  interrupted: boolean;
}

export async function encodeDataset(dataset: ImageDataset, options: EncodeDatasetOptions): Promise<EncodeSummary> {
  const started = performance.now();
  const batchSize = options.batchSize ?? 256;
  const flushEveryMs = options.flushEveryMs ?? 5000;
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const { encoder } = options;
  const imageOptions: ImageEncodeOptions = {
    detector: options.detector,
    minScore: options.minScore,
    minFaceSize: options.minFaceSize,
    maxFaces: options.maxFaces,
    maxPixels: options.maxPixels,
    maxFileBytes: options.maxFileBytes,
  };

  const items = await dataset.list();
  const skipped: SkippedImage[] = [];
  let faces = 0;
  let done = 0;
  let resumed = 0;
  let imagesDone = 0;
  let lastFlush = performance.now();
  let batch: EncodedFace[] = [];
  let batchImages: Array<{ path: string; faces: number; skipped?: SkippedImage }> = [];
  // Results are handled one at a time, in the order they finish (a promise chain is the lock).
  let handling: Promise<void> = Promise.resolve();

  const flush = async () => {
    const faceBatch = batch;
    const images = batchImages;
    batch = [];
    batchImages = [];
    lastFlush = performance.now();
    if (faceBatch.length) await options.onFaces(faceBatch);
    if (images.length) await options.onImagesDone?.(images);
    imagesDone += images.length;
  };

  const handle = async (item: DatasetItem, result: ImageResult | { ok: false; kind: SkipKind; reason: string }, thumbnails?: Uint8Array[]) => {
    let skip: SkippedImage | undefined;
    let found = 0;
    if (!result.ok) skip = { path: item.path, reason: result.reason, kind: result.kind };
    else if (result.faces.length === 0) skip = { path: item.path, reason: NO_FACE_REASON, kind: 'no_face' };
    else {
      const encoded = result.faces.map((f, index) => ({
        id: prefixedId(options.idPrefix, `${item.path}#${index}`),
        vector: f.vector,
        meta: { path: item.path, box: f.box, score: f.score },
        ...(thumbnails ? { thumbnail: thumbnails[index] } : {}),
      }));
      const badId = encoded.map((face) => idProblem(face.id)).find((problem) => problem !== undefined);
      if (badId) skip = { path: item.path, reason: `path cannot be a face id: ${badId}`, kind: 'bad_id' };
      else {
        found = encoded.length;
        faces += found;
        for (const face of encoded) {
          batch.push(face);
          if (batch.length >= batchSize) await flush();
        }
      }
    }
    if (skip) skipped.push(skip);
    // Added after its faces, so a flush marks an image done only once all its faces went out.
    batchImages.push({ path: item.path, faces: found, ...(skip ? { skipped: skip } : {}) });
    if (batchImages.length >= batchSize || performance.now() - lastFlush >= flushEveryMs) await flush();
    options.onProgress?.(++done, items.length);
  };

  options.onProgress?.(0, items.length);
  let next = 0;
  let failure: unknown;
  const lane = async () => {
    while (next < items.length && failure === undefined && !options.stop?.aborted) {
      const item = items[next++];
      let result: ImageResult | { ok: false; kind: SkipKind; reason: string };
      let thumbnails: Uint8Array[] | undefined;
      if (item.refused) result = { ok: false, kind: 'refused', reason: item.refused };
      else if (options.alreadyDone?.(item.path)) {
        resumed++;
        options.onProgress?.(++done, items.length);
        continue;
      } else {
        try {
          const image = await dataset.read(item);
          result = await encoder.encode(image, imageOptions);
          // Here, in the lane, not in handle (one at a time); a photo that cannot be cropped keeps its faces, without thumbnails.
          if (options.thumbnails && result.ok && result.faces.length)
            thumbnails = await faceThumbnails(
              image,
              result.faces.map((f) => f.box),
            ).catch(() => undefined);
        } catch (error) {
          if (!(error instanceof DatasetReadError)) {
            failure ??= new Error(`encoding failed on ${item.path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
            return;
          }
          result = { ok: false, kind: error.kind, reason: error.message };
        }
      }
      const mine = handling.then(() => handle(item, result, thumbnails));
      handling = mine.catch(() => undefined);
      try {
        await mine;
      } catch (error) {
        failure ??= error;
        return;
      }
    }
  };
  // One lane per image the encoder can take at once, plus one reading ahead.
  await Promise.all(Array.from({ length: Math.max(1, encoder.capacity + 1) }, lane));
  if (failure !== undefined) throw failure;
  await flush();

  skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const interrupted = done < items.length;
  return { images: items.length, faces, skipped, resumed, seconds: (performance.now() - started) / 1000, backend: encoder.backend, imagesDone, interrupted };
}
