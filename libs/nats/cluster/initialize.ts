import type { NatsConnection } from 'nats';
import { encodeJobNames } from '../../protocol/index.js';
import type { Subjects } from '../../protocol/index.js';
import { ensureJobStream, type JobQueueLimits, type JobStreamChange } from './job-stream.js';
import { storeShardCount } from './shard-count.js';
import { ensureFaceStream } from './stream.js';
import { ensureThumbnailBucket } from '../thumbnail-store/index.js';

/**
 * Creates what a cluster keeps in JetStream, once, as the admin: the protected FACES log,
 * the config bucket with the shard count, the encode work queue and its done marks, the
 * thumbnail bucket.
 * Services only read these (where authentication is on, they may not create them).
 * Idempotent: a second call checks the shard count and changes nothing else but the encode
 * queue's bound (`jobQueueLimits`, default from ENCODE_QUEUE_MAX_JOBS / _BYTES), which it
 * brings an existing queue to without dropping a job; `jobQueue` says what it changed.
 */
export async function initializeCluster(
  nc: NatsConnection,
  subjects: Subjects,
  options: { shards: number; replicas?: number; jobQueueLimits?: JobQueueLimits },
): Promise<{ jobQueue?: JobStreamChange }> {
  const replicas = options.replicas ?? 1;
  await ensureFaceStream(nc, subjects, replicas);
  await storeShardCount(nc, subjects, options.shards, replicas);
  const jobs = encodeJobNames(subjects);
  const jobQueue = await ensureJobStream(nc, jobs, { replicas, limits: options.jobQueueLimits, adjustExisting: true });
  await nc.jetstream().views.kv(jobs.doneBucket, { history: 1, replicas });
  await ensureThumbnailBucket(nc, subjects, replicas);
  return jobQueue ? { jobQueue } : {};
}
