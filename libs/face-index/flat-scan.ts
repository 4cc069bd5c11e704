/** The plain-JS exact flat scan (the kernel when WebAssembly SIMD is off or not wanted). */
import type { TopK } from '../topk/index.js';
import { squaredDistanceWithin } from './distance.js';

/** Rows scanned for every query of a batch before moving on, so the block stays in L2. */
const FLAT_SCAN_BLOCK_ROWS = 256;

/**
 * Flat scan of rows [rowStart, rowEnd) for a batch of queries. Rows are taken in
 * blocks that stay in cache while every query of the batch scans them, and queries go
 * four at a time through one pass over each row: four independent sums keep the FPU
 * busy where one sum would wait on its own additions. Each sum still adds its terms in
 * dimension order, so every distance equals `squaredDistance` bit for bit.
 * Pushes candidates into `selectors[q]` (already reset); skips deleted rows.
 */
export function flatScan(
  vectors: Float32Array,
  dims: number,
  rowStart: number,
  rowEnd: number,
  queries: Float32Array,
  queryCount: number,
  selectors: readonly TopK[],
  deleted?: Uint8Array,
): void {
  for (let blockStart = rowStart; blockStart < rowEnd; blockStart += FLAT_SCAN_BLOCK_ROWS) {
    const blockEnd = Math.min(rowEnd, blockStart + FLAT_SCAN_BLOCK_ROWS);
    let q = 0;
    for (; q + 4 <= queryCount; q += 4) scanFourQueries(vectors, dims, blockStart, blockEnd, queries, q, selectors, deleted);
    for (; q < queryCount; q++) scanOneQuery(vectors, dims, blockStart, blockEnd, queries, q, selectors[q], deleted);
  }
}

function scanOneQuery(
  vectors: Float32Array,
  dims: number,
  rowStart: number,
  rowEnd: number,
  queries: Float32Array,
  query: number,
  selector: TopK,
  deleted: Uint8Array | undefined,
): void {
  const queryOffset = query * dims;
  for (let row = rowStart; row < rowEnd; row++) {
    if (deleted !== undefined && deleted[row] !== 0) continue;
    const worst = selector.worst;
    const distance = squaredDistanceWithin(vectors, row * dims, queries, queryOffset, dims, worst);
    if (distance <= worst) selector.push(row, distance);
  }
}

/** `scanOneQuery` for queries firstQuery..firstQuery+3, sharing each row read. */
function scanFourQueries(
  vectors: Float32Array,
  dims: number,
  rowStart: number,
  rowEnd: number,
  queries: Float32Array,
  firstQuery: number,
  selectors: readonly TopK[],
  deleted: Uint8Array | undefined,
): void {
  const top0 = selectors[firstQuery];
  const top1 = selectors[firstQuery + 1];
  const top2 = selectors[firstQuery + 2];
  const top3 = selectors[firstQuery + 3];
  const q0 = firstQuery * dims;
  const q1 = q0 + dims;
  const q2 = q1 + dims;
  const q3 = q2 + dims;
  const blockEnd = dims - (dims & 7);
  for (let row = rowStart; row < rowEnd; row++) {
    if (deleted !== undefined && deleted[row] !== 0) continue;
    const worst0 = top0.worst;
    const worst1 = top1.worst;
    const worst2 = top2.worst;
    const worst3 = top3.worst;
    let sum0 = 0;
    let sum1 = 0;
    let sum2 = 0;
    let sum3 = 0;
    // v walks the row, d the dimension; queries are read at q0 + d .. q3 + d.
    let v = row * dims;
    let d = 0;
    while (d < blockEnd) {
      for (const stop = d + 8; d < stop; d++, v++) {
        const value = vectors[v];
        const d0 = value - queries[q0 + d];
        const d1 = value - queries[q1 + d];
        const d2 = value - queries[q2 + d];
        const d3 = value - queries[q3 + d];
        sum0 += d0 * d0;
        sum1 += d1 * d1;
        sum2 += d2 * d2;
        sum3 += d3 * d3;
      }
      // Partial sums only grow: once all four are past their bounds, none can qualify.
      if (sum0 > worst0 && sum1 > worst1 && sum2 > worst2 && sum3 > worst3) break;
    }
    if (d === blockEnd) {
      for (; d < dims; d++, v++) {
        const value = vectors[v];
        const d0 = value - queries[q0 + d];
        const d1 = value - queries[q1 + d];
        const d2 = value - queries[q2 + d];
        const d3 = value - queries[q3 + d];
        sum0 += d0 * d0;
        sum1 += d1 * d1;
        sum2 += d2 * d2;
        sum3 += d3 * d3;
      }
    }
    if (sum0 <= worst0) top0.push(row, sum0);
    if (sum1 <= worst1) top1.push(row, sum1);
    if (sum2 <= worst2) top2.push(row, sum2);
    if (sum3 <= worst3) top3.push(row, sum3);
  }
}
