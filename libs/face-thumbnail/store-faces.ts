import type { ThumbnailStore } from '../nats/thumbnail-store/index.js';
import { faceThumbnails, type FaceBox } from './face-crop.js';

/** What storing a photo's thumbnails came to: how many were stored, and why the others were not. */
export interface StoredThumbnails {
  stored: number;
  failures: Array<{ id: string; reason: string }>;
}

const reasonOf = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0];

/**
 * Crops and stores the thumbnail of each face of `photo`. Best effort: a thumbnail is an
 * extra, so a failure is returned (for the caller to log and count), never thrown, and
 * never undoes the faces themselves.
 */
export async function storeFaceThumbnails(
  store: Pick<ThumbnailStore, 'put'>,
  photo: Uint8Array,
  faces: ReadonlyArray<{ id: string; box: FaceBox }>,
): Promise<StoredThumbnails> {
  if (faces.length === 0) return { stored: 0, failures: [] };
  let crops: Buffer[];
  try {
    crops = await faceThumbnails(
      photo,
      faces.map((f) => f.box),
    );
  } catch (err) {
    const reason = `cannot crop the photo: ${reasonOf(err)}`;
    return { stored: 0, failures: faces.map(({ id }) => ({ id, reason })) };
  }
  return putThumbnails(
    store,
    faces.map(({ id }, i) => ({ id, webp: crops[i] })),
  );
}

/** Stores thumbnails made already (all at once: a photo's faces, or a batch's); best effort like storeFaceThumbnails. */
export async function putThumbnails(
  store: Pick<ThumbnailStore, 'put'>,
  thumbnails: ReadonlyArray<{ id: string; webp: Uint8Array }>,
): Promise<StoredThumbnails> {
  const results = await Promise.allSettled(thumbnails.map(({ id, webp }) => store.put(id, webp)));
  const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [{ id: thumbnails[i].id, reason: reasonOf(r.reason) }] : []));
  return { stored: thumbnails.length - failures.length, failures };
}
