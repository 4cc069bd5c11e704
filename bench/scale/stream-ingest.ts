/**
 * Ingest the way `faceshard ingest faces.npy --ids ids.txt` does (cli/commands/ingest.ts):
 * the .npy and the ids file read as streams by readFaceFile, each batch sent with
 * ingestMany, INGEST_BATCHES_IN_FLIGHT (4) at a time (cli/ingest/run.ts). Memory stays that of a
 * batch, whatever the file's size.
 */
import { readFaceFile } from '../../libs/face-files/index.js';
import type { FaceshardClient } from '../../libs/nats/client/index.js';
import type { MinSeq } from '../../libs/protocol/index.js';
import { IngestProgress } from '../../cli/ingest/progress.js';
import { INGEST_BATCHES_IN_FLIGHT, runIngest } from '../../cli/ingest/run.js';

export interface StreamedIngest {
  /** performance.now() when the first batch was sent: the first write. */
  firstWriteAt: number;
  /** From the first write to the last acknowledgement. */
  seconds: number;
  accepted: number;
  rowErrors: number;
  /** The highest log sequence each shard acknowledged: a query with it as minSeq sees every face. */
  seq: MinSeq;
}

/** `batchSize`: rows read and sent per ingestMany (the CLI's default, 1000, unless given). */
export async function streamIngest(client: FaceshardClient, facesPath: string, idsPath: string, batchSize?: number): Promise<StreamedIngest> {
  const progress = new IngestProgress();
  const seq: Record<string, number> = {};
  let firstWriteAt = NaN;
  const outcome = await runIngest(
    readFaceFile(facesPath, { idsPath, batchSize }),
    async (faces) => {
      if (Number.isNaN(firstWriteAt)) firstWriteAt = performance.now();
      const reply = await client.ingestMany(faces);
      for (const [shard, s] of Object.entries(reply.seq)) seq[shard] = Math.max(seq[shard] ?? 0, s);
      return reply;
    },
    progress,
    { inFlight: INGEST_BATCHES_IN_FLIGHT },
  );
  if (outcome.failure) throw new Error(`ingest stopped after row ${progress.acknowledgedThrough}: ${outcome.failure.message}`);
  return { firstWriteAt, seconds: (performance.now() - firstWriteAt) / 1000, accepted: progress.accepted, rowErrors: progress.errors.length, seq };
}
