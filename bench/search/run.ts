/**
 * Search benchmark (issue 4): one run, same data, same queries, same machine.
 *
 *   - faceshard in process: one FaceIndex, exact and approximate (every recall against
 *     the float32 vectors' exact answer: float32-truth.ts), build time, memory,
 *     queries/s and faces/s, one query at a time and batched;
 *   - faceshard end to end: a local 4-shard cluster (one shard process per core, as
 *     `faceshard up` starts it), ingest, queries through faces.query
 *     (binary) at concurrency 1, 8 and 64: queries/s, faces/s, p50/p99 latency;
 *   - peers (bench/search/peers.py on the same .npy files): scikit-learn KDTree, FAISS
 *     IndexFlatL2, hnswlib (M=16, ef=64, and the same graph at larger ef, to compare at
 *     equal recall) — when a Python with them is found, else reported as skipped;
 *   - usearch (npm, in this process: usearch-peer.ts): HNSW M=16, f32, swept over its
 *     expansion_search, on the same vectors and queries (issue 24).
 *
 * Data: libs/synthetic/face-model.ts (design.md "Benchmark data"), 5 photos a person,
 * queries = fresh photos, half of enrolled people, half of people not enrolled.
 * Writes bench/results/search.md and search.json.
 *
 * Env: BENCH_SEARCH_SIZES (default "52000,1000000"), BENCH_SEARCH_SKIP (comma list of
 * inprocess, cluster, peers, hnswlib, usearch; peers skips usearch too), BENCH_PYTHON
 * (python executable).
 */
import { execFile } from 'node:child_process';
import { pythonWith } from '../python.js';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FaceshardClient, FaceToIngest, QueryOptions } from '../../libs/nats/client/index.js';
import { FaceIndex, type Neighbor } from '../../libs/index/face-index/index.js';
import { float32Truth } from './float32-truth.js';
import { best, type Row } from './row.js';
import { usearchTargets } from './usearch-targets.js';
import { measureUsearch } from './usearch-peer.js';
import { DEFAULT_LISTS_PER_SQRT_ROW, PROBE_SHARE_AT_EFFORT_1, SHORTLIST_AT_EFFORT_1 } from '../../libs/index/face-index/options.js';
import { benchmarkData, type BenchmarkData } from '../../libs/synthetic/face-model.js';
import { writeBenchmarkFiles } from '../../libs/synthetic/write-files.js';
import { FACE_DIMENSIONS as DIMS } from '../../libs/index/vector/index.js';
import { ingestInSteps, startBenchCluster, waitForIdleIndexMaintenance, waitForSnapshots } from '../cluster.js';
import { measureHostJitter } from '../host-jitter.js';
import { percentile } from '../percentile.js';
import { proportionalBytes, residentBytes } from '../process-memory.js';
import { QueryLoad } from '../query-load.js';

/** The repository root: the nearest folder above this file that holds package.json (works from dist/ and other out dirs). */
const ROOT = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
})();
const SIZES = (process.env.BENCH_SEARCH_SIZES ?? '52000,1000000').split(',').map(Number);
const SKIP = new Set((process.env.BENCH_SEARCH_SKIP ?? '').split(',').filter(Boolean));
const QUERIES = 1000;
const K = 10;
const SHARDS = 4;
const EFFORTS = [0.25, 0.5, 1, 2];
/**
 * Lower efforts run through the cluster at concurrency 64 only: hnswlib at ef=64 answers
 * at a lower recall than 0.99, and these rows compare with it at a recall like its own.
 */
const CLUSTER_LOW_EFFORTS = [0.25, 0.5];
/**
 * Before each measured cluster run, a warm-up at its mode and concurrency, not counted:
 * this long, or 200 queries a connection. The first queries of a mode run its code cold
 * (not yet optimized by V8), and after a heavy run the processes' heaps resize: measured
 * at 1,000,000 faces, the first 5 s at concurrency 1 after exact at 64 (and 400 queries
 * at 8) took 3-5× the page faults of the next 5 s and had a p99 of 5.0-6.8 ms against
 * 2.9-4.3 ms in the runs after it.
 */
const WARMUP_MS = 3_000;

function recall(got: (readonly string[])[], truth: Neighbor[][], k: number, only?: (q: number) => boolean): number {
  let sum = 0;
  let n = 0;
  got.forEach((ids, q) => {
    if (q >= truth.length || (only && !only(q))) return;
    const want = new Set(truth[q].slice(0, k).map((x) => x.id));
    sum += ids.slice(0, k).filter((id) => want.has(id)).length / Math.max(1, want.size);
    n++;
  });
  return n ? sum / n : NaN;
}

const query = (data: BenchmarkData, q: number) => data.queries.subarray(q * DIMS, (q + 1) * DIMS);

/** faceshard's FaceIndex in this process. */
function inProcess(data: BenchmarkData, rows: Row[]): Neighbor[][] {
  const faces = data.ids.length;
  const gcRss = () => process.memoryUsage().rss;
  const rss0 = gcRss();
  const t0 = performance.now();
  const index = new FaceIndex();
  for (let i = 0; i < faces; i++) index.upsert(data.ids[i], data.vectors.subarray(i * DIMS, (i + 1) * DIMS));
  index.rebuild();
  const buildSeconds = (performance.now() - t0) / 1000;
  const memoryBytes = Math.max(index.stats().bytes, gcRss() - rss0);
  console.log(`in process: ${faces} faces indexed in ${buildSeconds.toFixed(2)} s, ${JSON.stringify(index.stats())}`);

  const t1 = performance.now();
  // Every query gets an exact answer (~10 s at 1,000,000 faces): recall on 300 of them moved
  // by ±0.006 between runs at 0.99, too coarse for the 0.99 target.
  const exactBatched = index.search(data.queries.subarray(0, QUERIES * DIMS), K);
  const batchedSeconds = (performance.now() - t1) / 1000;
  const truth = float32Truth(index, data.vectors, data.ids, data.queries.subarray(0, QUERIES * DIMS), K);
  const base = { system: 'faceshard in process', faces, buildSeconds, memoryBytes };
  const exactIds = exactBatched.map((list) => list.map((n) => n.id));
  rows.push({
    ...base,
    mode: `exact, batched (${QUERIES} a call)`,
    queries: QUERIES,
    qps: QUERIES / batchedSeconds,
    facesPerSecond: (faces * QUERIES) / batchedSeconds,
    recall1: recall(exactIds, truth, 1),
    recall10: recall(exactIds, truth, 10),
  });

  const single = (count: number, options: Parameters<FaceIndex['search']>[3]) => {
    const latencies: number[] = [];
    const got: string[][] = [];
    const started = performance.now();
    for (let q = 0; q < count; q++) {
      const t = performance.now();
      const [list] = index.search(query(data, q), K, undefined, options);
      latencies.push(performance.now() - t);
      got.push(list.map((n) => n.id));
    }
    return { seconds: (performance.now() - started) / 1000, latencies, got };
  };
  const exactCount = faces >= 500_000 ? 100 : 300;
  const exact = single(exactCount, undefined);
  rows.push({
    ...base,
    mode: 'exact, one query at a time',
    queries: exactCount,
    qps: exactCount / exact.seconds,
    facesPerSecond: (faces * exactCount) / exact.seconds,
    p50Ms: percentile(exact.latencies, 50),
    p99Ms: percentile(exact.latencies, 99),
    recall1: recall(exact.got, truth, 1),
    recall10: recall(exact.got, truth, 10),
  });

  const notEnrolled = (q: number) => data.queryIdentity[q] === null;
  for (const effort of EFFORTS) {
    const approx = single(QUERIES, { approximate: true, effort });
    rows.push({
      ...base,
      mode: `approximate effort ${effort}, one query at a time`,
      queries: QUERIES,
      qps: QUERIES / approx.seconds,
      facesPerSecond: (faces * QUERIES) / approx.seconds,
      p50Ms: percentile(approx.latencies, 50),
      p99Ms: percentile(approx.latencies, 99),
      recall1: recall(approx.got, truth, 1),
      recall10: recall(approx.got, truth, 10),
      recall1NotEnrolled: recall(approx.got, truth, 1, notEnrolled),
    });
  }
  const t2 = performance.now();
  const batched = index.search(data.queries.subarray(0, QUERIES * DIMS), K, undefined, { approximate: true });
  const approxBatchSeconds = (performance.now() - t2) / 1000;
  const batchedIds = batched.map((list) => list.map((n) => n.id));
  rows.push({
    ...base,
    mode: `approximate effort 1, batched (${QUERIES} a call)`,
    queries: QUERIES,
    qps: QUERIES / approxBatchSeconds,
    facesPerSecond: (faces * QUERIES) / approxBatchSeconds,
    recall1: recall(batchedIds, truth, 1),
    recall10: recall(batchedIds, truth, 10),
    recall1NotEnrolled: recall(batchedIds, truth, 1, notEnrolled),
  });
  return truth;
}

/**
 * Ingests every face; when it started (before the requests) and the sequences reached. In
 * a function of its own so the million face objects are garbage once it returns.
 */
async function ingestAll(client: FaceshardClient, data: BenchmarkData): Promise<{ t0: number; seq: Record<string, number> }> {
  const all: FaceToIngest[] = data.ids.map((id, i) => ({ id, vector: data.vectors.subarray(i * DIMS, (i + 1) * DIMS) }));
  const t0 = performance.now();
  return { t0, seq: await ingestInSteps(client, all) };
}

/** faceshard end to end: `faceshard up`'s launcher with 4 shards (one shard process per core), queries through faces.query. */
async function endToEnd(data: BenchmarkData, truth: Neighbor[][], rows: Row[], notes: string[], checkHost: (when: string) => void): Promise<void> {
  const faces = data.ids.length;
  const bench = await startBenchCluster('bench-search', SHARDS);
  const { client } = bench;
  try {
    const { t0, seq } = await ingestAll(client, data);
    const ingestSeconds = (performance.now() - t0) / 1000;
    await client.queryBinary(query(data, 0), { minSeq: seq, timeoutMs: 600_000 });
    const indexedSeconds = (performance.now() - t0) / 1000;
    const listed = await waitForIdleIndexMaintenance(client, SHARDS);
    const listedSeconds = (performance.now() - t0) / 1000;
    // Memory and queries in the steady state: after each shard's snapshot of the loaded index.
    const snapshotted = await waitForSnapshots(client, SHARDS);
    const snapshotSeconds = (performance.now() - t0) / 1000;
    const status = await client.status();
    const replicas = status.shards.flatMap((s) => s.replicas);
    // A process serving several shards is counted once.
    const pids = [...new Set(replicas.map((r) => r.pid))];
    const shardRss = replicas.length === SHARDS ? pids.map(residentBytes).reduce((a, b) => a + b, 0) : NaN;
    const shardPss = replicas.length === SHARDS ? pids.map(proportionalBytes).reduce((a, b) => a + b, 0) : NaN;
    notes.push(
      `${faces.toLocaleString('en-US')} faces: ingest acknowledged in ${ingestSeconds.toFixed(1)} s, searchable on every shard after ${indexedSeconds.toFixed(1)} s (target ≤ 10 s at 1,000,000), ${listed ? `in every shard's approximate lists after ${listedSeconds.toFixed(1)} s` : 'approximate lists NOT trained within 10 minutes'}, ${snapshotted ? `snapshotted after ${snapshotSeconds.toFixed(1)} s` : 'NOT snapshotted within 2 minutes'} (memory and queries measured from then on); the ${pids.length} shard processes (${SHARDS} shards) resident ${(shardRss / 2 ** 20).toFixed(0)} MiB = ${(shardRss / (faces * DIMS * 4)).toFixed(2)}× the raw vectors (target ≤ 1.5×; proportional, shared pages counted once: ${(shardPss / 2 ** 20).toFixed(0)} MiB = ${(shardPss / (faces * DIMS * 4)).toFixed(2)}×).`,
    );
    console.log(notes.at(-1));
    checkHost("before the cluster's queries (cluster idle)");

    const modes: Array<{ label: string; options: QueryOptions; concurrencies?: number[] }> = [
      { label: 'exact', options: { k: K } },
      { label: 'approximate', options: { k: K, approximate: true } },
      ...CLUSTER_LOW_EFFORTS.map((effort) => ({ label: `approximate effort ${effort}`, options: { k: K, approximate: true, effort }, concurrencies: [64] })),
    ];

    const load = await QueryLoad.start(bench.natsUrl, bench.security, data.queries.subarray(0, QUERIES * DIMS), DIMS);
    try {
      for (const mode of modes) {
        const options = { ...mode.options, timeoutMs: 60_000 };
        for (const concurrency of mode.concurrencies ?? [1, 8, 64]) {
          await load.run({ concurrency, maxQueries: 200 * concurrency, limitMs: WARMUP_MS, options, order: 'reverse', keepIds: 0 });
          const limitMs = faces >= 500_000 && mode.label === 'exact' ? 10_000 : 6_000;
          // At least 3,000 at concurrency 1 too (within the time limit): the p99 of 1,000 is
          // their 10th slowest, and it moved by ±1 ms between back-to-back runs.
          const maxQueries = Math.max(3000, concurrency * 200);
          const run = await load.run({ concurrency, maxQueries, limitMs, options, order: 'forward', keepIds: truth.length });
          const done = run.latenciesMs.length;
          const answered = run.ids.map((ids, q) => (ids ? q : -1)).filter((q) => q >= 0);
          const sub = answered.map((q) => run.ids[q]!);
          const subTruth = answered.map((q) => truth[q]);
          rows.push({
            system: 'faceshard cluster (4 shards)',
            mode: `${mode.label}, concurrency ${concurrency}`,
            faces,
            queries: done,
            qps: done / run.seconds,
            facesPerSecond: (faces * done) / run.seconds,
            p50Ms: percentile(run.latenciesMs, 50),
            p99Ms: percentile(run.latenciesMs, 99),
            recall1: recall(sub, subTruth, 1),
            recall10: recall(sub, subTruth, 10),
            memoryBytes: shardRss,
            buildSeconds: indexedSeconds,
            ...(run.partial ? { note: `${run.partial} partial answers (a shard timed out)` } : {}),
          });
          console.log(rows.at(-1));
        }
      }
    } finally {
      await load.close();
    }
    checkHost("after the cluster's queries");
  } finally {
    await bench.close();
  }
}

function findPython(): { exe?: string; reason: string } {
  const all = pythonWith('numpy, sklearn, faiss, hnswlib');
  if (all) return { exe: all, reason: '' };
  const some = pythonWith('numpy');
  if (some) return { exe: some, reason: 'some peers missing' };
  return { reason: 'no python3 with numpy (apt-get install python3-sklearn python3-faiss python3-hnswlib)' };
}

function runPython(exe: string, args: string[], timeoutMs: number): Promise<{ peers: Record<string, Record<string, unknown>> } | string> {
  return new Promise((resolve) => {
    execFile(exe, [path.join(ROOT, 'bench/search/peers.py'), ...args], { maxBuffer: 512 * 2 ** 20, timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) resolve(`failed or timed out after ${(timeoutMs / 1000).toFixed(0)} s: ${(stderr || String(err)).trim().split('\n').at(-1)}`);
      else resolve(JSON.parse(stdout) as { peers: Record<string, Record<string, unknown>> });
    });
  });
}

async function peers(dir: string, data: BenchmarkData, truth: Neighbor[][], rows: Row[], notes: string[]): Promise<void> {
  const faces = data.ids.length;
  const runs: Array<{ peers: Record<string, Record<string, unknown>> } | string> = [];
  const python = findPython();
  if (python.exe) {
    const files = [path.join(dir, 'faces.npy'), path.join(dir, 'queries.npy'), '--k', String(K), '--single', faces >= 500_000 ? '100' : '300'];
    const big = faces >= 500_000;
    runs.push(await runPython(python.exe, [...files, '--kdtree-queries', big ? '10' : '20', '--skip', 'hnswlib'], big ? 600_000 : 180_000));
    runs.push(
      SKIP.has('hnswlib')
        ? { peers: { hnswlib: { skipped: 'BENCH_SEARCH_SKIP' } } }
        : await runPython(python.exe, [...files, '--skip', 'sklearn-kdtree,faiss-flat'], big ? 420_000 : 180_000),
    );
  } else notes.push(`Python peers skipped: ${python.reason}`);
  if (!SKIP.has('usearch')) {
    const usearch = await measureUsearch(data.vectors, data.queries.subarray(0, QUERIES * DIMS), DIMS, K);
    if (typeof usearch === 'string') notes.push(usearch);
    else {
      notes.push(usearch.note);
      runs.push(usearch);
    }
  }
  const notEnrolled = (q: number) => data.queryIdentity[q] === null;
  for (const run of runs) {
    if (typeof run === 'string') {
      notes.push(`a peer run ${run}`);
      continue;
    }
    for (const [name, r] of Object.entries(run.peers)) {
      if ('skipped' in r) {
        if (r.skipped !== '--skip') notes.push(`${name} skipped: ${String(r.skipped)}`);
        continue;
      }
      const idsOf = (rowsOfQueries: number[][]) => rowsOfQueries.map((list) => list.map((row) => data.ids[row]));
      const recalls = (ids: string[][]) => ({
        recall1: recall(ids, truth, 1),
        recall10: recall(ids, truth, 10),
        recall1NotEnrolled: recall(ids, truth, 1, notEnrolled),
      });
      const neighbors = idsOf((r.neighbors as number[][]) ?? []);
      const base = {
        system: name,
        faces,
        buildSeconds: r.build_s as number,
        ...(typeof r.memory_bytes === 'number' ? { memoryBytes: r.memory_bytes } : {}),
        ...recalls(neighbors),
      };
      if (typeof r.batched_qps === 'number')
        rows.push({
          ...base,
          mode: `batched (${String(r.batched_queries)} a call)`,
          queries: r.batched_queries as number,
          qps: r.batched_qps,
          facesPerSecond: faces * r.batched_qps,
        });
      rows.push({
        ...base,
        // A peer that returns the one-at-a-time answers too (usearch) is scored on them.
        ...(r.single_neighbors ? recalls(idsOf(r.single_neighbors as number[][])) : {}),
        mode: 'one query at a time',
        queries: r.single_queries as number,
        qps: r.single_qps as number,
        facesPerSecond: faces * (r.single_qps as number),
        p50Ms: r.single_p50_ms as number,
        p99Ms: r.single_p99_ms as number,
      });
    }
  }
}

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || Number.isNaN(n) ? '' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const bytes = (n: number | undefined, faces: number) =>
  n === undefined || Number.isNaN(n) ? '' : `${(n / 2 ** 20).toFixed(0)} MiB (${(n / (faces * DIMS * 4)).toFixed(2)}×)`;

function table(rows: Row[]): string[] {
  const lines = [
    '| system | mode | queries/s | faces/s | p50 ms | p99 ms | recall@1 | recall@10 | recall@1 not enrolled | build/index s | memory (× raw) | note |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.system} | ${r.mode} | ${fmt(r.qps, 1)} | ${fmt(r.facesPerSecond)} | ${fmt(r.p50Ms, 2)} | ${fmt(r.p99Ms, 2)} | ${fmt(r.recall1, 3)} | ${fmt(r.recall10, 3)} | ${fmt(r.recall1NotEnrolled, 3)} | ${fmt(r.buildSeconds, 1)} | ${bytes(r.memoryBytes, r.faces)} | ${r.note ?? ''} |`,
    );
  }
  return lines;
}

function comparisons(rows: Row[]): string[] {
  const ratio = (a: Row | undefined, b: Row | undefined) => (a && b ? `${(a.facesPerSecond / b.facesPerSecond).toFixed(2)}×` : 'n/a');
  const fsExactBatch = best(rows, 'faceshard in process', /^exact, batched/);
  const fsExactOne = best(rows, 'faceshard in process', /^exact, one/);
  const fsApprox = best(rows, 'faceshard in process', /^approximate/, 0.99);
  const clExact = best(rows, 'faceshard cluster (4 shards)', /^exact/);
  const clApprox = best(rows, 'faceshard cluster (4 shards)', /^approximate/, 0.99);
  const peersOf = (name: string, mode: RegExp) => best(rows, name, mode);
  const kd = peersOf('sklearn-kdtree', /one/);
  const faissB = peersOf('faiss-flat', /batched/);
  const faissOne = peersOf('faiss-flat', /one/);
  const hnswB = peersOf('hnswlib', /batched/);
  const hnswOne = peersOf('hnswlib', /one/);
  return [
    '| faceshard (faces/s) ÷ peer | sklearn KDTree, one query | FAISS flat, batched | FAISS flat, one query | hnswlib, batched | hnswlib, one query |',
    '|---|---:|---:|---:|---:|---:|',
    `| in process, exact batched | ${ratio(fsExactBatch, kd)} | ${ratio(fsExactBatch, faissB)} | ${ratio(fsExactBatch, faissOne)} | ${ratio(fsExactBatch, hnswB)} | ${ratio(fsExactBatch, hnswOne)} |`,
    `| in process, exact one query | ${ratio(fsExactOne, kd)} | ${ratio(fsExactOne, faissB)} | ${ratio(fsExactOne, faissOne)} | ${ratio(fsExactOne, hnswB)} | ${ratio(fsExactOne, hnswOne)} |`,
    `| in process, approximate (recall@1 ≥ 0.99) | ${ratio(fsApprox, kd)} | ${ratio(fsApprox, faissB)} | ${ratio(fsApprox, faissOne)} | ${ratio(fsApprox, hnswB)} | ${ratio(fsApprox, hnswOne)} |`,
    `| cluster, exact (best concurrency) | ${ratio(clExact, kd)} | ${ratio(clExact, faissB)} | ${ratio(clExact, faissOne)} | ${ratio(clExact, hnswB)} | ${ratio(clExact, hnswOne)} |`,
    `| cluster, approximate (recall@1 ≥ 0.99) | ${ratio(clApprox, kd)} | ${ratio(clApprox, faissB)} | ${ratio(clApprox, faissOne)} | ${ratio(clApprox, hnswB)} | ${ratio(clApprox, hnswOne)} |`,
  ];
}

function targets(rows: Row[]): string[] {
  const miss = (value: number | undefined, target: number, higherIsBetter = true) => {
    if (value === undefined || Number.isNaN(value)) return 'n/a';
    const ok = higherIsBetter ? value >= target : value <= target;
    return ok ? 'met' : higherIsBetter ? `missed: ${(target / value).toFixed(1)}× short` : `missed: ${(value / target).toFixed(1)}× over`;
  };
  const clApprox = best(rows, 'faceshard cluster (4 shards)', /^approximate/, 0.99);
  const clApproxOne = rows.find((r) => r.system === 'faceshard cluster (4 shards)' && r.mode === 'approximate, concurrency 1');
  const clExact = best(rows, 'faceshard cluster (4 shards)', /^exact/);
  const clExactOne = rows.find((r) => r.system === 'faceshard cluster (4 shards)' && r.mode === 'exact, concurrency 1');
  const faissB = best(rows, 'faiss-flat', /batched/);
  const faissOne = best(rows, 'faiss-flat', /one/);
  const hnsw = best(rows, 'hnswlib', /.*/);
  // The cluster's fastest approximate row at hnswlib ef=64's own recall or better.
  const clAtHnswRecall = hnsw ? best(rows, 'faceshard cluster (4 shards)', /^approximate/, hnsw.recall1 ?? 1) : undefined;
  // The same graph at the smallest ef that reaches the target recall: the like-for-like comparison.
  const hnswAtRecall = rows.filter((r) => r.system.startsWith('hnswlib') && (r.recall1 ?? 0) >= 0.99).sort((a, b) => b.qps - a.qps)[0];
  const memory = rows.find((r) => r.system === 'faceshard cluster (4 shards)');
  return [
    '| target (1,000,000 faces, 2 cores) | measured | verdict |',
    '|---|---|---|',
    `| cluster approximate ≥ 1,000 queries/s at recall@1 ≥ 0.99 | ${clApprox ? `${fmt(clApprox.qps, 1)} q/s (${clApprox.mode}, recall@1 ${fmt(clApprox.recall1, 3)})` : 'n/a'} | ${miss(clApprox?.qps, 1000)} |`,
    `| cluster approximate ahead of hnswlib (M=16, ef=64) | ${clApprox && hnsw ? `${fmt(clApprox.qps, 1)} vs ${fmt(hnsw.qps, 1)} q/s` : 'n/a'} | ${clApprox && hnsw ? miss(clApprox.qps, hnsw.qps) : 'n/a'} |`,
    `| … ahead of hnswlib (M=16, ef=64) at its recall@1 (cluster's fastest approximate row at that recall or better) | ${clAtHnswRecall && hnsw ? `${fmt(clAtHnswRecall.qps, 1)} q/s (${clAtHnswRecall.mode}, recall@1 ${fmt(clAtHnswRecall.recall1, 3)}) vs ${fmt(hnsw.qps, 1)} q/s (recall@1 ${fmt(hnsw.recall1, 3)})` : 'n/a'} | ${clAtHnswRecall && hnsw ? miss(clAtHnswRecall.qps, hnsw.qps) : 'n/a'} |`,
    `| … and ahead of hnswlib at recall@1 ≥ 0.99 (its fastest ef there) | ${clApprox && hnswAtRecall ? `${fmt(clApprox.qps, 1)} vs ${fmt(hnswAtRecall.qps, 1)} q/s (${hnswAtRecall.system}, ${hnswAtRecall.mode}, recall@1 ${fmt(hnswAtRecall.recall1, 3)})` : clApprox && hnsw ? 'no ef tried reached recall@1 0.99' : 'n/a'} | ${clApprox && hnswAtRecall ? miss(clApprox.qps, hnswAtRecall.qps) : 'n/a'} |`,
    `| cluster exact ≥ FAISS flat batched faces/s | ${clExact && faissB ? `${fmt(clExact.facesPerSecond)} vs ${fmt(faissB.facesPerSecond)}` : 'n/a'} | ${clExact && faissB ? miss(clExact.facesPerSecond, faissB.facesPerSecond) : 'n/a'} |`,
    `| cluster exact single-query latency < FAISS's | ${clExactOne && faissOne ? `p50 ${fmt(clExactOne.p50Ms, 2)} ms vs ${fmt(faissOne.p50Ms, 2)} ms` : 'n/a'} | ${clExactOne && faissOne ? miss(clExactOne.p50Ms, faissOne.p50Ms!, false) : 'n/a'} |`,
    `| cluster approximate single-query p99 ≤ 5 ms | ${clApproxOne ? `${fmt(clApproxOne.p99Ms, 2)} ms` : 'n/a'} | ${miss(clApproxOne?.p99Ms, 5, false)} |`,
    `| 1,000,000 faces indexed across 4 shards ≤ 10 s | ${memory ? `${fmt(memory.buildSeconds, 1)} s` : 'n/a'} | ${miss(memory?.buildSeconds, 10, false)} |`,
    `| resident memory ≤ 1.5× raw vectors | ${memory?.memoryBytes ? `${(memory.memoryBytes / (memory.faces * DIMS * 4)).toFixed(2)}×` : 'n/a'} | ${miss(memory?.memoryBytes ? memory.memoryBytes / (memory.faces * DIMS * 4) : undefined, 1.5, false)} |`,
  ];
}

async function main() {
  const started = performance.now();
  const loadBefore = os.loadavg();
  const result: Array<{ faces: number; rows: Row[]; notes: string[] }> = [];
  const md: string[] = ['# Search benchmark (issue 4)', ''];
  for (const faces of SIZES) {
    const rows: Row[] = [];
    const notes: string[] = [];
    const dir = await mkdtemp(path.join(os.tmpdir(), 'faceshard-bench-data-'));
    const host: string[] = [];
    const checkHost = (when: string) => {
      const jitter = measureHostJitter();
      host.push(`${when} ${jitter.p50Ms.toFixed(2)} / ${jitter.p99Ms.toFixed(2)}`);
      console.log(`host check ${host.at(-1)}`);
    };
    try {
      const data = benchmarkData({ faces, identities: Math.max(1, Math.round(faces / 5)), queries: QUERIES, seed: 1 });
      await writeBenchmarkFiles(dir, data);
      console.log(`data: ${faces} faces, ${QUERIES} queries (${data.queryIdentity.filter((q) => q === null).length} not enrolled) in ${dir}`);
      checkHost('before the in-process rows');
      const truth = inProcess(data, SKIP.has('inprocess') ? [] : rows);
      // The in-process index (~0.8 GB at 1,000,000 faces) is garbage now; collect it before
      // this process becomes the cluster's ingest client (npm run bench runs node --expose-gc).
      (globalThis as { gc?: () => void }).gc?.();
      if (!SKIP.has('cluster')) await endToEnd(data, truth, rows, notes, checkHost);
      if (!SKIP.has('peers')) {
        await peers(dir, data, truth, rows, notes);
        checkHost('after the peers');
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    notes.push(
      `Host speed through this size (the same arithmetic on one thread for 3 s, p50 / p99 ms; on a quiet dedicated core both stay put and p99 ≈ p50): ${host.join('; ')}. Where the p50 moved between two checks the host itself changed speed in between, and rows measured then compare less well with the others; no latency percentile through the cluster is steadier than the host's own p99 ÷ p50.`,
    );
    result.push({ faces, rows, notes });
    md.push(`## ${faces.toLocaleString('en-US')} faces`, '', ...table(rows), '', ...comparisons(rows), '', ...usearchTargets(rows), '');
    if (faces >= 1_000_000) md.push(...targets(rows), '');
    md.push(...notes.map((n) => `- ${n}`), '');
  }
  const machine = {
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    loadavgBefore: loadBefore,
    loadavgAfter: os.loadavg(),
    node: process.version,
    minutes: (performance.now() - started) / 60_000,
  };
  md.splice(
    2,
    0,
    `Machine: ${machine.cores} cores (${machine.cpu}), Node ${machine.node}; load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} at the start, ${machine.loadavgAfter.map((l) => l.toFixed(2)).join(' ')} at the end (other work on the machine makes every number noisier). Whole run ${machine.minutes.toFixed(1)} min.`,
    '',
    `Data: \`benchmarkData\` (libs/synthetic/face-model.ts), 5 photos a person, ${QUERIES} queries = fresh photos, half of enrolled people and half of people not enrolled; k = ${K}. Recall is against the exact answer over the float32 vectors given (a float64 brute force: bench/search/float32-truth.ts); faceshard stores each vector rounded to a multiple of 2^-14 and its exact search is exact over those stored values, so its exact rows show what the rounding moves. faces/s = faces in the index × queries/s. Approximate = IVF lists (${DEFAULT_LISTS_PER_SQRT_ROW}·√n a shard); "effort" scales the lists probed (1 = ${PROBE_SHARE_AT_EFFORT_1 * 32}/32 of them) and the shortlist of their faces, ranked on 4-bit codes of 32 principal axes, that gets the exact distance (1 = ${SHORTLIST_AT_EFFORT_1} faces a shard). Cluster rows: queries come from a worker thread of the bench holding only the queries (its own heap and NATS connection); each run is preceded by a warm-up at its mode and concurrency, not counted (${WARMUP_MS / 1000} s or 200 queries a connection), then runs max(3,000, 200 × concurrency) queries or 6 s, whichever ends first (exact at 1,000,000 faces: 10 s); approximate at effort ${CLUSTER_LOW_EFFORTS.join(' and ')} only at concurrency 64 (to compare with hnswlib ef=64 at a recall like its own).`,
    '',
  );
  await writeFile(path.join(ROOT, 'bench/results/search.md'), md.join('\n'));
  await writeFile(path.join(ROOT, 'bench/results/search.json'), JSON.stringify({ machine, sizes: result }, null, 2) + '\n');
  console.log(md.join('\n'));
}

await main();
