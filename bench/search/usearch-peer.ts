/**
 * usearch (npm `usearch`, a devDependency) as a peer of the search benchmark (issue 24):
 * what a TypeScript user would install instead of a faceshard cluster, an HNSW index in
 * this process. HNSW M=16 (connectivity), float32 vectors, metric l2sq, expansion_add 128.
 *
 * The graph is built once (every vector in one `add`, 2 threads) and saved to a file; the
 * binding sets expansion_search only when an index is created, so each setting in the sweep
 * searches a fresh index loaded (copied into memory) from that file: the same graph.
 * For each setting: all queries in one call on 2 threads, then one query at a time on 1.
 *
 * Results have the shape peers.py prints (build_s, batched_qps, single_p50_ms, neighbors as
 * row numbers, ...), so run.ts turns them into rows as it does the Python peers'.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { BatchMatches, Matches } from 'usearch';
import { percentile } from '../percentile.js';

export const USEARCH_CONNECTIVITY = 16;
export const USEARCH_EXPANSION_ADD = 128;
export const USEARCH_EXPANSION_SEARCH = [64, 128, 256, 512];
/** Threads for the build and for batched search: one per core of the benchmark machine. */
const THREADS = 2;

/** A type, not an interface, so it is a Record<string, unknown> as run.ts reads the Python peers' results. */
export type PeerResult = {
  build_s: number;
  batched_queries: number;
  batched_qps: number;
  single_queries: number;
  single_qps: number;
  single_p50_ms: number;
  single_p99_ms: number;
  /** Top-k row numbers per query, from the batched call. */
  neighbors: number[][];
  /** Top-k row numbers per query, from the one-at-a-time calls. */
  single_neighbors: number[][];
  memory_bytes: number;
};

export interface UsearchRun {
  peers: Record<string, PeerResult>;
  /** What the rows alone do not say: version, how memory was measured, the saved size. */
  note: string;
}

/** Row numbers of each query's matches (usearch's keys are the row numbers given to `add`). */
function rowsOf(keys: BigUint64Array, counts: BigUint64Array, k: number): number[][] {
  const out: number[][] = [];
  for (let q = 0; q < counts.length; q++) {
    const row: number[] = [];
    for (let i = 0; i < Number(counts[q]); i++) row.push(Number(keys[q * k + i]));
    out.push(row);
  }
  return out;
}

const gc = () => (globalThis as { gc?: () => void }).gc?.();

/**
 * Builds and sweeps usearch on `vectors` (n × dims) and `queries` (m × dims); a string
 * when the package cannot be loaded (not installed, or no prebuilt binary for this host).
 */
export async function measureUsearch(vectors: Float32Array, queries: Float32Array, dims: number, k: number): Promise<UsearchRun | string> {
  let usearch: typeof import('usearch');
  try {
    usearch = await import('usearch');
  } catch (e) {
    return `usearch skipped: cannot load the package (${(e as Error).message.split('\n')[0]})`;
  }
  const { Index, MetricKind, ScalarKind } = usearch;
  const config = (expansion_search: number) => ({
    dimensions: dims,
    metric: MetricKind.L2sq,
    quantization: ScalarKind.F32,
    connectivity: USEARCH_CONNECTIVITY,
    expansion_add: USEARCH_EXPANSION_ADD,
    expansion_search,
    multi: false,
  });
  const faces = vectors.length / dims;
  const queryCount = queries.length / dims;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'faceshard-bench-usearch-'));
  const file = path.join(dir, 'index.usearch');
  try {
    const keys = new BigUint64Array(faces);
    for (let i = 0; i < faces; i++) keys[i] = BigInt(i);
    gc();
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    let built: InstanceType<typeof Index> | undefined = new Index(config(USEARCH_EXPANSION_SEARCH[0]));
    built.add(keys, vectors, THREADS);
    const buildSeconds = (performance.now() - t0) / 1000;
    const rssGrowth = process.memoryUsage().rss - rss0;
    console.log(`usearch: ${faces} faces added in ${buildSeconds.toFixed(1)} s (${THREADS} threads), RSS +${(rssGrowth / 2 ** 20).toFixed(0)} MiB`);
    built.save(file);
    const savedBytes = (await stat(file)).size;
    // As for faceshard's rows: the larger of the process's growth and the index's own size (its saved file).
    const memoryBytes = Math.max(rssGrowth, savedBytes);
    built = undefined;

    const peers: Record<string, PeerResult> = {};
    for (const ef of USEARCH_EXPANSION_SEARCH) {
      gc(); // the built index, then the previous setting's copy, is garbage now: free its native memory first
      const index = new Index(config(ef));
      index.load(file);
      const t1 = performance.now();
      // A flat array of several queries answers as BatchMatches (the typings say Matches).
      const batch: Matches | BatchMatches = index.search(queries, k, THREADS);
      const batchedSeconds = (performance.now() - t1) / 1000;
      const latencies: number[] = [];
      const single: number[][] = [];
      const started = performance.now();
      for (let q = 0; q < queryCount; q++) {
        const t = performance.now();
        const one = index.search(queries.subarray(q * dims, (q + 1) * dims), k, 1);
        latencies.push(performance.now() - t);
        single.push(Array.from(one.keys, Number));
      }
      const singleSeconds = (performance.now() - started) / 1000;
      peers[`usearch ef=${ef}`] = {
        build_s: buildSeconds,
        batched_queries: queryCount,
        batched_qps: queryCount / batchedSeconds,
        single_queries: queryCount,
        single_qps: queryCount / singleSeconds,
        single_p50_ms: percentile(latencies, 50),
        single_p99_ms: percentile(latencies, 99),
        neighbors: batch instanceof usearch.BatchMatches ? rowsOf(batch.keys, batch.counts, k) : [Array.from(batch.keys, Number)],
        single_neighbors: single,
        memory_bytes: memoryBytes,
      };
      console.log(`usearch ef=${ef}: batched ${(queryCount / batchedSeconds).toFixed(0)} q/s, one at a time ${(queryCount / singleSeconds).toFixed(0)} q/s`);
    }
    const note =
      `usearch ${usearchVersion()} (npm, in process): HNSW connectivity ${USEARCH_CONNECTIVITY}, f32, l2sq, expansion_add ${USEARCH_EXPANSION_ADD}; ` +
      `built once with ${THREADS} threads in ${buildSeconds.toFixed(1)} s, resident memory +${(rssGrowth / 2 ** 20).toFixed(0)} MiB while building ` +
      `(the JS binding has no memoryUsage()), saved index ${(savedBytes / 2 ** 20).toFixed(0)} MiB (memory column: the larger of the two); each expansion_search (ef) searches a copy loaded from that file ` +
      `(the binding sets ef only at creation): batched = all ${queryCount} queries in one call on ${THREADS} threads, one query at a time on 1 thread.`;
    return { peers, note };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The installed package's version: the package.json above its resolved entry point (its exports hide package.json from require). */
function usearchVersion(): string {
  try {
    let dir = path.dirname(createRequire(import.meta.url).resolve('usearch'));
    for (; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
      const file = path.join(dir, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'usearch' && pkg.version) return pkg.version;
    }
  } catch {
    // fall through
  }
  return '(version unknown)';
}
