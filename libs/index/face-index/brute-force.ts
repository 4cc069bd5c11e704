import { compareIds } from '../topk/index.js';
import { squaredDistance } from '../exact-distance/index.js';
import type { Neighbor } from './options.js';

/**
 * The oracle: distance from every query to every row, sorted by (distance, id), cut to
 * k and to maxDistance. Simple on purpose; tests and integration checks compare with it.
 */
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
    const all: { id: string; squared: number }[] = [];
    for (let row = 0; row < rows; row++) {
      const squared = squaredDistance(vectors, row * dims, queries, q * dims, dims);
      if (maxDistance === undefined || Math.sqrt(squared) <= maxDistance) all.push({ id: ids[row], squared });
    }
    all.sort((a, b) => a.squared - b.squared || compareIds(a.id, b.id));
    results.push(all.slice(0, k).map(({ id, squared }) => ({ id, distance: Math.sqrt(squared) })));
  }
  return results;
}
