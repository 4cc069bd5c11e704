import type { FaceBatch, FaceRow } from '../../libs/face-files/index.js';
import type { IngestReply } from '../../libs/protocol/index.js';
import type { IngestProgress } from './progress.js';

/**
 * Batches `faceshard ingest` keeps in flight: each waits for JetStream's acknowledgement
 * of its records, so one at a time left the cluster idle between batches (measured
 * 34,000-43,000 faces/s through a local 4-shard cluster, a third of what it takes in).
 */
export const INGEST_BATCHES_IN_FLIGHT = 4;

export interface IngestRunOutcome {
  /** Stopped early by `stop` (Ctrl-C): the rows read so far were answered, no more were read. */
  interrupted: boolean;
  /** What stopped the run part-way (the cluster refused a batch, the file broke): the rows after progress.acknowledgedThrough may not be stored. */
  failure?: Error;
}

/**
 * Sends a face file's batches, up to `inFlight` at once (default 1: each once the one
 * before is answered), recording in `progress` what was read and, in file order, what was
 * answered: a batch counts as answered only once every batch before it is, so
 * `acknowledgedThrough` is always a prefix of the file. An error before the first batch
 * (the file cannot be read at all) is thrown as it is; one after it ends the run with
 * `failure` (reading stops, the batches in flight are waited for but not counted: a
 * resume sends them again, and an id sent again replaces its face with the same vector),
 * so the caller can say how far it got.
 */
export async function runIngest(
  batches: AsyncIterable<FaceBatch>,
  send: (faces: FaceRow[]) => Promise<IngestReply>,
  progress: IngestProgress,
  options: { stop?: AbortSignal; onBatch?: () => void; inFlight?: number } = {},
): Promise<IngestRunOutcome> {
  const window = Math.max(1, options.inFlight ?? 1);
  const pending: { batch: FaceBatch; reply: Promise<IngestReply | undefined> }[] = [];
  const answerOldest = async () => {
    const { batch, reply } = pending.shift()!;
    progress.answered(batch, await reply);
    options.onBatch?.();
  };
  let started = false;
  try {
    for await (const batch of batches) {
      started = true;
      progress.read(batch);
      const reply = batch.faces.length ? send(batch.faces) : Promise.resolve(undefined);
      reply.catch(() => undefined); // awaited in order by answerOldest; this only keeps an early rejection from being "unhandled"
      pending.push({ batch, reply });
      if (pending.length >= window) await answerOldest();
      if (options.stop?.aborted) break;
    }
    while (pending.length > 0) await answerOldest();
  } catch (error) {
    if (!started) throw error;
    await Promise.allSettled(pending.map((p) => p.reply));
    return { interrupted: false, failure: error as Error };
  }
  return { interrupted: options.stop?.aborted ?? false };
}
