import { storedVector } from '../../libs/index/face-index/index.js';

/**
 * The data with its vectors (and queries, when it has them) as an index stores them, on
 * the int16 rows' grid: what the oracle must be given to match an index, and queries
 * that find their own face at distance 0 once written.
 */
export function onGrid<T extends { vectors: Float32Array; queries?: Float32Array }>(data: T): T {
  return { ...data, vectors: storedVector(data.vectors), ...(data.queries ? { queries: storedVector(data.queries) } : {}) };
}
