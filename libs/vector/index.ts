import { z } from 'zod';

/** Length of a face-api / dlib face descriptor. */
export const FACE_DIMENSIONS = 128;

/** Ids are the face's stable name, e.g. `people/ada.jpg#0`. */
export const MAX_ID_BYTES = 512;

export const FaceId = z
  .string()
  .min(1, 'id must not be empty')
  .refine((id) => Buffer.byteLength(id, 'utf8') <= MAX_ID_BYTES, `id must be at most ${MAX_ID_BYTES} bytes`);

/** One 128-d vector as JSON numbers; zod's number() already refuses NaN and ±Infinity. */
export const FaceVector = z.array(z.number()).length(FACE_DIMENSIONS, `vector must have exactly ${FACE_DIMENSIONS} numbers`);

/**
 * Checks one vector held in a typed array (from .npy files or binary payloads).
 * Returns a readable reason, or undefined when the vector is usable.
 */
export function vectorProblem(values: ArrayLike<number>): string | undefined {
  if (values.length !== FACE_DIMENSIONS) return `vector has ${values.length} numbers, expected ${FACE_DIMENSIONS}`;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) return `vector element ${i} is ${values[i]} (must be a finite number)`;
  }
  return undefined;
}

/** Readable reason an id is unusable, or undefined. Same rules as FaceId, without zod on the ingest hot path. */
export function idProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return 'id must be a string';
  if (id.length === 0) return 'id must not be empty';
  // UTF-8 takes at most 3 bytes per UTF-16 unit: only long ids need the exact count.
  if (id.length * 3 > MAX_ID_BYTES && Buffer.byteLength(id, 'utf8') > MAX_ID_BYTES) return `id must be at most ${MAX_ID_BYTES} bytes`;
  return undefined;
}
