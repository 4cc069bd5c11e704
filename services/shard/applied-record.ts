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

/** How long a read waits for the records. */
const READ_WAIT_MS = 2000;

/**
 * The shard's first `count` records at or after `fromSeq`, in order; undefined when they
 * could not all be read (NATS unreachable, or fewer came back in `waitMs`): nothing is
 * known then. The caller asks for records it applied, which a log that kept them holds,
 * so a short read says nothing: at 1,000,000 faces with 32 queries at once, read-backs
 * came back short (and the consumer reported nothing pending) from logs that held every
 * record, and were taken for logs that had lost them: replicas started over. A log that
 * lost its tail has a smaller last sequence, which the replica's stream-level check sees
 * (replica.ts `logChange`); one that lost records and grew again shows records at the
 * applied sequences that differ, which a whole read sees.
 */
export async function readOwnRecords(
  nc: NatsConnection,
  subjects: Subjects,
  shard: number,
  fromSeq: number,
  count: number,
  waitMs = READ_WAIT_MS,
): Promise<LoggedRecord[] | undefined> {
  try {
    const consumer = await nc.jetstream().consumers.get(subjects.stream, {
      filterSubjects: subjects.data(shard),
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: fromSeq,
      headers_only: true,
    });
    const records: LoggedRecord[] = [];
    const messages = await consumer.fetch({ max_messages: count, expires: waitMs });
    for await (const msg of messages) {
      records.push({ seq: msg.seq, writtenMs: writtenMs(msg) });
      if (records.length >= count) break;
    }
    await consumer.delete().catch(() => undefined); // ephemeral anyway: the server drops it when idle
    return records.length >= count ? records : undefined;
  } catch {
    return undefined;
  }
}
