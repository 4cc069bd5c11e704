/**
 * Query vectors each shard replica answered, per time bucket, from its /metrics polled at
 * the start of every bucket: what a poll at the end of bucket k finds since the last
 * poll that answered goes into bucket k. A poll not answered within most of a bucket (a
 * paused process) adds nothing; the next one that answers puts what it finds in the
 * bucket it closes, not spread back over the gap: a stopped process answers nothing, so
 * what it answered since came after it resumed (or before it stopped, within one bucket).
 */
import { replicaAnswers } from '../replicas/replica-metrics.js';
import type { ProbeTarget } from './health-probe.js';

export interface ReplicaRates {
  name: string;
  /** Query vectors a second, per bucket from `startedAt`. */
  perSecond: number[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function startReplicaRates(replicas: readonly ProbeTarget[], bucketMs: number): { startedAt: number; stop(): Promise<ReplicaRates[]> } {
  let stopped = false;
  const startedAt = Date.now();
  const poll = async (replica: ProbeTarget): Promise<ReplicaRates> => {
    const perSecond: number[] = [];
    let last: number | undefined;
    while (!stopped) {
      const closes = Math.round((Date.now() - startedAt) / bucketMs) - 1; // the bucket that ended at this tick
      const seen = await Promise.race([
        replicaAnswers(replica.httpPort).then(
          (a) => a.vectors,
          () => undefined,
        ),
        sleep(bucketMs * 0.8).then(() => undefined),
      ]);
      if (seen !== undefined) {
        if (last !== undefined && closes >= 0) {
          while (perSecond.length <= closes) perSecond.push(0);
          perSecond[closes] += (seen - last) / (bucketMs / 1000);
        }
        last = seen;
      }
      await sleep(bucketMs - ((Date.now() - startedAt) % bucketMs)); // the next bucket's start
    }
    return { name: replica.name, perSecond };
  };
  const running = replicas.map(poll);
  return {
    startedAt,
    stop: () => {
      stopped = true;
      return Promise.all(running);
    },
  };
}
