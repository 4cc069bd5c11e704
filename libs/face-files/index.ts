/**
 * Turns a user's face-encoding file into validated faces, in batches, with row-numbered
 * errors for the rows that cannot be used (the rest of the file still comes through).
 * Duplicate ids are passed on as they are: at ingest the later row wins.
 */
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { readJsonlFaces } from './jsonl-faces.js';
import { readNpyFaces } from './npy-faces.js';
import { FaceFileError, type FaceBatch, type ReadFaceFileOptions } from './types.js';

export { FaceFileError, type FaceBatch, type FaceRow, type ReadFaceFileOptions, type RowError } from './types.js';
export { DEFAULT_BATCH_SIZE } from './batch-collector.js';
export { FaceLine, parseFaceLine, type ParsedFaceLine } from './face-line.js';

const FORMATS = {
  '.npy': 'npy',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
} as const;
export const SUPPORTED_EXTENSIONS = Object.keys(FORMATS);

/**
 * Yields { faces, errors } batches of up to `batchSize` rows (default 1000), so a
 * million-row file never has all its FaceRow objects alive at once. Whole-file problems
 * (missing file, unknown extension, ids file of the wrong length, a broken .npy) are
 * thrown before the first batch.
 */
export async function* readFaceFile(path: string, options: ReadFaceFileOptions = {}): AsyncGenerator<FaceBatch> {
  const format = formatOf(path);
  const { fromRow = 0 } = options;
  if (!Number.isSafeInteger(fromRow) || fromRow < 0) throw new RangeError(`fromRow must be a whole number of at least 0, got ${fromRow}`);
  await assertReadableFile(path);
  if (format === 'npy') {
    yield* readNpyFaces(path, options);
  } else {
    if (options.idsPath !== undefined) {
      throw new FaceFileError(`an ids file only goes with a .npy file; every line of ${path} carries its own "id"`);
    }
    if (options.personsPath !== undefined) {
      throw new FaceFileError(`a persons file only goes with a .npy file; a line of ${path} carries its own "person"`);
    }
    yield* readJsonlFaces(path, options);
  }
}

function formatOf(path: string): (typeof FORMATS)[keyof typeof FORMATS] {
  const extension = extname(path).toLowerCase();
  if (Object.hasOwn(FORMATS, extension)) return FORMATS[extension as keyof typeof FORMATS];
  const found = extension === '' ? 'no extension' : `extension "${extension}"`;
  throw new FaceFileError(`cannot read ${path} (${found}): supported files are ${SUPPORTED_EXTENSIONS.join(', ')}`);
}

/** Whole-file problems a command can report before it connects anywhere: missing, a folder, an unknown kind. */
export async function checkFaceFile(path: string): Promise<void> {
  formatOf(path);
  await assertReadableFile(path);
}

async function assertReadableFile(path: string): Promise<void> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new FaceFileError(`${path} is not a regular file`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new FaceFileError(`${path}: no such file`);
    throw error;
  }
}
