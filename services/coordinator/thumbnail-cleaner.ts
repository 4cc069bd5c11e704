import type { NatsConnection } from 'nats';
import type { Counter } from 'prom-client';
import { ThumbnailStore } from '../../libs/nats/thumbnail-store/index.js';
import type { Logger } from '../../libs/observability/logger.js';
import type { Subjects } from '../../libs/protocol/index.js';

/** Thumbnails deleted at once: each is four requests (its info, a delete marker, purges of its chunk and of the marker). */
const CONCURRENCY = 16;

/**
 * Deletes the thumbnails of deleted faces. Best effort: a face's delete is answered whatever
 * happens here; a thumbnail that could not be deleted is logged and counted (and stays
 * behind, served for an id that no longer has a face until it is stored again or removed).
 */
export class ThumbnailCleaner {
  /** Deletes handed to deleteLater, one batch after another. */
  private later: Promise<void> = Promise.resolve();

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly log: Logger,
    private readonly metrics: { deleted: Counter; failures: Counter },
  ) {}

  /**
   * Deletes them after the batches handed here before, without waiting: for delete-where,
   * whose answer must not wait on thousands of thumbnails (~1.5-2 ms each, 16 at once, on
   * two cores: 100,000 faces would outlast the request's timeout).
   */
  deleteLater(ids: readonly string[]): void {
    this.later = this.later.then(() => this.deleteFor(ids));
  }

  /** Resolves once every deleteLater batch is done (a draining coordinator waits for it). */
  idle(): Promise<void> {
    return this.later;
  }

  /** Deletes the thumbnails of `ids` (those that have one); never throws. */
  async deleteFor(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    let store: ThumbnailStore;
    try {
      store = await ThumbnailStore.of(this.nc, this.subjects);
    } catch (err) {
      this.metrics.failures.inc(ids.length);
      this.log.warn('thumbnails of deleted faces not deleted: cannot open the thumbnail bucket', { err, faces: ids.length });
      return;
    }
    const failures: Array<{ id: string; reason: string }> = [];
    let next = 0;
    const lane = async () => {
      while (next < ids.length) {
        const id = ids[next++];
        try {
          if (await store.delete(id)) this.metrics.deleted.inc();
        } catch (err) {
          failures.push({ id, reason: err instanceof Error ? err.message : String(err) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, ids.length) }, lane));
    if (failures.length) {
      this.metrics.failures.inc(failures.length);
      this.log.warn('thumbnails of deleted faces not deleted', { failures: failures.slice(0, 20), count: failures.length });
    }
  }
}
