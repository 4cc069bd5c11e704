import { z } from 'zod';

/** Length of a face-api / dlib face descriptor. */
export const FACE_DIMENSIONS = 128;

/** Ids are the face's stable name, e.g. `people/ada.jpg#0`. */
export const MAX_ID_BYTES = 512;

export const FaceId = z
  .string()
  .min(1, 'id must not be empty')
  .refine((id) => Buffer.byteLength(id, 'utf8') <= MAX_ID_BYTES, `id must be at most ${MAX_ID_BYTES} bytes`);

/**
 * Largest |component| a stored face vector may have: shards keep vectors as int16 codes
 * at a fixed scale of 2^-14 (libs/index/simd-kernel/int16.ts, INT16_ROW_MAX). Face-api
 * descriptors stay far inside (the sample faces' largest component is 0.458).
 */
export const FACE_COMPONENT_MAX = 32767 / 16384;

const componentRange = `must be within ±${FACE_COMPONENT_MAX}`;

/** One 128-d query vector as JSON numbers; zod's number() already refuses NaN and ±Infinity. */
export const FaceVector = z.array(z.number()).length(FACE_DIMENSIONS, `vector must have exactly ${FACE_DIMENSIONS} numbers`);

/** A vector to store: as FaceVector, each component within ±FACE_COMPONENT_MAX. */
export const StoredFaceVector = z
  .array(z.number().min(-FACE_COMPONENT_MAX, componentRange).max(FACE_COMPONENT_MAX, componentRange))
  .length(FACE_DIMENSIONS, `vector must have exactly ${FACE_DIMENSIONS} numbers`);

/**
 * Checks one vector to store, held in a typed array (from .npy files or binary
 * payloads), like StoredFaceVector. Returns a readable reason, or undefined when the
 * vector is usable.
 */
export function vectorProblem(values: ArrayLike<number>): string | undefined {
  const problem = finiteVectorProblem(values);
  if (problem !== undefined) return problem;
  for (let i = 0; i < values.length; i++) {
    if (!(Math.abs(values[i]) <= FACE_COMPONENT_MAX)) return `vector element ${i} is ${values[i]} (${componentRange})`;
  }
  return undefined;
}

/** The length and finiteness checks of `vectorProblem`, without the range (what a log record must pass to be read). */
export function finiteVectorProblem(values: ArrayLike<number>): string | undefined {
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
