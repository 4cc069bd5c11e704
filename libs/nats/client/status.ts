import { RequestStrategy, type NatsConnection } from 'nats';
import { z } from 'zod';
import { noRespondersIsEmpty } from '../cluster/discovery.js';
import { COORDINATOR_SERVICE, ENCODER_SERVICE, SHARD_SERVICE } from '../../protocol/index.js';

const ReplicaStatus = z.object({
  shard: z.number().int(),
  pid: z.number().int(),
  host: z.string(),
  count: z.number().int(),
  ready: z.boolean(),
  appliedSeq: z.number().int(),
  /** Faces in the approximate index's lists; the others are scanned by every approximate query (e.g. just after a bulk load). */
  listedRows: z.number().int().optional(),
  /** Whether searches run through the int8 pre-filter (learned, every row coded); without it every exact query scans every row. */
  prefilter: z.boolean().optional(),
  /** Index maintenance (approximate-index training, merges): deferred by bulk writes, running, or idle. */
  maintenance: z.enum(['deferred', 'running', 'idle']).optional(),
  /** Log sequence the replica's last snapshot covers (absent when it keeps none). */
  snapshotSeq: z.number().int().optional(),
  httpPort: z.number().int().optional(),
});

export interface ClusterStatus {
  shards: Array<{
    index: number;
    replicas: Array<{
      id: string;
      pid: number;
      host: string;
      count: number;
      ready: boolean;
      appliedSeq: number;
      listedRows?: number;
      prefilter?: boolean;
      maintenance?: 'deferred' | 'running' | 'idle';
      snapshotSeq?: number;
      httpPort?: number;
    }>;
  }>;
  coordinators: Array<{ id: string; pid: number; host: string; shards: number; httpPort?: number }>;
  encoders: Array<{ id: string; pid: number; host: string; backend: string; httpPort?: number }>;
  nats: { server: string; version: string; maxPayload: number; jetstream: boolean };
}

/** The cluster as NATS service discovery sees it ($SRV.STATS / $SRV.INFO), gathered for `timeoutMs`. */
export async function clusterStatus(nc: NatsConnection, timeoutMs = 500): Promise<ClusterStatus> {
  const svc = nc.services.client({ strategy: RequestStrategy.Timer, maxWait: timeoutMs });
  const byShard = new Map<number, ClusterStatus['shards'][number]>();
  for await (const stats of await noRespondersIsEmpty(() => svc.stats(SHARD_SERVICE))) {
    const data = ReplicaStatus.safeParse(stats.endpoints?.find((e) => e.name === 'status')?.data);
    if (!data.success) continue;
    const s = data.data;
    let entry = byShard.get(s.shard);
    if (!entry) byShard.set(s.shard, (entry = { index: s.shard, replicas: [] }));
    entry.replicas.push({
      id: stats.id,
      pid: s.pid,
      host: s.host,
      count: s.count,
      ready: s.ready,
      appliedSeq: s.appliedSeq,
      listedRows: s.listedRows,
      prefilter: s.prefilter,
      maintenance: s.maintenance,
      snapshotSeq: s.snapshotSeq,
      httpPort: s.httpPort,
    });
  }
  const coordinators: ClusterStatus['coordinators'] = [];
  for await (const info of await noRespondersIsEmpty(() => svc.info(COORDINATOR_SERVICE))) {
    const m = info.metadata ?? {};
    coordinators.push({ id: info.id, pid: Number(m.pid), host: m.host ?? '', shards: Number(m.shards), httpPort: m.httpPort ? Number(m.httpPort) : undefined });
  }
  const encoders: ClusterStatus['encoders'] = [];
  for await (const info of await noRespondersIsEmpty(() => svc.info(ENCODER_SERVICE))) {
    const m = info.metadata ?? {};
    encoders.push({ id: info.id, pid: Number(m.pid), host: m.host ?? '', backend: m.backend ?? '', httpPort: m.httpPort ? Number(m.httpPort) : undefined });
  }
  const shards = [...byShard.values()].sort((a, b) => a.index - b.index);
  for (const s of shards) s.replicas.sort((a, b) => a.pid - b.pid);
  return {
    shards,
    coordinators,
    encoders,
    nats: { server: nc.getServer(), version: nc.info?.version ?? '', maxPayload: nc.info?.max_payload ?? 0, jetstream: Boolean(nc.info?.jetstream) },
  };
}
