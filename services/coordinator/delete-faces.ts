import type { JetStreamClient, NatsConnection } from 'nats';
import type { DeleteReply, Subjects } from '../../libs/protocol/index.js';
import { findStoredIds } from './find-stored-ids.js';
import { appendTombstones } from './route-writes.js';
import type { ThumbnailCleaner } from './thumbnail-cleaner.js';

export interface DeleteContext {
  nc: NatsConnection;
  js: JetStreamClient;
  subjects: Subjects;
  shardCount: number;
  timeoutMs: number;
  /** Counts the tombstones written. */
  tombstoned: (count: number) => void;
  /** Deletes the thumbnails of deleted faces (best effort, never throws). */
  thumbnails: Pick<ThumbnailCleaner, 'deleteFor' | 'deleteLater'>;
}

/** The log's last sequence: every write acknowledged before now is at or below it. */
export async function streamLastSeq(nc: NatsConnection, subjects: Subjects): Promise<number> {
  return (await (await nc.jetstreamManager()).streams.info(subjects.stream)).state.last_seq;
}

/**
 * `faces.delete`'s work, also each page of `faces.delete-where`: tombstones for the ids that
 * exist (as of every write acknowledged before), and for those whose shard did not answer.
 */
export async function deleteFaces(ctx: DeleteContext, ids: string[], batchId: string | undefined): Promise<DeleteReply> {
  const streamSeq = await streamLastSeq(ctx.nc, ctx.subjects);
  const { found, unchecked } = await findStoredIds(ctx.nc, ctx.subjects, ids, ctx.shardCount, streamSeq, ctx.timeoutMs);
  // A shard that did not answer may hold its ids: they get tombstones too, but are not counted.
  const doubtful = new Set(unchecked);
  const tombstoned = ids.filter((id) => found.has(id) || doubtful.has(id));
  const seq = tombstoned.length ? await appendTombstones(ctx.js, ctx.subjects, tombstoned, ctx.shardCount, batchId) : {};
  ctx.tombstoned(tombstoned.length);
  // After the tombstones: a thumbnail outliving its face for a moment is harmless, the reverse would show a face without one.
  await ctx.thumbnails.deleteFor(tombstoned);
  const notFound = ids.filter((id) => !found.has(id) && !doubtful.has(id));
  return { tombstones: tombstoned.length, deleted: found.size, notFound, ...(unchecked.length ? { unchecked } : {}), seq };
}
