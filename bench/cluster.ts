/** What the benchmarks share: a local cluster like `faceshard up`'s, and a paced bulk ingest. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FaceshardClient, type FaceToIngest } from '../libs/nats/client/index.js';
import { startLocalCluster, waitForCluster, type LocalCluster } from '../libs/local/local-cluster/index.js';
import { connectAs, type NatsSecurity } from '../libs/nats/nats-auth/index.js';
import { createLogger } from '../libs/observability/logger.js';

export interface BenchCluster {
  client: FaceshardClient;
  natsUrl: string;
  /** How a client connects: the writer's credentials, none when authentication is off. */
  security: NatsSecurity;
  dataDir: string;
  /** The processes themselves (a bench that adds or pauses replicas). */
  local: LocalCluster;
  /** Stops every process and keeps the data dir (to start a cluster on it again). */
  stop(): Promise<void>;
  /** Stops every process; keeps the data dir (logs, snapshots) when BENCH_KEEP is set. */
  close(): Promise<void>;
}

/**
 * Like `faceshard up`: `processes` shard processes (default one per core, each serving
 * shards s mod processes), authentication on unless `auth` is false.
 */
export async function startBenchCluster(label: string, shards: number, processes?: number, auth = true): Promise<BenchCluster> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `faceshard-${label}-`));
  return startBenchClusterIn(dataDir, shards, { processes, auth });
}

/**
 * The same cluster on a data dir of the caller's: a fresh one, or the dir of a cluster
 * stopped before (its stream and snapshots), to measure a restart. Resolves once every
 * shard has a ready replica, or throws after readyTimeoutMs (default 60 s).
 */
export async function startBenchClusterIn(
  dataDir: string,
  shards: number,
  options: { processes?: number; auth?: boolean; readyTimeoutMs?: number } = {},
): Promise<BenchCluster> {
  const { processes, auth = true, readyTimeoutMs = 60_000 } = options;
  const cluster = await startLocalCluster({ shards, replicas: 1, processes, natsPort: 0, dataDir, auth, log: createLogger({ service: 'bench' }, 'warn') });
  const nc = await connectAs({ servers: cluster.natsUrl }, cluster.admin);
  try {
    await waitForCluster(nc, shards, 1, readyTimeoutMs);
  } finally {
    await nc.close();
  }
  const security: NatsSecurity = { creds: cluster.credentials?.writer };
  const client = await FaceshardClient.connect(cluster.natsUrl, { security });
  const stop = async () => {
    await client.close();
    await cluster.stop();
  };
  return {
    client,
    natsUrl: cluster.natsUrl,
    security,
    dataDir,
    local: cluster,
    stop,
    close: async () => {
      await stop();
      if (process.env.BENCH_KEEP) console.log(`kept ${dataDir}`);
      else await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Ingests in steps of 100,000 faces (4 requests in flight); the per-shard sequences reached, for minSeq. */
export async function ingestInSteps(client: FaceshardClient, faces: FaceToIngest[]): Promise<Record<string, number>> {
  const seq: Record<string, number> = {};
  for (let start = 0; start < faces.length; start += 100_000) {
    const reply = await client.ingestMany(faces.slice(start, start + 100_000), { concurrency: 4 });
    for (const [shard, s] of Object.entries(reply.seq)) seq[shard] = Math.max(seq[shard] ?? 0, s);
  }
  return seq;
}

/**
 * Waits until every replica's last snapshot covers all it applied (the snapshot after a
 * bulk load copies and hashes the whole index: a second-long stall measured on 2 cores
 * that would otherwise land in the first measurement); false after timeoutMs.
 */
export async function waitForSnapshots(client: FaceshardClient, shards: number, timeoutMs = 120_000): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const status = await client.status(1000);
    const replicas = status.shards.flatMap((s) => s.replicas);
    if (status.shards.length === shards && replicas.every((r) => r.snapshotSeq !== undefined && r.snapshotSeq >= r.appliedSeq)) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

/**
 * Waits until every shard's index maintenance is idle: after a bulk load, the approximate
 * lists are trained once the writes stop (shards under the IVF's minimum size have none);
 * false if that did not happen within timeoutMs.
 */
export async function waitForIdleIndexMaintenance(client: FaceshardClient, shards: number, timeoutMs = 600_000): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const status = await client.status(1000);
    const replicas = status.shards.flatMap((s) => s.replicas);
    if (status.shards.length === shards && replicas.every((r) => r.count > 0 && r.maintenance === 'idle')) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}
