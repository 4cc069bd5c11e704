/**
 * Reads back records of a shard's own log, to tell whether they are still the ones a
 * replica applied (applied-window.ts). Through a short-lived consumer filtered to the
 * shard's own subject, headers only: a shard identity may read its own log only
 * (libs/nats/nats-auth/roles.ts), and a get by sequence could read any shard's.
 */
import { DeliverPolicy, type NatsConnection } from 'nats';
import type { Subjects } from '../../libs/protocol/index.js';
import type { LoggedRecord } from './applied-window.js';
import { writtenMs } from './log-replayer.js';

/** How long a read waits for records that are not there (a log that lost them): then it returns what it has. */
const READ_WAIT_MS = 2000;

/**
 * The shard's first `count` records at or after `fromSeq` (fewer when the log has fewer),
 * in order; undefined when the log could not be read (NATS unreachable): nothing is known.
 */
export async function readOwnRecords(
  nc: NatsConnection,
  subjects: Subjects,
  shard: number,
  fromSeq: number,
  count: number,
): Promise<LoggedRecord[] | undefined> {
  try {
    const consumer = await nc.jetstream().consumers.get(subjects.stream, {
      filterSubjects: subjects.data(shard),
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: fromSeq,
      headers_only: true,
    });
    const records: LoggedRecord[] = [];
    const messages = await consumer.fetch({ max_messages: count, expires: READ_WAIT_MS });
    for await (const msg of messages) {
      records.push({ seq: msg.seq, writtenMs: writtenMs(msg) });
      if (records.length >= count) break;
    }
    await consumer.delete().catch(() => undefined); // ephemeral anyway: the server drops it when idle
    return records;
  } catch {
    return undefined;
  }
}
