import type { FaceBatch, FaceRow } from '../../libs/face-files/index.js';
import type { IngestReply } from '../../libs/protocol/index.js';
import type { IngestProgress } from './progress.js';

export interface IngestRunOutcome {
  /** Stopped early by `stop` (Ctrl-C): the rows read so far were answered, no more were read. */
  interrupted: boolean;
  /** What stopped the run part-way (the cluster refused a batch, the file broke): the rows after progress.acknowledgedThrough may not be stored. */
  failure?: Error;
}

/**
 * Sends a face file's batches one after the other, each once the one before is answered,
 * recording in `progress` what was read and what was answered. An error before the first
 * batch (the file cannot be read at all) is thrown as it is; one after it ends the run
 * with `failure`, so the caller can say how far it got.
 */
export async function runIngest(
  batches: AsyncIterable<FaceBatch>,
  send: (faces: FaceRow[]) => Promise<IngestReply>,
  progress: IngestProgress,
  options: { stop?: AbortSignal; onBatch?: () => void } = {},
): Promise<IngestRunOutcome> {
  let started = false;
  try {
    for await (const batch of batches) {
      started = true;
      progress.read(batch);
      progress.answered(batch, batch.faces.length ? await send(batch.faces) : undefined);
      options.onBatch?.();
      if (options.stop?.aborted) return { interrupted: true };
    }
  } catch (error) {
    if (!started) throw error;
    return { interrupted: false, failure: error as Error };
  }
  return { interrupted: false };
}
