#!/usr/bin/env node
import { readShardCount } from '../../libs/nats/cluster/shard-count.js';
import { subjectsFor } from '../../libs/protocol/index.js';
import { runMain } from '../../libs/service/lifecycle.js';
import { ServiceRuntime } from '../../libs/service/runtime.js';
import { loadShardConfig } from './config.js';
import { startGroupEndpoint } from './group-endpoint.js';
import { searchQueueMetrics, shardMetrics, shardProcessMetrics } from './metrics.js';
import { ShardReplica } from './replica.js';
import { SearchQueue } from './search-queue.js';

/** A shard process: one replica of each shard in SHARD_INDEX, sharing one NATS connection, one /metrics and one /readyz. */
runMain('shard', async () => {
  const config = loadShardConfig();
  const shards = config.SHARD_INDEX;
  const subjects = subjectsFor(config.SUBJECT_PREFIX);
  const replicas: ShardReplica[] = [];
  const runtime = await ServiceRuntime.start(
    'shard',
    config,
    {
      healthy: () => true,
      ready: () => replicas.length === shards.length && replicas.every((r) => r.ready),
      details: () => ({ shards: replicas.map((r) => r.progress()) }),
    },
    { shards: shards.join(',') },
  );
  const { log, registry, ops } = runtime;

  // Shutdown steps see whatever has started by the time the signal comes.
  let drainNats: (() => Promise<void>) | undefined;
  let stopGroup: (() => Promise<void>) | undefined;
  const everyReplica = (step: (r: ShardReplica) => Promise<void>) => async () => void (await Promise.all(replicas.map(step)));
  runtime.drainOnTerminate([
    async () => stopGroup?.(),
    everyReplica((r) => r.stopQueries()),
    everyReplica((r) => r.stopApplying()),
    everyReplica((r) => r.finalSnapshot()),
    async () => drainNats?.(),
    () => ops.close(),
  ]);

  const nc = await runtime.connect(`faceshard-shard-${shards.join('+')}`);
  drainNats = () => nc.drain();
  // The admin initialized the cluster (stream, shard count); a shard only reads it.
  const shardCount = await readShardCount(nc, subjects, config.SHARD_COUNT);
  const outside = shards.filter((shard) => shard >= shardCount);
  if (outside.length > 0) throw new Error(`SHARD_INDEX names shard ${outside.join(', ')} but the cluster has ${shardCount} shards (0..${shardCount - 1})`);
  const streamInfo = await (await nc.jetstreamManager()).streams.info(subjects.stream);
  // One queue for the process: its replicas and its group leg search on one thread.
  const queue = new SearchQueue({
    maxLegs: config.SHARD_QUEUE_MAX_LEGS,
    maxVectors: config.SHARD_QUEUE_MAX_VECTORS,
    sliceMs: config.SEARCH_SLICE_MS,
    observer: searchQueueMetrics(registry),
  });
  const context = { config, nc, subjects, stream: { stream: subjects.stream, created: streamInfo.created }, httpPort: ops.port, queue };
  for (const shard of shards) replicas.push(new ShardReplica(context, shard, shardMetrics(registry, shard), log.child({ shard })));
  // All at once: each is in discovery (its status endpoint) while it replays.
  await Promise.all(replicas.map((replica) => replica.start()));
  // Not once shutdown began (a replica stopped taking queries).
  if (replicas.length > 1 && replicas.every((r) => r.ready)) stopGroup = await startGroupEndpoint(nc, subjects, replicas, shardProcessMetrics(registry), log);
});
