import { putThumbnails } from '../../libs/face-thumbnail/index.js';
import type { FaceshardClient } from '../../libs/nats/client/index.js';
import { ThumbnailStore } from '../../libs/nats/thumbnail-store/index.js';

/**
 * A local encode run's thumbnails: stored batch by batch after their faces, best effort
 * (the faces are stored either way); what failed is said once at the end, not per face.
 */
export class ThumbnailTally {
  private stored = 0;
  private failed = 0;
  private firstReason: string | undefined;

  async store(client: FaceshardClient, thumbnails: Array<{ id: string; webp: Uint8Array }>): Promise<void> {
    const result = await putThumbnails(() => ThumbnailStore.of(client.nc, client.subjects), thumbnails);
    this.stored += result.stored;
    this.failed += result.failures.length;
    this.firstReason ??= result.failures[0]?.reason;
  }

  /** On stderr, only when some were not stored. */
  report(): void {
    if (this.failed) process.stderr.write(`${this.failed} thumbnail(s) not stored (${this.stored} stored; the faces are stored): ${this.firstReason}\n`);
  }
}
