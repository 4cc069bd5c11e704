/**
 * A process serving several shards also answers one leg for all of them
 * (`faces.shards.0-2.query`, queue group `shards-0-2`): the coordinator then sends one
 * message to the process instead of one per shard, and the process decodes the query
 * once. Its shards are searched one after another either way (one thread), so nothing
 * waits longer; the messages saved are CPU that every process on the machine shares.
 * Registered as its own service (`faceshard-shard-group`, metadata `shards`), so the
 * coordinator can see which groups exist and use one only where every replica of its
 * shards is in it.
 */
import os from 'node:os';
import type { NatsConnection, ServiceMsg } from 'nats';
import { SERVICE_VERSION } from '../../libs/config/service-version.js';
import type { Logger } from '../../libs/observability/logger.js';
import {
  encodeShardGroupReplyBinary,
  parseDeadline,
  parseLegWait,
  parseQuery,
  ProtocolError,
  REPLY_FORMAT_HEADER,
  SHARD_GROUP_REPLY_BINARY_CONTENT_TYPE,
  SHARD_GROUP_SERVICE,
  type ShardGroupReply,
  type Subjects,
} from '../../libs/protocol/index.js';
import { respondWithin } from '../../libs/nats/reply-inbox/respond.js';
import type { shardProcessMetrics } from './metrics.js';
import type { ShardReplica } from './replica.js';

const BINARY_GROUP_REPLY = { encode: encodeShardGroupReplyBinary, contentType: SHARD_GROUP_REPLY_BINARY_CONTENT_TYPE };

/** Starts the group endpoint once every replica is ready; returns its stop (leave the queue group first on shutdown). */
export async function startGroupEndpoint(
  nc: NatsConnection,
  subjects: Subjects,
  served: readonly ShardReplica[],
  metrics: ReturnType<typeof shardProcessMetrics>,
  log: Logger,
): Promise<() => Promise<void>> {
  const replicas = [...served].sort((a, b) => a.shard - b.shard); // the subject names them in order: "0-2", never "2-0"
  const shards = replicas.map((r) => r.shard);
  const service = await nc.services.add({
    name: SHARD_GROUP_SERVICE,
    version: SERVICE_VERSION,
    description: `faceshard shards ${shards.join(', ')} in one process`,
    metadata: { shards: shards.join(','), pid: String(process.pid), host: os.hostname() },
  });
  const handler = (_err: unknown, msg: ServiceMsg) => {
    const binary = msg.headers?.get(REPLY_FORMAT_HEADER) === 'binary' ? BINARY_GROUP_REPLY : undefined;
    void respondWithin(
      nc,
      msg,
      log,
      async (): Promise<ShardGroupReply> => {
        // Each replica drops its part unsearched once the deadline passed (counted per shard).
        const query = { ...parseQuery(msg.data, msg.headers), deadline: parseDeadline(msg.headers) };
        const wait = parseLegWait(msg.headers);
        if (wait?.appliedSeq !== undefined) {
          throw new ProtocolError(
            'bad_request',
            `a group leg takes stream-seq, not applied-seq (an applied sequence belongs to one shard's log); ask faces.shard.<i>.query`,
          );
        }
        const replies = await Promise.all(replicas.map((r) => r.answer(query, wait)));
        metrics.groupLegs.inc();
        return { replies };
      },
      binary,
    );
  };
  service.addEndpoint('query', { subject: subjects.shardGroupQuery(shards), queue: subjects.shardGroupQueue(shards), handler });
  // This process alone, no queue group: the coordinator picks the process (least outstanding legs, retries elsewhere).
  service.addEndpoint('direct', { subject: subjects.shardGroupProcessQuery(shards, service.info().id), handler });
  log.info('group leg ready', { subject: subjects.shardGroupQuery(shards), queue: subjects.shardGroupQueue(shards) });
  return () => service.stop().then(() => undefined);
}
