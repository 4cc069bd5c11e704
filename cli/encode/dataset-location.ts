import { stat } from 'node:fs/promises';
import path from 'node:path';
import { isImageFileName } from '../../libs/image-source/index.js';

/**
 * What `faceshard encode PATH` was given, looked at before anything connects: a dataset
 * is a folder or a zip; one photo is a query, not a dataset.
 */
export type DatasetLocationKind = 'folder' | 'zip' | 'missing' | 'image' | 'other';

export async function datasetLocationKind(location: string): Promise<DatasetLocationKind> {
  try {
    const info = await stat(location);
    if (info.isDirectory()) return 'folder';
    if (!info.isFile()) return 'other';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  if (isImageFileName(location)) return 'image';
  // Any other file is read as a zip (whatever its name): the zip reader names a bad one.
  return 'zip';
}

/** The default id prefix of a dataset: its own name (`photos` for `photos/` and for `photos.zip`). */
export function datasetIdPrefix(location: string): string {
  return path.basename(path.resolve(location)).replace(/\.zip$/i, '');
}
