/** The subject prefix when none is configured (SUBJECT_PREFIX, --prefix): `faces.query`, stream `FACES`. */
export const DEFAULT_SUBJECT_PREFIX = 'faces';

/** Every NATS name faceshard uses, derived from one configurable prefix (default DEFAULT_SUBJECT_PREFIX). */
export interface Subjects {
  prefix: string;
  query: string;
  ingest: string;
  delete: string;
  /** Stored faces by id (id, shard, meta), read from the shards that hold them. */
  get: string;
  /** Stored faces page by page (by id prefix, person), and persons with their face counts (listing.ts). */
  list: string;
  persons: string;
  /** Deletes every face by id prefix or person (delete-where.ts). */
  deleteWhere: string;
  encode: string;
  shardQuery(index: number): string;
  shardQueue(index: number): string;
  /** One leg for several shards that one process serves together (`faces.shards.0-2.query`). */
  shardGroupQuery(shards: readonly number[]): string;
  shardGroupQueue(shards: readonly number[]): string;
  /** One replica's own query subject, no queue group: the coordinator picks the replica (`faces.shard.0.replica.<service id>.query`). */
  shardReplicaQuery(index: number, serviceId: string): string;
  /** One process's own group-leg subject (`faces.shards.0-2.process.<service id>.query`). */
  shardGroupProcessQuery(shards: readonly number[], serviceId: string): string;
  data(index: number): string;
  dataAll: string;
  stream: string;
  configBucket: string;
  /** The Object Store bucket of face thumbnails, one object a face named by its id (`FACES_THUMBNAILS`, stream `OBJ_FACES_THUMBNAILS`). */
  thumbnailBucket: string;
}

export function subjectsFor(prefix = DEFAULT_SUBJECT_PREFIX): Subjects {
  // Stream and bucket names may not contain dots; `faces` -> `FACES`, `a.b` -> `A_B`.
  const streamBase = prefix.toUpperCase().replace(/[^A-Z0-9_-]/g, '_');
  return {
    prefix,
    query: `${prefix}.query`,
    ingest: `${prefix}.ingest`,
    delete: `${prefix}.delete`,
    get: `${prefix}.get`,
    list: `${prefix}.list`,
    persons: `${prefix}.persons`,
    deleteWhere: `${prefix}.delete-where`,
    encode: `${prefix}.encode`,
    shardQuery: (i) => `${prefix}.shard.${i}.query`,
    shardQueue: (i) => `shard-${i}`,
    shardGroupQuery: (shards) => `${prefix}.shards.${shards.join('-')}.query`,
    shardGroupQueue: (shards) => `shards-${shards.join('-')}`,
    shardReplicaQuery: (i, id) => `${prefix}.shard.${i}.replica.${id}.query`,
    shardGroupProcessQuery: (shards, id) => `${prefix}.shards.${shards.join('-')}.process.${id}.query`,
    data: (i) => `${prefix}.data.${i}`,
    dataAll: `${prefix}.data.*`,
    stream: streamBase,
    configBucket: `${streamBase}_CONFIG`,
    thumbnailBucket: `${streamBase}_THUMBNAILS`,
  };
}

export const COORDINATOR_QUEUE = 'coordinator';
export const SHARD_SERVICE = 'faceshard-shard';
/** A shard process serving several shards answers their group legs under this service (metadata `shards`: "0,2"). */
export const SHARD_GROUP_SERVICE = 'faceshard-shard-group';
export const COORDINATOR_SERVICE = 'faceshard-coordinator';
export const ENCODER_SERVICE = 'faceshard-encoder';
export const ENCODER_QUEUE = 'encoder';
