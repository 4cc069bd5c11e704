/**
 * Restart-to-ready from snapshots: the whole cluster stopped (every shard process drains
 * and writes its final snapshot) and started again on the same data dir: nats-server
 * recovers the stream, each shard loads its snapshot and replays what came after.
 */
import type { FaceshardClient, QueryOptions } from '../../libs/nats/client/index.js';
import type { MinSeq } from '../../libs/protocol/index.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import { startBenchClusterIn, type BenchCluster } from '../cluster.js';
import { waitForListsComplete } from './lists-complete.js';
import { askInRequests } from './ask-in-requests.js';
import { recallAt } from './recall.js';
import type { SizeResult } from './result.js';

export interface RestartCheck {
  shards: number;
  faces: number;
  /** A query with it as minSeq sees every face ingested before the stop. */
  seq: MinSeq;
  queries: Float32Array;
  truth: (string[] | undefined)[];
  /** The approximate options whose recall is checked after the restart. */
  approximate: QueryOptions;
  readyTimeoutMs: number;
  listedTimeoutMs: number;
}

/** Stops `bench`, starts a cluster on its data dir, measures; returns the restarted cluster (the caller closes it). */
export async function restartFromSnapshots(bench: BenchCluster, check: RestartCheck): Promise<{ result: SizeResult['restart']; cluster: BenchCluster }> {
  const stopping = performance.now();
  await bench.stop();
  const started = performance.now();
  const cluster = await startBenchClusterIn(bench.dataDir, check.shards, { readyTimeoutMs: check.readyTimeoutMs });
  const readySeconds = (performance.now() - started) / 1000;
  const listedAt = await waitForListsComplete(cluster.client, check.shards, check.faces, check.listedTimeoutMs);
  const { recall1, partialQueries } = await recallAfterRestart(cluster.client, check);
  return {
    cluster,
    result: {
      stopSeconds: (started - stopping) / 1000,
      readySeconds,
      listedSeconds: listedAt === undefined ? undefined : (listedAt - started) / 1000,
      recall1,
      partialQueries,
    },
  };
}

/**
 * Vectors a request, and requests at a time: the check asks what the restarted shards
 * answer, not whether one request of every query fits the legs' timeout. At 10,000,000
 * faces one request of all 1,000 queries (split by the client into 810 + 190 vectors at
 * k 10, sent together) put ~2,000 query-shard searches on each shard process at once
 * (~1.4 s CPU per 1,000 queries and 2,500,000-face shard, measured in process with
 * bench/snapshot-load), past the coordinator's SHARD_TIMEOUT_MS (2 s) for the legs queued
 * last; this check read only the results, so a partial answer counted as misses. Recall@1
 * read 0.909, about what the 190-vector request losing both shards of one process costs
 * (0.19 x 0.5); which legs were missing was not recorded. In process the loaded index
 * answers exactly as before the stop (recall@1 0.996 both), and a restarted replica is
 * ready only with its lists and pre-filter (test/integration/shard-restart.test.ts).
 */
const RECALL_REQUEST_VECTORS = 50;
const RECALL_CONCURRENCY = 4;

/**
 * The queries in small requests, with the pre-stop sequences as minSeq: what the restarted
 * shards answer holds all faces. Recall@1 over every query; `partialQueries` says how many
 * answers missed a shard (each counts as whatever it found, so a partial answer lowers the
 * recall and is reported, not hidden).
 */
async function recallAfterRestart(client: FaceshardClient, check: RestartCheck): Promise<{ recall1: number; partialQueries: number }> {
  const { ids, partialQueries } = await askInRequests(check.truth.length, RECALL_REQUEST_VECTORS, RECALL_CONCURRENCY, async (start, end) => {
    const vectors = check.queries.subarray(start * FACE_DIMENSIONS, end * FACE_DIMENSIONS);
    const reply = await client.queryBinary(vectors, { ...check.approximate, minSeq: check.seq, timeoutMs: 600_000 });
    return { ids: reply.results.map((neighbors) => neighbors.map((n) => n.id)), partial: reply.partial };
  });
  return { recall1: recallAt(ids, check.truth, 1), partialQueries };
}
