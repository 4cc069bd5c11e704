/** What the scale bench measures at one size (scale.json holds these as they are). */
import type { FaissFlatResult } from './faiss-flat.js';
import type { Throughput } from './query-runs.js';

export interface ApproximateResult {
  effort: number;
  recall1: number;
  recall1NotEnrolled: number;
  /** Queries/s at concurrency 32. */
  busy: Throughput;
  /** Latency at concurrency 1 (measured for effort 1 and for the effort reaching recall@1 0.99). */
  single?: Throughput;
}

export interface SizeResult {
  faces: number;
  queries: number;
  synth: { seconds: number; maxRssBytes?: number };
  ingest: { seconds: number; facesPerSecond: number; accepted: number; rowErrors: number; readBatch: number };
  /** Seconds from the first write: every face searchable (exact), every face in the approximate lists, every snapshot written. */
  searchableSeconds: number;
  settleSeconds?: number;
  /** Faces in the shards' approximate lists once settled: 0 when every shard is under the lists' minimum size (approximate = a full scan). */
  listedFaces: number;
  snapshotSeconds?: number;
  /** The longest a shard took to write that snapshot (from its log). */
  snapshotWriteSeconds: number;
  memory: { shardProcesses: number; rssBytes: number; pssBytes: number };
  disk: { streamBytes: number; snapshotBytes: number };
  /** The truth pass: every query answered exactly through the cluster at concurrency 8. */
  truthSeconds: number;
  exact: { busy: Throughput; single: Throughput };
  /** Effort 1, then 2 and 4 while recall@1 < 0.99. */
  approximate: ApproximateResult[];
  restart: {
    /** Stopping the whole cluster (each shard process drains and writes a final snapshot). */
    stopSeconds: number;
    /** Starting it again on the same data dir until every shard has a ready replica. */
    readySeconds: number;
    /** From the start until every face is back in the approximate lists (undefined: not within the time allowed). */
    listedSeconds?: number;
    /** recall@1 of approximate queries (the effort used for the ≥ 0.99 row) right after the restart. */
    recall1: number;
    /** Queries whose answer right after the restart missed a shard (partial); absent in older results. */
    partialQueries?: number;
  };
  /** Peak resident memory of this bench process so far. */
  benchMaxRssBytes: number;
  /** FAISS IndexFlatL2 batched on 2 threads over the same files, once the cluster stopped (set after the cluster's part). */
  faissFlat?: FaissFlatResult;
}

/** The approximate row at the lowest effort tried that reaches recall@1 `target`, else the last tried. */
export function approximateAtTarget(tried: readonly ApproximateResult[], target = 0.99): ApproximateResult {
  const reaching = tried.filter((a) => a.recall1 >= target).sort((a, b) => a.effort - b.effort);
  return reaching[0] ?? tried[tried.length - 1];
}
