/**
 * The oracle, simple on purpose: the distance from every query to every face, sorted by
 * (distance, id), cut to k and to maxDistance. Tests and integration checks compare
 * FaceIndex with it: `bruteForceSearch` over flat arrays, or `BruteForceIndex`, which
 * takes the same writes as a FaceIndex (the NearestFaces interface).
 */
import { compareIds } from '../topk/index.js';
import { squaredDistance } from '../exact-distance/index.js';
import { INT16_ROW_MAX } from '../simd-kernel/index.js';
import { checkSearchArguments, type NearestFaces } from './nearest-faces.js';
import { DEFAULT_DIMENSIONS, type Neighbor, type SearchOptions } from './options.js';
import { storedVector } from './row-store.js';

interface Candidate {
  id: string;
  squared: number;
  meta: unknown;
}

/** The candidates within maxDistance, sorted by (distance, id), cut to k; meta only where there is one. */
function nearest(candidates: Candidate[], k: number, maxDistance: number | undefined): Neighbor[] {
  const kept = maxDistance === undefined ? candidates : candidates.filter((c) => Math.sqrt(c.squared) <= maxDistance);
  kept.sort((a, b) => a.squared - b.squared || compareIds(a.id, b.id));
  return kept.slice(0, k).map(({ id, squared, meta }) => {
    const distance = Math.sqrt(squared);
    return meta === undefined ? { id, distance } : { id, distance, meta };
  });
}

/** The oracle over flat arrays: row r is vectors[r * dims..] with id ids[r]. No input checks; the vectors are compared as given. */
export function bruteForceSearch(
  vectors: Float32Array,
  ids: readonly string[],
  queries: Float32Array,
  k: number,
  dims: number,
  maxDistance?: number,
): Neighbor[][] {
  const rows = ids.length;
  const results: Neighbor[][] = [];
  for (let q = 0; q * dims < queries.length; q++) {
    const candidates: Candidate[] = [];
    for (let row = 0; row < rows; row++) {
      candidates.push({ id: ids[row], squared: squaredDistance(vectors, row * dims, queries, q * dims, dims), meta: undefined });
    }
    results.push(nearest(candidates, k, maxDistance));
  }
  return results;
}

/**
 * The oracle as an index: a Map id -> stored vector and meta, and a full scan per query.
 * Vectors are stored rounded as FaceIndex stores them (`storedVector`) and input is
 * checked as FaceIndex checks it, with the same RangeErrors, so both answer alike.
 * `options.approximate` is answered exactly.
 */
export class BruteForceIndex implements NearestFaces {
  readonly dimensions: number;
  private readonly faces = new Map<string, { vector: Float32Array; meta: unknown }>();
  /** What `forEachFace` hands out: a copy, so a visitor cannot change a stored vector. */
  private readonly visited: Float32Array;

  constructor(dimensions = DEFAULT_DIMENSIONS) {
    if (!Number.isInteger(dimensions) || dimensions < 1) throw new RangeError(`dimensions must be a positive integer, got ${dimensions}`);
    this.dimensions = dimensions;
    this.visited = new Float32Array(dimensions);
  }

  get size(): number {
    return this.faces.size;
  }

  has(id: string): boolean {
    return this.faces.has(id);
  }

  metaOf(id: string): unknown {
    return this.faces.get(id)?.meta;
  }

  upsert(id: string, vector: Float32Array, meta?: unknown): void {
    const dims = this.dimensions;
    if (vector.length !== dims) throw new RangeError(`vector has ${vector.length} numbers, expected ${dims}`);
    for (let d = 0; d < dims; d++) {
      const x = vector[d];
      if (!(x <= INT16_ROW_MAX && x >= -INT16_ROW_MAX)) throw new RangeError(`vector element ${d} is ${x} (must be finite and within ±${INT16_ROW_MAX})`);
    }
    this.faces.set(id, { vector: storedVector(vector), meta });
  }

  delete(id: string): boolean {
    return this.faces.delete(id);
  }

  search(queries: Float32Array, k: number, maxDistance?: number, options: SearchOptions = {}): Neighbor[][] {
    const dims = this.dimensions;
    checkSearchArguments(queries, dims, k, maxDistance, options);
    const results: Neighbor[][] = [];
    for (let q = 0; q * dims < queries.length; q++) {
      const candidates: Candidate[] = [];
      for (const [id, { vector, meta }] of this.faces) candidates.push({ id, squared: squaredDistance(vector, 0, queries, q * dims, dims), meta });
      results.push(nearest(candidates, k, maxDistance));
    }
    return results;
  }

  /** Every live face, in the Map's order (a replaced face keeps its place). */
  forEachFace(visit: (id: string, vector: Float32Array, meta: unknown) => void): void {
    for (const [id, { vector, meta }] of this.faces) {
      this.visited.set(vector);
      visit(id, this.visited, meta);
    }
  }
}
