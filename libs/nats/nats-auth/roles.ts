/**
 * Who may do what on a faceshard cluster, as NATS publish/subscribe allow-lists. Anything
 * not listed is denied. Each identity has its own inbox prefix (`_INBOX_<name>`), so no
 * client can subscribe to another's replies; whoever answers requests gets
 * allow_responses (one reply per request received) instead of publish rights to inboxes.
 *
 * Only `admin` may create, update, purge or delete streams and buckets: the JetStream
 * API subjects below are the read-side ones each role needs, nothing more.
 */
import type { UserPermissions } from './jwt.js';
import { encodeJobNames } from '../../protocol/index.js';
import {
  COORDINATOR_QUEUE,
  COORDINATOR_SERVICE,
  ENCODER_QUEUE,
  ENCODER_SERVICE,
  SHARD_GROUP_SERVICE,
  SHARD_SERVICE,
  type Subjects,
} from '../../protocol/index.js';

export const ROLES = ['admin', 'writer', 'reader', 'coordinator', 'encoder', 'gateway', 'shard'] as const;
export type Role = (typeof ROLES)[number];

/** One identity: a role, and for shards the set of shards one process serves. */
export type Identity = { role: Exclude<Role, 'shard'> } | { role: 'shard'; shards: readonly number[] };

/** `reader`, `shard-2`, `shard-0-2`: the identity's name, its creds file's stem and the JWT's name. */
export function identityName(identity: Identity): string {
  return identity.role === 'shard' ? `shard-${identity.shards.join('-')}` : identity.role;
}

/** The inbox prefix an identity's connections must use (its replies arrive under it). */
export function inboxPrefixFor(identity: Identity): string {
  return `_INBOX_${identityName(identity)}`;
}

const JS = '$JS.API';
const ONE_REPLY = { max: 1, ttl: 0 };

/** What a client needs to read a KV bucket (bind, get). */
function kvRead(bucket: string): string[] {
  const stream = `KV_${bucket}`;
  return [`${JS}.STREAM.INFO.${stream}`, `${JS}.DIRECT.GET.${stream}.>`, `${JS}.STREAM.MSG.GET.${stream}`];
}

/** kvRead plus put and watch (an ordered push consumer with flow control). */
function kvReadWrite(bucket: string): string[] {
  const stream = `KV_${bucket}`;
  return [
    ...kvRead(bucket),
    `$KV.${bucket}.>`,
    `${JS}.CONSUMER.CREATE.${stream}.>`,
    `${JS}.CONSUMER.CREATE.${stream}`,
    `${JS}.CONSUMER.INFO.${stream}.*`,
    `${JS}.CONSUMER.DELETE.${stream}.*`,
    `$JS.FC.${stream}.>`,
  ];
}

/**
 * What a client needs on an Object Store bucket (nats.js views.os): `read` binds, reads an
 * object's info (its last meta message) and its one chunk (ThumbnailStore.get reads it by a
 * message get, not nats.js's consumer per read); `delete` also publishes meta (a delete marker) and purges the
 * object's chunks; `write` also publishes chunks (a put that replaces an object purges the old ones).
 * NATS cannot narrow a purge to a filter, so whoever may write may also empty the bucket
 * (writers may delete every face anyway).
 */
function objectStore(bucket: string, access: 'read' | 'delete' | 'write'): string[] {
  const stream = `OBJ_${bucket}`;
  const read = [`${JS}.INFO`, `${JS}.STREAM.INFO.${stream}`, `${JS}.STREAM.MSG.GET.${stream}`];
  if (access === 'read') return read;
  const del = [...read, `$O.${bucket}.M.>`, `${JS}.STREAM.PURGE.${stream}`];
  return access === 'delete' ? del : [...del, `$O.${bucket}.C.>`];
}

/** The subscriptions a NATS service (nats.js `services.add`) makes for discovery. */
function serviceDiscovery(service: string): string[] {
  return ['$SRV.*', `$SRV.*.${service}`, `$SRV.*.${service}.*`];
}

function reader(subjects: Subjects): UserPermissions {
  return {
    pub: { allow: [subjects.query, subjects.get, subjects.list, subjects.persons, '$SRV.>', ...objectStore(subjects.thumbnailBucket, 'read')] },
    sub: { allow: [] },
  };
}

function writer(subjects: Subjects): UserPermissions {
  const jobs = encodeJobNames(subjects);
  return {
    pub: {
      allow: [
        ...reader(subjects).pub.allow!,
        ...objectStore(subjects.thumbnailBucket, 'write'),
        subjects.ingest,
        subjects.delete,
        subjects.deleteWhere,
        subjects.encode,
        jobs.subject,
        `${JS}.INFO`,
        `${JS}.STREAM.INFO.${jobs.stream}`,
        ...kvReadWrite(jobs.doneBucket),
      ],
    },
    sub: { allow: [] },
  };
}

function coordinator(subjects: Subjects): UserPermissions {
  const p = subjects.prefix;
  return {
    pub: {
      allow: [
        `${p}.data.*`,
        `${p}.shard.*.query`,
        `${p}.shards.*.query`,
        `${p}.shard.*.replica.*.query`,
        `${p}.shards.*.process.*.query`,
        '$SRV.>',
        `${JS}.INFO`,
        `${JS}.STREAM.INFO.${subjects.stream}`,
        ...kvRead(subjects.configBucket),
        // Deleting a face deletes its thumbnail.
        ...objectStore(subjects.thumbnailBucket, 'delete'),
      ],
    },
    sub: {
      allow: [
        `${subjects.query} ${COORDINATOR_QUEUE}`,
        `${subjects.ingest} ${COORDINATOR_QUEUE}`,
        `${subjects.delete} ${COORDINATOR_QUEUE}`,
        `${subjects.get} ${COORDINATOR_QUEUE}`,
        `${subjects.list} ${COORDINATOR_QUEUE}`,
        `${subjects.persons} ${COORDINATOR_QUEUE}`,
        `${subjects.deleteWhere} ${COORDINATOR_QUEUE}`,
        ...serviceDiscovery(COORDINATOR_SERVICE),
      ],
    },
    resp: ONE_REPLY,
  };
}

function shard(subjects: Subjects, shards: readonly number[]): UserPermissions {
  const stream = subjects.stream;
  const pub = [`${JS}.INFO`, `${JS}.STREAM.INFO.${stream}`, ...kvRead(subjects.configBucket)];
  const sub = [...serviceDiscovery(SHARD_SERVICE)];
  for (const i of shards) {
    // Its own log only: the consumer-create subject names the filter subject (server 2.9+).
    pub.push(`${JS}.DIRECT.GET.${stream}.${subjects.data(i)}`, `${JS}.CONSUMER.CREATE.${stream}.*.${subjects.data(i)}`);
    // Its direct subject (the coordinator picks the replica) is named by its service id, a random token.
    sub.push(`${subjects.shardQuery(i)} ${subjects.shardQueue(i)}`, subjects.shardReplicaQuery(i, '*'), `${subjects.prefix}.shard.${i}.status`);
  }
  // Consumer names are random tokens: these cannot be narrowed to its own consumers.
  pub.push(`${JS}.CONSUMER.MSG.NEXT.${stream}.*`, `${JS}.CONSUMER.INFO.${stream}.*`, `${JS}.CONSUMER.DELETE.${stream}.*`);
  if (shards.length > 1)
    sub.push(
      `${subjects.shardGroupQuery(shards)} ${subjects.shardGroupQueue(shards)}`,
      subjects.shardGroupProcessQuery(shards, '*'),
      ...serviceDiscovery(SHARD_GROUP_SERVICE),
    );
  // One process runs a service per shard (and one for the group): a discovery ping to
  // all services gets one reply from each, all to the same request.
  const services = shards.length > 1 ? shards.length + 1 : 1;
  return { pub: { allow: pub }, sub: { allow: sub }, resp: { ...ONE_REPLY, max: services } };
}

function encoder(subjects: Subjects): UserPermissions {
  const jobs = encodeJobNames(subjects);
  const consumer = `${jobs.stream}.${jobs.consumer}`;
  return {
    pub: {
      allow: [
        subjects.ingest,
        `${JS}.INFO`,
        `${JS}.STREAM.INFO.${jobs.stream}`,
        `${JS}.CONSUMER.INFO.${consumer}`,
        `${JS}.CONSUMER.CREATE.${consumer}`,
        `${JS}.CONSUMER.CREATE.${consumer}.>`,
        `${JS}.CONSUMER.DURABLE.CREATE.${consumer}`,
        `${JS}.CONSUMER.MSG.NEXT.${consumer}`,
        `$JS.ACK.${consumer}.>`,
        ...kvReadWrite(jobs.doneBucket),
        ...objectStore(subjects.thumbnailBucket, 'write'),
      ],
    },
    sub: { allow: [`${subjects.encode} ${ENCODER_QUEUE}`, ...serviceDiscovery(ENCODER_SERVICE)] },
    resp: ONE_REPLY,
  };
}

/**
 * The HTTP gateway (services/gateway): a client of the cluster for its API keys' holders.
 * It asks the coordinators (search, get, list, persons, ingest, delete, delete-where) and
 * the encoders (photos for search, verify and enroll), reads service discovery for
 * /v1/status and writes and reads the thumbnails bucket; it serves nothing over NATS, and no
 * other JetStream API: streams, logs and the encode job queue are not its business.
 */
function gateway(subjects: Subjects): UserPermissions {
  return {
    pub: {
      allow: [
        subjects.query,
        subjects.get,
        subjects.list,
        subjects.persons,
        subjects.ingest,
        subjects.delete,
        subjects.deleteWhere,
        subjects.encode,
        // PING, INFO and STATS of the services /v1/status reports (libs/nats/client/status.ts).
        ...[SHARD_SERVICE, COORDINATOR_SERVICE, ENCODER_SERVICE].map((service) => `$SRV.*.${service}`),
        // Enroll stores the faces' thumbnails; GET /v1/faces/{id}/thumbnail reads them.
        ...objectStore(subjects.thumbnailBucket, 'write'),
      ],
    },
    sub: { allow: [] },
  };
}

/** Admin manages streams and buckets; it serves nothing, so it subscribes to its inbox only. */
function admin(): UserPermissions {
  return { pub: { allow: ['>'] }, sub: { allow: [] } };
}

/** The permissions of one identity on the cluster named by `subjects`; its own inbox is always readable. */
export function permissionsFor(identity: Identity, subjects: Subjects): UserPermissions {
  const base = identity.role === 'shard' ? shard(subjects, identity.shards) : { admin, reader, writer, coordinator, encoder, gateway }[identity.role](subjects);
  return { ...base, sub: { allow: [...base.sub.allow!, `${inboxPrefixFor(identity)}.>`] } };
}
