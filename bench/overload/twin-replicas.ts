/** Adds a second replica to each shard of a running local cluster (as the replicas bench does live) and waits until they answer. */
import path from 'node:path';
import type { FaceshardClient } from '../../libs/nats/client/index.js';
import type { LocalCluster } from '../../libs/local/local-cluster/index.js';
import { supervisedService } from '../../libs/local/local-cluster/supervised-service.js';
import { openCredentialsDir } from '../../libs/nats/nats-auth/index.js';
import { DEFAULT_SUBJECT_PREFIX, subjectsFor } from '../../libs/protocol/subjects.js';

export interface StartedReplica {
  shard: number;
  name: string;
  pid: number;
}

/** Replica `replica` of every shard, each its own process and snapshot dir, with its shard's credentials. */
export function startReplicas(cluster: LocalCluster, dataDir: string, shards: number, replica: number): StartedReplica[] {
  const credentials = openCredentialsDir(cluster.credentials!.dir, subjectsFor(DEFAULT_SUBJECT_PREFIX));
  return Array.from({ length: shards }, (_, shard) => {
    const name = `shard-${shard}.${replica}`;
    const SNAPSHOT_DIR = path.join(dataDir, 'snapshots', `shard-{shard}.${replica}`);
    const env = {
      NATS_URL: cluster.natsUrl,
      SUBJECT_PREFIX: DEFAULT_SUBJECT_PREFIX,
      SHARD_COUNT: String(shards),
      HTTP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      NATS_CREDS: credentials.credsFile({ role: 'shard', shards: [shard] }),
      SHARD_INDEX: String(shard),
      SNAPSHOT_DIR,
    };
    return { shard, name, pid: cluster.supervisor.start(supervisedService(name, 'shard', env)).pid! };
  });
}

/** Resolves once every pid answers status as ready; throws after timeoutMs. */
export async function waitUntilReady(client: FaceshardClient, pids: readonly number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ready = new Set(
      (await client.status(1000)).shards
        .flatMap((s) => s.replicas)
        .filter((r) => r.ready)
        .map((r) => r.pid),
    );
    if (pids.every((pid) => ready.has(pid))) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`replicas ${pids.join(', ')} were not ready after ${timeoutMs / 1000} s`);
}
