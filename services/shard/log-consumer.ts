import { ConsumerEvents, DeliverPolicy, type ConsumerMessages, type JsMsg, type NatsConnection } from 'nats';
import { lastSequenceFor } from '../../libs/nats/cluster/stream.js';
import type { Logger } from '../../libs/observability/logger.js';
import type { Subjects } from '../../libs/protocol/index.js';
import type { ShardMetrics } from './metrics.js';

/** Bytes one pull may bring in at first. nats-server cuts a client whose unread data passes max_pending (64 MB by default). */
const INITIAL_PULL_BYTES = 8 * 1024 * 1024;
/** How often the stall watchdog looks; two looks without progress reopen the consumer. */
const STALL_CHECK_MS = 5000;
/** After a reconnect, how long the consumer has to deliver before it is reopened. */
const AFTER_RECONNECT_MS = 2000;

export interface ShardLogConsumerOptions {
  nc: NatsConnection;
  subjects: Subjects;
  shard: number;
  log: Logger;
  metrics: ShardMetrics;
  /** The last sequence applied: a (re)opened consumer starts after it. */
  appliedSeq(): number;
  /** Applies one record; called in stream order. */
  onMessage(msg: JsMsg): void;
  /** Told when the consumer fails, cannot be reopened, or stalls: the log may have been purged or recreated. */
  onTrouble?(why: string): void;
}

/**
 * Reads `faces.data.<i>` with an ordered consumer (every replica reads the whole log) and
 * keeps reading through trouble:
 *  - pulls are bounded in bytes: 256 records of 500 faces were 128 MB in flight, and a
 *    replica busy applying them was cut off as a slow consumer (seen in the 1M-face
 *    bench). nats.js 2.29's ordered consumer cannot pull by max_bytes (its reset reuses
 *    options it filled with max_messages, then throws), so the message count comes from
 *    the stream's average record size; each disconnect halves the bytes (a server with a
 *    small max_pending still gets through);
 *  - an ordered consumer can stop delivering after a reconnect and never resume (the
 *    replica stayed "replaying" for good): when the log holds records past the applied
 *    sequence and none arrives (2 s after a reconnect, or over two watchdog looks), the
 *    consumer is closed and a fresh one opened after the last applied record.
 */
export async function consumeShardLog(options: ShardLogConsumerOptions): Promise<{ stop(): Promise<void> }> {
  const { nc, subjects, shard, log, metrics } = options;
  let pullBytes = INITIAL_PULL_BYTES;
  let stopped = false;

  const open = async () => {
    const info = await (await nc.jetstreamManager()).streams.info(subjects.stream);
    const averageBytes = info.state.messages > 0 ? info.state.bytes / info.state.messages : 1024;
    const applied = options.appliedSeq();
    const consumer = await nc.jetstream().consumers.get(subjects.stream, {
      filterSubjects: subjects.data(shard),
      ...(applied > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: applied + 1 } : {}),
    });
    const opened = await consumer.consume({ max_messages: Math.max(1, Math.min(1024, Math.floor(pullBytes / averageBytes))) });
    void reportRecreation(opened).catch(() => undefined); // ends (or fails) with the consumer
    return opened;
  };

  /**
   * nats.js recreates an ordered consumer by itself (a stream leader change, missed
   * heartbeats), from the record after the last it delivered: the new leader may lack
   * records this replica applied, which the replica must look for (replica.ts).
   */
  const reportRecreation = async (opened: ConsumerMessages) => {
    for await (const status of await opened.status()) {
      if (status.type === ConsumerEvents.OrderedConsumerRecreated && !stopped) options.onTrouble?.('the log consumer was recreated');
    }
  };

  let messages = await open();
  const done = (async () => {
    while (!stopped) {
      try {
        for await (const msg of messages) options.onMessage(msg);
      } catch (err) {
        log.warn('shard log consumer failed', { err });
        options.onTrouble?.('the consumer failed');
      }
      // Ended by stop(), or closed as stalled: a new consumer after what was applied.
      while (!stopped) {
        try {
          messages = await open();
          log.info('shard log consumer reopened', { fromSeq: options.appliedSeq(), pullBytes });
          break;
        } catch (err) {
          log.warn('cannot reopen the shard log consumer; retrying', { err });
          options.onTrouble?.('the consumer cannot be reopened');
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    }
  })();

  /** Closes the consumer (the loop reopens it) when the log has records past `since` and none was applied since. */
  const reopenIfStalled = async (since: number, why: string) => {
    const last = await lastSequenceFor(nc, subjects, shard).catch(() => 0); // NATS down: reconnecting is the client's job
    if (stopped || last <= since || options.appliedSeq() !== since) return;
    log.warn('shard log consumer stalled; reopening it', { why, appliedSeq: since, lastSeq: last });
    metrics.consumerRestarts.inc();
    options.onTrouble?.('the consumer stalled');
    await messages.close();
  };

  let lastLook = options.appliedSeq();
  let stalledLooks = 0;
  const watchdog = setInterval(() => {
    const applied = options.appliedSeq();
    if (applied !== lastLook) {
      lastLook = applied;
      stalledLooks = 0;
    } else if (++stalledLooks >= 2) {
      stalledLooks = 0;
      void reopenIfStalled(applied, 'no record applied for two watchdog looks');
    }
  }, STALL_CHECK_MS);
  watchdog.unref();

  // Ends with the connection.
  void (async () => {
    for await (const status of nc.status()) {
      if (stopped) return;
      if (status.type === 'disconnect') {
        pullBytes = Math.max(1, Math.floor(pullBytes / 2));
      } else if (status.type === 'reconnect') {
        // At once, before new records move the applied sequence: the log may have lost records meanwhile (replica.ts checks).
        options.onTrouble?.('reconnected to NATS');
        const at = options.appliedSeq();
        setTimeout(() => void reopenIfStalled(at, 'nothing delivered after a reconnect'), AFTER_RECONNECT_MS).unref();
      }
    }
  })();

  return {
    stop: async () => {
      stopped = true;
      clearInterval(watchdog);
      await messages.close();
      await done.catch(() => undefined);
    },
  };
}
