import { DiscardPolicy, nanos, RetentionPolicy, StorageType, type NatsConnection, type StreamInfo } from 'nats';
import { z } from 'zod';
import { parseEnv } from '../../config/env.js';
import type { EncodeJobNames } from '../../protocol/index.js';

/**
 * The encode work queue's bound. Past it JetStream refuses a publish at once (discard new),
 * so a publisher learns the queue is full instead of the stream growing until the server's
 * store is full (which would stop the FACES log too). The defaults hold a realistic backlog:
 * one `faceshard encode --queue` run keeps at most 1,000 jobs out, and 1,000 Kaggle photos
 * (~400 KB each) are ~400 MB; ten such runs' job counts, or about one run's bytes.
 */
export const JobQueueEnv = z.object({
  /** Jobs (images) the encode queue holds at most. */
  ENCODE_QUEUE_MAX_JOBS: z.coerce.number().int().min(1).max(100_000_000).default(10_000),
  /** Bytes (image bytes and headers) the encode queue holds at most. */
  ENCODE_QUEUE_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(2 ** 50)
    .default(512 * 1024 * 1024),
});

export interface JobQueueLimits {
  maxJobs: number;
  maxBytes: number;
}

export function loadJobQueueLimits(env: NodeJS.ProcessEnv = process.env): JobQueueLimits {
  const config = parseEnv('encode queue', JobQueueEnv, env);
  return { maxJobs: config.ENCODE_QUEUE_MAX_JOBS, maxBytes: config.ENCODE_QUEUE_MAX_BYTES };
}

export interface JobStreamOptions {
  /** JetStream replicas of a stream created here. Default 1. */
  replicas?: number;
  /** Default: from ENCODE_QUEUE_MAX_JOBS / ENCODE_QUEUE_MAX_BYTES. */
  limits?: JobQueueLimits;
  /**
   * Bring an existing stream to `limits` (the admin's step: `faceshard admin init`, `up`).
   * Services and publishers leave an existing stream as it is (they may not change it).
   */
  adjustExisting?: boolean;
}

/** What `ensureJobStream` did to an existing stream's bound, for the admin to read. */
export interface JobStreamChange {
  before: { maxJobs: number; maxBytes: number; discardNew: boolean };
  /** Undefined when the stream was left as it was (see `notAdjusted`). */
  after: JobQueueLimits | undefined;
  /** Why the stream was left as it was: it held more than the bound. */
  notAdjusted?: string;
}

/**
 * The work-queue stream of encode jobs: each message is deleted once a worker acks it.
 * Resolves to the change made to an existing stream's bound (with `adjustExisting`), if any.
 */
export async function ensureJobStream(nc: NatsConnection, names: EncodeJobNames, options: JobStreamOptions = {}): Promise<JobStreamChange | undefined> {
  const limits = options.limits ?? loadJobQueueLimits();
  const jsm = await nc.jetstreamManager();
  const existing = await jsm.streams.info(names.stream).catch((err: Error) => {
    if (!String(err.message).includes('not found')) throw err;
    return undefined;
  });
  if (existing) return options.adjustExisting ? adjustLimits(nc, names, existing, limits) : undefined;
  try {
    await jsm.streams.add({
      name: names.stream,
      subjects: [names.subject],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      num_replicas: options.replicas ?? 1,
      duplicate_window: nanos(2 * 60_000), // a retried publish (same Nats-Msg-Id) is stored once
      max_msgs: limits.maxJobs,
      max_bytes: limits.maxBytes,
      discard: DiscardPolicy.New,
    });
  } catch (addErr) {
    // Another process raced us to create it: fine if it exists now.
    await jsm.streams.info(names.stream).catch(() => {
      throw addErr;
    });
  }
  return undefined;
}

/**
 * A stream that holds more than the bound is left as it is: JetStream enforces a lowered
 * bound by deleting the oldest messages, discard policy or not (measured on nats-server
 * 2.9.10: max_msgs 5 -> 3 on a stream of 5 jobs dropped two of them).
 */
export function exceedsBound(limits: JobQueueLimits, state: { messages: number; bytes: number }): string | undefined {
  if (state.messages <= limits.maxJobs && state.bytes <= limits.maxBytes) return undefined;
  return (
    `the encode queue holds ${state.messages} job(s), ${state.bytes} bytes, more than the bound of ${limits.maxJobs} jobs, ${limits.maxBytes} bytes: ` +
    'left unchanged, since lowering it would drop jobs; run the admin step again once encoders have drained it'
  );
}

async function adjustLimits(nc: NatsConnection, names: EncodeJobNames, info: StreamInfo, limits: JobQueueLimits): Promise<JobStreamChange | undefined> {
  const { config } = info;
  if (config.max_msgs === limits.maxJobs && config.max_bytes === limits.maxBytes && config.discard === DiscardPolicy.New) return undefined;
  const before = { maxJobs: config.max_msgs, maxBytes: config.max_bytes, discardNew: config.discard === DiscardPolicy.New };
  const notAdjusted = exceedsBound(limits, info.state);
  if (notAdjusted) return { before, after: undefined, notAdjusted };
  const jsm = await nc.jetstreamManager();
  await jsm.streams.update(names.stream, { ...config, max_msgs: limits.maxJobs, max_bytes: limits.maxBytes, discard: DiscardPolicy.New });
  return { before, after: limits };
}

/** One line for the admin: what became of the encode queue's bound. */
export function describeJobStreamChange(names: EncodeJobNames, change: JobStreamChange): string {
  const bound = (limits: { maxJobs: number; maxBytes: number }) =>
    limits.maxJobs < 0 && limits.maxBytes < 0 ? 'no bound' : `${limits.maxJobs} jobs, ${limits.maxBytes} bytes`;
  if (!change.after) return `encode queue ${names.stream}: ${change.notAdjusted}`;
  return `encode queue ${names.stream}: bound changed from ${bound(change.before)}${change.before.discardNew ? '' : ' (discard old)'} to ${bound(change.after)} (discard new: a publish past it is refused as busy)`;
}
