import type { Neighbor, SearchOptions } from './options.js';

/**
 * What FaceIndex and its brute-force reference (BruteForceIndex, brute-force.ts) both
 * are, so a test can feed them the same writes and compare every answer (as hnswlib's
 * bruteforce.h stands beside hnswlib.h). Bad input is a RangeError, worded alike in both.
 */
export interface NearestFaces {
  /** Floats per vector. */
  readonly dimensions: number;
  /** Live faces. */
  readonly size: number;
  has(id: string): boolean;
  /** The meta stored with a live face (undefined: none, or no such face). */
  metaOf(id: string): unknown;
  /**
   * Adds a face, or replaces the face with the same id (its vector and meta; last write
   * wins). The vector is stored rounded to a multiple of 2^-14 (`storedVector`): searches
   * measure distances to the stored values. A wrong length, or a component that is not
   * finite or past ±1.99994, is a RangeError, and nothing changes.
   */
  upsert(id: string, vector: Float32Array, meta?: unknown): void;
  /** Removes a face; true when the id was present. */
  delete(id: string): boolean;
  /**
   * The k nearest live faces for each query of `queries` (nq * dims floats), sorted by
   * (distance asc, id asc), with their meta when they have one; with `maxDistance`, only
   * faces at distance <= maxDistance. Exact unless `options.approximate` (which an index
   * may also answer exactly).
   */
  search(queries: Float32Array, k: number, maxDistance?: number, options?: SearchOptions): Neighbor[][];
  /** Every live face once, with its stored vector (a view valid during the call: copy it to keep it); the order is each index's own. */
  forEachFace(visit: (id: string, vector: Float32Array, meta: unknown) => void): void;
}

/**
 * The checks both indexes make on a search's arguments, one RangeError naming what is
 * wrong: queries a whole number of `dims`-float vectors with finite components, k a
 * non-negative integer, maxDistance >= 0, effort a positive number. Returns the effort.
 */
export function checkSearchArguments(queries: Float32Array, dims: number, k: number, maxDistance: number | undefined, options: SearchOptions): number {
  if (queries.length % dims !== 0) throw new RangeError(`queries hold ${queries.length} floats, not a multiple of ${dims}`);
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`k must be a non-negative integer, got ${k}`);
  if (maxDistance !== undefined && !(maxDistance >= 0)) throw new RangeError(`maxDistance must be >= 0, got ${maxDistance}`);
  const effort = options.effort ?? 1;
  if (!(effort > 0) || !Number.isFinite(effort)) throw new RangeError(`effort must be a positive number, got ${options.effort}`);
  for (let i = 0; i < queries.length; i++) {
    // A NaN would compare false everywhere and silently return nothing.
    if (!Number.isFinite(queries[i])) throw new RangeError(`query element ${i} is ${queries[i]} (must be finite)`);
  }
  return effort;
}
