/** One size of the scale bench, end to end, on a fresh local 4-shard cluster. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { QueryOptions } from '../../libs/nats/client/index.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import { startBenchCluster, type BenchCluster } from '../cluster.js';
import { proportionalBytes, residentBytes } from '../process-memory.js';
import { QueryLoad } from '../query-load.js';
import { diskBytes } from './disk-usage.js';
import { waitForListsComplete } from './lists-complete.js';
import { answerEvery, measureThroughput } from './query-runs.js';
import { readQueries, type QuerySet } from './query-files.js';
import { recallAt } from './recall.js';
import { restartFromSnapshots } from './restart.js';
import { lastSnapshotWrites, waitForCompleteSnapshots } from './snapshot-log.js';
import { approximateAtTarget, type ApproximateResult, type SizeResult } from './result.js';
import { streamIngest } from './stream-ingest.js';
import { faissFlat } from './faiss-flat.js';
import { synthFiles } from './synth-files.js';

export interface ScaleSettings {
  shards: number;
  queries: number;
  k: number;
  /**
   * Approximate efforts: `start` first; while the last one tried reaches targetRecall,
   * each of `lower` in turn (less work a query for the same target); when `start` misses
   * it, each of `higher` in turn until one reaches it.
   */
  efforts: { start: number; lower: readonly number[]; higher: readonly number[] };
  targetRecall: number;
  /** Rows per ingest request (the CLI's 1000 by default). */
  readBatch: number;
  /** How long a measured run may take: approximate, exact (the latter longer, at millions a query is slow). */
  approximateLimitMs: number;
  exactLimitMs: number;
  /** How long to wait for settling, snapshots and a restart before calling it missed. */
  waitMs: number;
}

const minutes = (m: number) => m * 60_000;

export async function measureSize(faces: number, settings: ScaleSettings): Promise<SizeResult> {
  // The user's files (faces.npy, ids.txt, queries), apart from the cluster's data dir.
  const filesDir = await mkdtemp(path.join(os.tmpdir(), 'faceshard-scale-files-'));
  try {
    const synth = await synthFiles(filesDir, { faces, queries: settings.queries, enrolledShare: 0.7, seed: 1 });
    console.log(`synth: ${faces} faces in ${synth.seconds.toFixed(1)} s`);
    const queries = await readQueries(filesDir);
    const bench = await startBenchCluster('scale', settings.shards);
    let open: BenchCluster = bench;
    let size: SizeResult;
    try {
      const result = await onCluster(bench, faces, filesDir, queries, settings, synth);
      open = result.restarted;
      size = result.size;
    } finally {
      // After a failed restart `open` is the stopped cluster: its close may throw, its dir must still go.
      await open.close().catch((err: Error) => console.error(`closing the cluster: ${err.message}`));
      if (!process.env.BENCH_KEEP) await rm(bench.dataDir, { recursive: true, force: true });
    }
    // The exact peer on the same files, the cluster stopped.
    size.faissFlat = await faissFlat(path.join(filesDir, 'faces.npy'), path.join(filesDir, 'queries.npy'), settings.k, settings.waitMs);
    console.log(`faiss flat: ${'qps' in size.faissFlat ? `${size.faissFlat.qps.toFixed(1)} q/s batched` : size.faissFlat.skipped}`);
    return size;
  } finally {
    await rm(filesDir, { recursive: true, force: true });
  }
}

async function onCluster(
  bench: BenchCluster,
  faces: number,
  filesDir: string,
  queries: QuerySet,
  settings: ScaleSettings,
  synth: SizeResult['synth'],
): Promise<{ size: SizeResult; restarted: BenchCluster }> {
  const client = bench.client;
  const shards = settings.shards;
  const ingest = await streamIngest(client, path.join(filesDir, 'faces.npy'), path.join(filesDir, 'ids.txt'), settings.readBatch);
  const since = (t: number | undefined) => (t === undefined ? undefined : (t - ingest.firstWriteAt) / 1000);
  console.log(`ingest: ${ingest.accepted} faces in ${ingest.seconds.toFixed(1)} s`);
  await client.queryBinary(queries.vectors.subarray(0, FACE_DIMENSIONS), { minSeq: ingest.seq, timeoutMs: settings.waitMs });
  const searchableSeconds = since(performance.now())!;
  const settleSeconds = since(await waitForListsComplete(client, shards, ingest.accepted, settings.waitMs));
  console.log(`searchable after ${searchableSeconds.toFixed(1)} s, in the lists after ${settleSeconds?.toFixed(1) ?? 'NOT'} s`);
  // Memory, disk and queries in the steady state: after each shard's snapshot of the loaded index, lists included.
  const snapshotSeconds = since(await waitForCompleteSnapshots(client, bench.local.logDir, shards, settings.waitMs));
  const snapshotWrites = [...lastSnapshotWrites(bench.local.logDir).values()];
  const status = await client.status(2000);
  const pids = [...new Set(status.shards.flatMap((s) => s.replicas.map((r) => r.pid)))];
  const listedFaces = status.shards.reduce((sum, s) => sum + (s.replicas[0]?.listedRows ?? 0), 0);
  // A shard missing from this status would leave its process out of the sum: no figure rather than a low one.
  const allShards = status.shards.length === shards;
  const memory = {
    shardProcesses: pids.length,
    rssBytes: allShards ? pids.map(residentBytes).reduce((a, b) => a + b, 0) : NaN,
    pssBytes: allShards ? pids.map(proportionalBytes).reduce((a, b) => a + b, 0) : NaN,
  };
  const disk = { streamBytes: diskBytes(path.join(bench.dataDir, 'nats')), snapshotBytes: diskBytes(path.join(bench.dataDir, 'snapshots')) };

  const load = await QueryLoad.start(bench.natsUrl, bench.security, queries.vectors, FACE_DIMENSIONS);
  let measured;
  try {
    measured = await queryRuns(load, queries, settings);
  } finally {
    await load.close();
  }
  const target = approximateAtTarget(measured.approximate, settings.targetRecall);
  const { result: restart, cluster: restarted } = await restartFromSnapshots(bench, {
    shards,
    faces: ingest.accepted,
    seq: ingest.seq,
    queries: queries.vectors,
    truth: measured.truth,
    approximate: { k: settings.k, approximate: true, effort: target.effort },
    readyTimeoutMs: settings.waitMs,
    listedTimeoutMs: settings.waitMs,
  });
  console.log(`restart: stopped in ${restart.stopSeconds.toFixed(1)} s, ready in ${restart.readySeconds.toFixed(1)} s`);
  const size: SizeResult = {
    faces,
    queries: queries.count,
    synth,
    ingest: {
      seconds: ingest.seconds,
      facesPerSecond: ingest.accepted / ingest.seconds,
      accepted: ingest.accepted,
      rowErrors: ingest.rowErrors,
      readBatch: settings.readBatch,
    },
    searchableSeconds,
    settleSeconds,
    listedFaces,
    snapshotSeconds,
    snapshotWriteSeconds: Math.max(...snapshotWrites.map((w) => w.seconds)),
    memory,
    disk,
    truthSeconds: measured.truthSeconds,
    exact: measured.exact,
    approximate: measured.approximate,
    restart,
    benchMaxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  return { size, restarted };
}

/**
 * The truth first: every query answered exactly through the cluster (exact over the
 * stored values), then exact and approximate throughput and latency, and approximate
 * recall at each effort until one reaches the target.
 */
async function queryRuns(load: QueryLoad, queries: QuerySet, settings: ScaleSettings) {
  const exactOptions: QueryOptions = { k: settings.k, timeoutMs: minutes(10) };
  const truthRun = await answerEvery(load, queries.count, exactOptions, 8);
  const truth = truthRun.ids;
  const missing = truth.filter((ids) => ids === undefined).length;
  if (missing) throw new Error(`${missing} exact queries got no answer`);
  const exact = {
    busy: await measureThroughput(load, exactOptions, 8, settings.exactLimitMs),
    single: await measureThroughput(load, exactOptions, 1, settings.exactLimitMs),
  };
  console.log(`exact: ${exact.busy.qps.toFixed(1)} q/s at 8, p50 ${exact.single.p50Ms.toFixed(2)} ms at 1`);
  const approximate: ApproximateResult[] = [];
  const tryEffort = async (effort: number): Promise<boolean> => {
    const options: QueryOptions = { k: settings.k, approximate: true, effort, timeoutMs: 60_000 };
    const answers = await answerEvery(load, queries.count, options, 32);
    const recall1 = recallAt(answers.ids, truth, 1);
    const reached = recall1 >= settings.targetRecall;
    approximate.push({
      effort,
      recall1,
      recall1NotEnrolled: recallAt(answers.ids, truth, 1, (q) => queries.notEnrolled[q]),
      busy: await measureThroughput(load, options, 32, settings.approximateLimitMs),
      // Latency for the first effort and for every effort that reaches the target.
      single: effort === settings.efforts.start || reached ? await measureThroughput(load, options, 1, settings.approximateLimitMs) : undefined,
    });
    console.log(`approximate effort ${effort}: recall@1 ${recall1.toFixed(4)}, ${approximate[approximate.length - 1].busy.qps.toFixed(1)} q/s at 32`);
    return reached;
  };
  const { start, lower, higher } = settings.efforts;
  if (await tryEffort(start)) {
    for (const effort of lower) if (!(await tryEffort(effort))) break;
  } else {
    for (const effort of higher) if (await tryEffort(effort)) break;
  }
  return { truth, truthSeconds: truthRun.seconds, exact, approximate };
}
