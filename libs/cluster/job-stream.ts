import { nanos, RetentionPolicy, StorageType, type NatsConnection } from 'nats';
import type { EncodeJobNames } from '../protocol/encode-jobs.js';

/** The work-queue stream of encode jobs: each message is deleted once a worker acks it. */
export async function ensureJobStream(nc: NatsConnection, names: EncodeJobNames, replicas = 1): Promise<void> {
  const jsm = await nc.jetstreamManager();
  try {
    await jsm.streams.info(names.stream);
    return;
  } catch (err) {
    if (!String((err as Error).message).includes('not found')) throw err;
  }
  try {
    await jsm.streams.add({
      name: names.stream,
      subjects: [names.subject],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      num_replicas: replicas,
      duplicate_window: nanos(2 * 60_000), // a retried publish (same Nats-Msg-Id) is stored once
    });
  } catch (addErr) {
    // Another process raced us to create it: fine if it exists now.
    await jsm.streams.info(names.stream).catch(() => {
      throw addErr;
    });
  }
}
