import type { Counter } from 'prom-client';
import { storeFaceThumbnails, type FaceBox } from '../../libs/face-thumbnail/index.js';
import type { FaceshardClient } from '../../libs/nats/client/index.js';
import { ThumbnailStore, type Thumbnail } from '../../libs/nats/thumbnail-store/index.js';
import type { Logger } from '../../libs/observability/logger.js';

/**
 * The gateway's side of the thumbnail bucket: stores the crops of enrolled faces (when
 * GATEWAY_THUMBNAILS is on) and reads them for GET /v1/faces/{id}/thumbnail, on the
 * cluster connection of the moment (ClusterLink may replace its client).
 */
export class GatewayThumbnails {
  constructor(
    private readonly client: () => FaceshardClient,
    /** Store a thumbnail of every enrolled face. */
    readonly enabled: boolean,
    private readonly log: Logger,
    private readonly failures: Counter,
  ) {}

  /** Stores the thumbnails of `faces` (already stored faces of `photo`); best effort: returns how many were stored, logs and counts the rest. */
  async storeFaces(photo: Uint8Array, faces: ReadonlyArray<{ id: string; box: FaceBox }>): Promise<number> {
    if (!this.enabled || faces.length === 0) return 0;
    const { stored, failures } = await storeFaceThumbnails(() => this.store(), photo, faces);
    if (failures.length) {
      this.failures.inc(failures.length);
      this.log.warn('thumbnails not stored', { failures });
    }
    return stored;
  }

  /** The thumbnail of `id`, or null. */
  async get(id: string): Promise<Thumbnail | null> {
    return (await this.store()).get(id);
  }

  private store(): Promise<ThumbnailStore> {
    const { nc, subjects } = this.client();
    return ThumbnailStore.of(nc, subjects);
  }
}
