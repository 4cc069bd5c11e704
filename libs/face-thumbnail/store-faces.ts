import type { ThumbnailStore } from '../nats/thumbnail-store/index.js';
import { faceThumbnails, type FaceBox } from './face-crop.js';

/** What storing a photo's thumbnails came to: how many were stored, and why the others were not. */
export interface StoredThumbnails {
  stored: number;
  failures: Array<{ id: string; reason: string }>;
}

const reasonOf = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0];

/** Opens the bucket to put into (ThumbnailStore.of on the caller's connection); a failure is every thumbnail's failure. */
export type OpenThumbnailStore = () => Promise<Pick<ThumbnailStore, 'put'>>;

/**
 * Crops and stores the thumbnail of each face of `photo`. Best effort: a thumbnail is an
 * extra, so a failure (the bucket not opened, a crop, a put) is returned for the caller to
 * log and count, never thrown, and never undoes the faces themselves. The bucket is opened
 * first: without it, no photo is decoded for nothing.
 */
export async function storeFaceThumbnails(
  openStore: OpenThumbnailStore,
  photo: Uint8Array,
  faces: ReadonlyArray<{ id: string; box: FaceBox }>,
): Promise<StoredThumbnails> {
  const opened = await openOrFail(openStore, faces);
  if ('outcome' in opened) return opened.outcome;
  let crops: Buffer[];
  try {
    crops = await faceThumbnails(
      photo,
      faces.map((f) => f.box),
    );
  } catch (err) {
    return allFailed(faces, `cannot crop the photo: ${reasonOf(err)}`);
  }
  return putAll(
    opened.store,
    faces.map(({ id }, i) => ({ id, webp: crops[i] })),
  );
}

/** Stores thumbnails made already (all at once: a photo's faces, or a batch's); best effort like storeFaceThumbnails. */
export async function putThumbnails(openStore: OpenThumbnailStore, thumbnails: ReadonlyArray<{ id: string; webp: Uint8Array }>): Promise<StoredThumbnails> {
  const opened = await openOrFail(openStore, thumbnails);
  return 'outcome' in opened ? opened.outcome : putAll(opened.store, thumbnails);
}

/** The opened store, or (nothing to store, or the bucket not opened) the outcome for all of `items`. */
async function openOrFail(
  openStore: OpenThumbnailStore,
  items: ReadonlyArray<{ id: string }>,
): Promise<{ store: Pick<ThumbnailStore, 'put'> } | { outcome: StoredThumbnails }> {
  if (items.length === 0) return { outcome: { stored: 0, failures: [] } };
  try {
    return { store: await openStore() };
  } catch (err) {
    return { outcome: allFailed(items, `cannot open the thumbnail bucket: ${reasonOf(err)}`) };
  }
}

function allFailed(items: ReadonlyArray<{ id: string }>, reason: string): StoredThumbnails {
  return { stored: 0, failures: items.map(({ id }) => ({ id, reason })) };
}

async function putAll(store: Pick<ThumbnailStore, 'put'>, thumbnails: ReadonlyArray<{ id: string; webp: Uint8Array }>): Promise<StoredThumbnails> {
  const results = await Promise.allSettled(thumbnails.map(({ id, webp }) => store.put(id, webp)));
  const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [{ id: thumbnails[i].id, reason: reasonOf(r.reason) }] : []));
  return { stored: thumbnails.length - failures.length, failures };
}
