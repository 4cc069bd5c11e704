import { createHash } from 'node:crypto';
import { StorageType, type JetStreamManager, type NatsConnection, type ObjectStore } from 'nats';
import type { Subjects } from '../../protocol/index.js';

/**
 * Face thumbnails in a JetStream Object Store bucket (`subjects.thumbnailBucket`), one
 * object a face. The object's name is the face id percent-encoded (encodeURIComponent):
 * nats.js 2.29 puts a name into its subject as base64 of the string taken as Latin-1
 * (btoa), which throws on any character past U+00FF and would encode é differently from
 * other clients (UTF-8); an ASCII name avoids both and stays readable in `nats object ls`.
 */
export function thumbnailObjectName(faceId: string): string {
  return encodeURIComponent(faceId);
}

/** A stored thumbnail: its bytes and the object's SHA-256 digest (`SHA-256=...`, a strong ETag). */
export interface Thumbnail {
  data: Uint8Array;
  digest: string;
}

/** Creates the bucket (the admin's job, with the cluster's other streams); idempotent. */
export async function ensureThumbnailBucket(nc: NatsConnection, subjects: Subjects, replicas = 1): Promise<void> {
  await nc
    .jetstream()
    .views.os(subjects.thumbnailBucket, { replicas, storage: StorageType.File, description: 'faceshard: a small WebP crop of every face, by face id' });
}

/**
 * One connection's view of the thumbnail bucket. What it may do is what its NATS identity
 * allows (roles.ts): readers get, whoever stores faces puts, the coordinator deletes.
 */
export class ThumbnailStore {
  private static readonly bound = new WeakMap<NatsConnection, Promise<ThumbnailStore>>();

  private constructor(
    private readonly bucket: ObjectStore,
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
  ) {}

  /** The bucket bound once per connection (open's checks done once); a failed bind is tried again on the next call. */
  static of(nc: NatsConnection, subjects: Subjects): Promise<ThumbnailStore> {
    let store = ThumbnailStore.bound.get(nc);
    if (!store) {
      store = ThumbnailStore.open(nc, subjects);
      ThumbnailStore.bound.set(nc, store);
      store.catch(() => ThumbnailStore.bound.delete(nc));
    }
    return store;
  }

  /** Binds to the existing bucket; a missing bucket is named (`faceshard admin init` or `faceshard up` creates it). */
  static async open(nc: NatsConnection, subjects: Subjects): Promise<ThumbnailStore> {
    const jsm = await nc.jetstreamManager();
    const stream = `OBJ_${subjects.thumbnailBucket}`;
    try {
      await jsm.streams.info(stream);
    } catch (err) {
      if (String((err as Error).message).includes('not found'))
        throw new Error(
          `the thumbnail bucket ${subjects.thumbnailBucket} (stream ${stream}) does not exist: run \`faceshard admin init\` with the admin credentials (faceshard up does it itself)`,
        );
      throw err;
    }
    // The stream exists, so views.os only binds (it creates a bucket only when its stream is missing).
    return new ThumbnailStore(await nc.jetstream().views.os(subjects.thumbnailBucket), jsm, stream);
  }

  /** Stores (or replaces) the thumbnail of `faceId`. */
  async put(faceId: string, webp: Uint8Array): Promise<void> {
    await this.bucket.putBlob({ name: thumbnailObjectName(faceId) }, webp);
  }

  /**
   * The thumbnail of `faceId`, or null when none is stored. A thumbnail is one chunk (far
   * under the 128 KB chunk size), read with one direct message get and checked against the
   * object's digest: nats.js's getBlob would create a consumer per read (slower, and it needs
   * the right to list streams and create consumers).
   */
  async get(faceId: string): Promise<Thumbnail | null> {
    const info = await this.bucket.info(thumbnailObjectName(faceId));
    if (!info || info.deleted) return null;
    if (info.chunks !== 1)
      throw new Error(`the thumbnail of ${JSON.stringify(faceId)} is ${info.chunks} chunks (${info.size} bytes), not one: not a thumbnail`);
    const chunk = await this.jsm.streams.getMessage(this.stream, { last_by_subj: `$O.${info.bucket}.C.${info.nuid}` });
    const digest = `SHA-256=${createHash('sha256').update(chunk.data).digest('base64url')}`;
    if (digest !== info.digest.replace(/=+$/, ''))
      throw new Error(`the thumbnail of ${JSON.stringify(faceId)} does not match its digest (a partly written object)`);
    return { data: chunk.data, digest: info.digest };
  }

  /**
   * Deletes the thumbnail of `faceId`; false when there was none. nats.js's delete marks the
   * object deleted and purges its chunk; the mark (~0.3 KB) would stay for every face ever
   * deleted, so it is purged too (a crash between the two leaves only the mark).
   */
  async delete(faceId: string): Promise<boolean> {
    const name = thumbnailObjectName(faceId);
    const info = await this.bucket.info(name);
    if (!info || info.deleted) return false;
    await this.bucket.delete(name);
    await this.jsm.streams.purge(this.stream, { filter: `$O.${info.bucket}.M.${metaToken(name)}` });
    return true;
  }
}

/** The name's token in its meta subject, as nats.js writes it: base64url with padding (the name is ASCII, see thumbnailObjectName). */
function metaToken(name: string): string {
  return Buffer.from(name, 'latin1').toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}
