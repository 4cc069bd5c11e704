import { AckPolicy, DeliverPolicy, nanos, type NatsConnection } from 'nats';
import type { EncodeJobNames } from '../../libs/protocol/encode-jobs.js';

export interface JobConsumerSettings {
  ackWaitSeconds: number;
  /** Deliveries of one job at most (JetStream's max_deliver); see job-worker.ts. */
  maxDeliver: number;
}

/**
 * The durable pull consumer every encoder shares. ack_wait is how long a taken job may go
 * without an ack or a `working()` heartbeat before it is handed to another worker: the time
 * a killed worker's image waits to be redone. max_deliver bounds how often that happens to
 * one job. An existing consumer is brought to these settings (the last encoder started wins).
 */
export async function ensureJobConsumer(nc: NatsConnection, names: EncodeJobNames, settings: JobConsumerSettings): Promise<void> {
  const jsm = await nc.jetstreamManager();
  const ackWait = nanos(settings.ackWaitSeconds * 1000);
  try {
    const info = await jsm.consumers.info(names.stream, names.consumer);
    if (info.config.ack_wait !== ackWait || info.config.max_deliver !== settings.maxDeliver) {
      await jsm.consumers.update(names.stream, names.consumer, { ack_wait: ackWait, max_deliver: settings.maxDeliver });
    }
    return;
  } catch (err) {
    if (!String((err as Error).message).includes('not found')) throw err;
  }
  try {
    await jsm.consumers.add(names.stream, {
      durable_name: names.consumer,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: names.subject,
      ack_wait: ackWait,
      max_deliver: settings.maxDeliver,
      max_ack_pending: 10_000,
    });
  } catch (addErr) {
    await jsm.consumers.info(names.stream, names.consumer).catch(() => {
      throw addErr;
    });
  }
}
