/**
 * A dataset of photos: a folder or a .zip, read in place. Every image gets a path inside
 * the dataset (forward slashes), which becomes its face ids (`<path>#<face index>`), so the
 * same photos give the same ids whether they come from the folder or from the zip of it.
 */

export type DatasetKind = 'folder' | 'zip';

export interface DatasetItem {
  /** Inside the dataset, forward slashes: `people/ada/1.jpg`. */
  path: string;
  /** Bytes on disk (folder) or inflated (zip), when known before reading. */
  size?: number;
  /** Set when the item must not be read: why, in words (reported as a skip). */
  refused?: string;
}

export interface ImageDataset {
  readonly kind: DatasetKind;
  /** Absolute path of the folder or archive. */
  readonly location: string;
  /** Every image, refused ones included, in a stable order. Listing reads no image data. */
  list(): Promise<DatasetItem[]>;
  /** The bytes of one listed item; throws DatasetReadError when it cannot be read. */
  read(item: DatasetItem): Promise<Uint8Array>;
  close(): Promise<void>;
}

export type DatasetReadErrorKind = 'unreadable' | 'too_large';

export class DatasetReadError extends Error {
  override name = 'DatasetReadError';
  constructor(
    readonly kind: DatasetReadErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** The whole dataset cannot be opened (missing, not a folder, not a zip). */
export class DatasetError extends Error {
  override name = 'DatasetError';
}

export const DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024;
