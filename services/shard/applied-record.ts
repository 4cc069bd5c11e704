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

/** How long a read waits for the records: then it returns what it has, if the log has no more. */
const READ_WAIT_MS = 2000;

/**
 * The shard's first `count` records at or after `fromSeq` (fewer when the log has fewer),
 * in order; undefined when the log could not be read (NATS unreachable) or not read whole
 * in `waitMs` (a busy server): nothing is known then. A short read is trusted only when
 * the consumer says no record of the shard is left after the ones delivered: a fetch that
 * expired under load (measured: a 4-shard cluster answering 32 queries at once over
 * 1,000,000 faces) otherwise looked like a log that had lost its records, and a replica
 * started over.
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
    const whole = readWhole(records.length, count, records.length >= count ? 0 : (await consumer.info(false)).num_pending);
    await consumer.delete().catch(() => undefined); // ephemeral anyway: the server drops it when idle
    return whole ? records : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a read-back of `wanted` records that got `received` saw the log as it is: all
 * it asked for, or fewer with nothing of the shard left after them on the server
 * (`pending`, the consumer's count of matching records not delivered). Fewer with
 * records still pending is a read cut short (the fetch expired), not a shorter log.
 */
export function readWhole(received: number, wanted: number, pending: number): boolean {
  return received >= wanted || pending === 0;
}
