/**
 * Reads back the record of a shard's own log at one sequence, to tell whether it is still
 * the one a replica applied. Through a short-lived consumer filtered to the shard's own
 * subject: a shard identity may read its own log only (libs/nats-auth/roles.ts), and a
 * get by sequence could read any shard's.
 */
import { DeliverPolicy, type NatsConnection } from 'nats';
import type { Subjects } from '../../libs/protocol/index.js';
import { writtenMs } from './log-replayer.js';

/** The shard's first record at or after the sequence asked: where it is and when it was written (ms); `none` when the log has none. */
export type RecordAt = { seq: number; writtenMs: number } | 'none';

const READ_WAIT_MS = 2000;

/** undefined when the log could not be read (NATS unreachable): nothing is known. */
export async function readOwnRecordAt(nc: NatsConnection, subjects: Subjects, shard: number, seq: number): Promise<RecordAt | undefined> {
  try {
    const consumer = await nc.jetstream().consumers.get(subjects.stream, { filterSubjects: subjects.data(shard), deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: seq });
    const msg = await consumer.next({ expires: READ_WAIT_MS });
    await consumer.delete().catch(() => undefined); // ephemeral anyway: the server drops it when idle
    return msg ? { seq: msg.seq, writtenMs: writtenMs(msg) } : 'none';
  } catch {
    return undefined;
  }
}
