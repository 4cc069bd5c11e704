/**
 * Restart-to-ready from snapshots: the whole cluster stopped (every shard process drains
 * and writes its final snapshot) and started again on the same data dir: nats-server
 * recovers the stream, each shard loads its snapshot and replays what came after.
 */
import type { FaceshardClient, QueryOptions } from '../../libs/nats/client/index.js';
import type { MinSeq } from '../../libs/protocol/index.js';
import { startBenchClusterIn, type BenchCluster } from '../cluster.js';
import { waitForListsComplete } from './lists-complete.js';
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
  const recall1 = await recallAfterRestart(cluster.client, check);
  return {
    cluster,
    result: {
      stopSeconds: (started - stopping) / 1000,
      readySeconds,
      listedSeconds: listedAt === undefined ? undefined : (listedAt - started) / 1000,
      recall1,
    },
  };
}

/** Every query at once, with the pre-stop sequences as minSeq: what the restarted shards answer holds all faces. */
async function recallAfterRestart(client: FaceshardClient, check: RestartCheck): Promise<number> {
  const reply = await client.queryBinary(check.queries, { ...check.approximate, minSeq: check.seq, timeoutMs: 600_000 });
  const ids = reply.results.map((neighbors) => neighbors.map((n) => n.id));
  return recallAt(ids, check.truth, 1);
}
