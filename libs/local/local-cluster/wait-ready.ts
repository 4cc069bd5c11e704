import type { NatsConnection } from 'nats';
import { clusterStatus, type ClusterStatus } from '../../nats/client/index.js';

/** True when a coordinator runs and every shard 0..N-1 has `replicas` ready replicas. */
export function isClusterReady(status: ClusterStatus, shards: number, replicas: number): boolean {
  if (status.coordinators.length === 0) return false;
  for (let i = 0; i < shards; i++) {
    const shard = status.shards.find((s) => s.index === i);
    if (!shard || shard.replicas.filter((r) => r.ready).length < replicas) return false;
  }
  return true;
}

export async function waitForCluster(nc: NatsConnection, shards: number, replicas: number, timeoutMs: number): Promise<ClusterStatus> {
  const deadline = Date.now() + timeoutMs;
  let status: ClusterStatus | undefined;
  while (Date.now() < deadline) {
    status = await clusterStatus(nc, 300);
    if (isClusterReady(status, shards, replicas)) return status;
    await new Promise((r) => setTimeout(r, 200));
  }
  const seen = status ? status.shards.map((s) => `shard ${s.index}: ${s.replicas.filter((r) => r.ready).length}/${replicas} ready`).join(', ') : 'nothing';
  throw new Error(`cluster not ready after ${timeoutMs} ms (${status?.coordinators.length ?? 0} coordinators; ${seen || 'no shards'})`);
}

/** Waits until `count` encoders answer service discovery (each loads TensorFlow first: seconds); their backends. */
export async function waitForEncoders(nc: NatsConnection, count: number, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await clusterStatus(nc, 300);
    if (status.encoders.length >= count) return status.encoders.map((e) => e.backend);
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${count} encoder(s) not ready after ${timeoutMs} ms`);
}
