import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export function coordinatorMetrics(registry: Registry) {
  return {
    querySeconds: new Histogram({
      name: 'faceshard_query_seconds',
      help: 'Time to answer one faces.query request (scatter, gather, merge)',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    queries: new Counter({ name: 'faceshard_queries_total', help: 'Query vectors answered', registers: [registry] }),
    queryErrors: new Counter({ name: 'faceshard_query_errors_total', help: 'faces.query requests answered with an error', registers: [registry] }),
    partialQueries: new Counter({ name: 'faceshard_partial_queries_total', help: 'Queries answered without every shard', registers: [registry] }),
    legFailures: new Counter({
      name: 'faceshard_shard_leg_failures_total',
      help: 'Scatter legs that failed after their retry',
      labelNames: ['shard'],
      registers: [registry],
    }),
    legShardMismatches: new Counter({
      name: 'faceshard_coordinator_leg_shard_mismatch_total',
      help: 'Leg replies dropped because they came from another shard than the one the leg asked (a forged or misrouted answer); the leg is retried, then missing',
      registers: [registry],
    }),
    groupLegFailures: new Counter({
      name: 'faceshard_group_leg_failures_total',
      help: 'Group legs (one for several shards of a process) that failed and were retried shard by shard',
      registers: [registry],
    }),
    busyRefusals: new Counter({
      name: 'faceshard_coordinator_busy_total',
      help: 'Queries answered busy (503): the coordinator queue was full, or every replica tried for a leg was busy',
      registers: [registry],
    }),
    hedgedLegs: new Counter({
      name: 'faceshard_coordinator_hedged_legs_total',
      help: 'Legs also sent to a second replica because the first was late (hedged requests)',
      registers: [registry],
    }),
    ejections: new Counter({
      name: 'faceshard_coordinator_replica_ejections_total',
      help: 'Replicas left out of routing for a while after a failed, timed-out or busy leg',
      labelNames: ['target'],
      registers: [registry],
    }),
    replicaLegs: new Counter({
      name: 'faceshard_coordinator_replica_legs_total',
      help: 'Leg attempts sent to each replica (direct subject; target: shard or group of shards, replica: its service id)',
      labelNames: ['target', 'replica'],
      registers: [registry],
    }),
    facesIngested: new Counter({ name: 'faceshard_faces_ingested_total', help: 'Faces acknowledged by JetStream as stored', registers: [registry] }),
    duplicateFaces: new Counter({
      name: 'faceshard_faces_duplicate_total',
      help: 'Faces JetStream acknowledged as duplicates (their record id already in its dedupe window), not stored again',
      registers: [registry],
    }),
    facesRejected: new Counter({ name: 'faceshard_faces_rejected_total', help: 'Faces refused at ingest (invalid)', registers: [registry] }),
    tombstones: new Counter({ name: 'faceshard_tombstones_total', help: 'Delete tombstones written', registers: [registry] }),
    thumbnailsDeleted: new Counter({
      name: 'faceshard_coordinator_thumbnails_deleted_total',
      help: 'Thumbnails deleted with their faces',
      registers: [registry],
    }),
    thumbnailDeleteFailures: new Counter({
      name: 'faceshard_coordinator_thumbnail_delete_failures_total',
      help: 'Thumbnails of deleted faces that could not be deleted (the faces were deleted; see the log)',
      registers: [registry],
    }),
    shardFaces: new Gauge({
      name: 'faceshard_faces_per_shard',
      help: 'Faces per shard, as last reported by a replica',
      labelNames: ['shard'],
      registers: [registry],
    }),
  };
}
export type CoordinatorMetrics = ReturnType<typeof coordinatorMetrics>;
