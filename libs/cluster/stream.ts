import { RetentionPolicy, StorageType, type NatsConnection } from 'nats';
import type { Subjects } from '../protocol/subjects.js';

/** The durable log: one file-backed stream over every shard's data subject. */
export async function ensureFaceStream(nc: NatsConnection, subjects: Subjects, replicas = 1): Promise<void> {
  const jsm = await nc.jetstreamManager();
  const config = {
    name: subjects.stream,
    subjects: [subjects.dataAll],
    storage: StorageType.File,
    num_replicas: replicas,
    retention: RetentionPolicy.Limits,
    duplicate_window: 2 * 60 * 1_000_000_000, // ns: window for Nats-Msg-Id dedupe of retried batches
  };
  try {
    await jsm.streams.info(subjects.stream);
  } catch (err) {
    if (!String((err as Error).message).includes('not found')) throw err;
    try {
      await jsm.streams.add(config);
    } catch (addErr) {
      // Two processes raced to create it: fine if it exists now.
      await jsm.streams.info(subjects.stream).catch(() => {
        throw addErr;
      });
    }
  }
}

/** Last stream sequence written for one shard's subject, 0 when it has none yet. */
export async function lastSequenceFor(nc: NatsConnection, subjects: Subjects, shard: number): Promise<number> {
  const jsm = await nc.jetstreamManager();
  try {
    const msg = await jsm.streams.getMessage(subjects.stream, { last_by_subj: subjects.data(shard) });
    return msg.seq;
  } catch (err) {
    if (String((err as Error).message).includes('no message found')) return 0;
    throw err;
  }
}
