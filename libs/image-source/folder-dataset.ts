import { promises as fs } from 'node:fs';
import path from 'node:path';
import { formatBytes } from '../zip/index.js';
import { DatasetReadError, DEFAULT_MAX_FILE_BYTES, type DatasetItem, type ImageDataset } from './dataset.js';
import { walkImages } from './walk-images.js';

/** A folder tree of photos (nested person folders included), walked in a stable order. */
export function folderDataset(dir: string, options: { maxFileBytes?: number } = {}): ImageDataset {
  const root = path.resolve(dir);
  const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  return {
    kind: 'folder',
    location: root,
    async list() {
      const items: DatasetItem[] = [];
      for await (const file of walkImages(root, { onUnreadableDirectory: (p, reason) => items.push({ path: p, refused: reason }) })) {
        items.push({ path: file.relativePath });
      }
      return items;
    },
    read: (item) => readImageFile(path.join(root, ...item.path.split('/')), maxBytes),
    async close() {},
  };
}

/** Reads a file, refusing huge ones before reading; fs failures become DatasetReadErrors. */
export async function readImageFile(filePath: string, maxBytes: number = DEFAULT_MAX_FILE_BYTES): Promise<Uint8Array> {
  try {
    const stat = await fs.stat(filePath);
    if (!stat.isFile()) throw new DatasetReadError('unreadable', 'not a regular file');
    if (stat.size > maxBytes) throw new DatasetReadError('too_large', `file is ${formatBytes(stat.size)}, over the ${formatBytes(maxBytes)} limit`);
    return await fs.readFile(filePath);
  } catch (error) {
    if (error instanceof DatasetReadError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DatasetReadError('unreadable', 'file not found');
    if (code === 'EACCES' || code === 'EPERM') throw new DatasetReadError('unreadable', 'permission denied');
    throw new DatasetReadError('unreadable', `cannot read file (${error instanceof Error ? error.message : String(error)})`);
  }
}
