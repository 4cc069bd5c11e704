import path from 'node:path';
import { openZipArchive, type ZipArchive, type ZipEntry } from '../zip/index.js';
import { type ZipLimits } from '../zip/index.js';
import { DatasetReadError, type DatasetItem, type ImageDataset } from './dataset.js';
import { isImageFileName } from './walk-images.js';

interface ZipItem extends DatasetItem {
  entry: ZipEntry;
}

/**
 * A .zip of photos, read in place: the listing comes from the central directory and each
 * photo is inflated only when it is encoded. Entries are in central-directory order.
 *
 * Ids match the folder's: `zip -r photos.zip photos` stores `photos/ada/1.jpg`, while
 * walking the folder `photos` gives `ada/1.jpg`. So when every entry sits under one
 * top-level folder named like the archive (`photos/` in `photos.zip`), that folder is
 * dropped from the paths. An archive made from inside the folder (`cd photos; zip -r
 * ../photos.zip .`) already has folder-relative paths and is left as it is.
 */
export async function zipDataset(file: string, options: { zipLimits?: Partial<ZipLimits> } = {}): Promise<ImageDataset> {
  const location = path.resolve(file);
  const archive: ZipArchive = await openZipArchive(location, options.zipLimits);
  let listed: Promise<DatasetItem[]> | undefined;
  return {
    kind: 'zip',
    location,
    list: () => (listed ??= listEntries(archive, path.basename(location).replace(/\.zip$/i, ''))),
    async read(item) {
      const entry = (item as ZipItem).entry;
      if (!entry) throw new DatasetReadError('unreadable', 'not an entry of this archive');
      try {
        return await archive.read(entry);
      } catch (error) {
        throw new DatasetReadError('unreadable', `cannot read zip entry (${error instanceof Error ? error.message : String(error)})`);
      }
    },
    async close() {
      archive.close();
    },
  };
}

async function listEntries(archive: ZipArchive, stem: string): Promise<DatasetItem[]> {
  const items: ZipItem[] = [];
  for await (const entry of archive.entries()) {
    // Hidden files (`.DS_Store`, `__MACOSX/._x.jpg` resource forks) are skipped as in a folder walk.
    if (!entry.unsafeName && entry.path.split('/').some((segment) => segment.startsWith('.') || segment === '__MACOSX')) continue;
    // A name escaping the dataset is reported whatever it is called; others only if they are images.
    if (!isImageFileName(entry.path) && !entry.unsafeName) continue;
    items.push({ path: entry.path, size: entry.uncompressedSize, entry, ...(entry.refused ? { refused: entry.refused } : {}) });
  }
  const prefix = `${stem}/`;
  const safe = items.filter((i) => !i.entry.unsafeName);
  if (stem && safe.length > 0 && safe.every((i) => i.path.startsWith(prefix))) {
    for (const item of safe) item.path = item.path.slice(prefix.length);
  }
  return items;
}
