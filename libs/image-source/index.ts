import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ZipLimits } from '../zip/index.js';
import { ZipArchiveError } from '../zip/index.js';
import { DatasetError, type ImageDataset } from './dataset.js';
import { folderDataset } from './folder-dataset.js';
import { zipDataset } from './zip-dataset.js';

export * from './dataset.js';
export { folderDataset, readImageFile } from './folder-dataset.js';
export { zipDataset } from './zip-dataset.js';
export { IMAGE_EXTENSIONS, isImageFileName, walkImages, ImageDirectoryError, type ImageFile } from './walk-images.js';

export interface OpenDatasetOptions {
  maxFileBytes?: number;
  zipLimits?: Partial<ZipLimits>;
}

/** A folder, or a file that must be a zip archive (whatever its name says). */
export async function openDataset(location: string, options: OpenDatasetOptions = {}): Promise<ImageDataset> {
  const absolute = path.resolve(location);
  let stat;
  try {
    stat = await fs.stat(absolute);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new DatasetError(`dataset not found: ${absolute}`);
    throw new DatasetError(`cannot read dataset ${absolute}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (stat.isDirectory()) return folderDataset(absolute, options);
  if (!stat.isFile()) throw new DatasetError(`not a folder or a zip archive: ${absolute}`);
  try {
    return await zipDataset(absolute, options);
  } catch (error) {
    if (error instanceof ZipArchiveError) throw new DatasetError(error.message);
    throw error;
  }
}
