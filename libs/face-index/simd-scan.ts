/**
 * Exact flat scan through the WebAssembly SIMD kernel, in two steps per block of rows:
 *
 *  1. the kernel writes every row's float32 squared distance to the query;
 *  2. a row whose float32 distance is within the kernel's error margin of the query's
 *     current k-th distance is a candidate: its distance is recomputed with the scalar
 *     float64 `squaredDistanceWithin` (bit-identical to the brute-force oracle) and
 *     only that value is pushed.
 *
 * The margin is an upper bound on the kernel's rounding error, so every row the oracle
 * would keep is a candidate and the results equal the oracle's, ties by id included.
 * Candidates are few (about k plus the rows that improve the running top-k), so step 2
 * costs little next to the kernel. Deleted rows are skipped at step 2.
 */
import { SIMD_ABSOLUTE_ERROR, SIMD_RELATIVE_ERROR, type VectorArena } from '../simd-kernel/index.js';
import type { TopK } from '../topk/index.js';
import { squaredDistanceWithin } from './distance.js';

/** Rows per kernel call: the block (512 KB at 128-d) stays in L2 while every query of a batch scans it. */
export const SIMD_BLOCK_ROWS = 1024;

const MARGIN = 1 + SIMD_RELATIVE_ERROR;

/**
 * Copies the queries into the arena's scratch area (call once per search, before the
 * scans; it may move the rows, so read `arena.rows` after it). Returns the float index
 * of the kernel output area.
 */
export function stageQueries(arena: VectorArena, queries: Float32Array): number {
  const queryBytes = queries.length * 4;
  arena.scratch(queryBytes + SIMD_BLOCK_ROWS * 4);
  arena.heap.set(queries, 0);
  return queryBytes >> 2;
}

/**
 * Scans rows [rowStart, rowEnd) for query `q` (staged at float q * dims of the scratch,
 * and also given in `queries` for the exact recomputation), pushing into `topk`.
 * Returns how many candidates were recomputed exactly.
 */
export function simdScanRange(
  arena: VectorArena,
  outFloat: number,
  rowStart: number,
  rowEnd: number,
  queries: Float32Array,
  q: number,
  topk: TopK,
  deleted: Uint8Array | undefined,
): number {
  const dims = arena.dims;
  const vectors = arena.rows;
  const heap = arena.heap;
  const queryOffset = q * dims;
  const queryByte = queryOffset * 4;
  const outByte = outFloat * 4;
  let exact = 0;
  let worst = topk.worst;
  let threshold = worst * MARGIN + SIMD_ABSOLUTE_ERROR;
  for (let blockStart = rowStart; blockStart < rowEnd; blockStart += SIMD_BLOCK_ROWS) {
    const count = Math.min(SIMD_BLOCK_ROWS, rowEnd - blockStart);
    arena.distances(1, blockStart, count, queryByte, outByte);
    for (let r = 0; r < count; r++) {
      const approx = heap[outFloat + r];
      if (approx > threshold && approx !== Infinity) continue;
      const row = blockStart + r;
      if (deleted !== undefined && deleted[row] !== 0) continue;
      exact++;
      const distance = squaredDistanceWithin(vectors, row * dims, queries, queryOffset, dims, worst);
      if (distance <= worst) {
        topk.push(row, distance);
        worst = topk.worst;
        threshold = worst * MARGIN + SIMD_ABSOLUTE_ERROR;
      }
    }
  }
  return exact;
}

/**
 * Exact scan of rows [rowStart, rowEnd) for every staged query: blocks of rows outside,
 * queries inside, so each block is read from memory once for the whole batch.
 */
export function simdFlatScan(
  arena: VectorArena,
  outFloat: number,
  rowStart: number,
  rowEnd: number,
  queries: Float32Array,
  queryCount: number,
  selectors: readonly TopK[],
  deleted: Uint8Array | undefined,
): void {
  for (let blockStart = rowStart; blockStart < rowEnd; blockStart += SIMD_BLOCK_ROWS) {
    const blockEnd = Math.min(rowEnd, blockStart + SIMD_BLOCK_ROWS);
    for (let q = 0; q < queryCount; q++) simdScanRange(arena, outFloat, blockStart, blockEnd, queries, q, selectors[q], deleted);
  }
}
