import { readNpyFile } from '../npy/read.js';
import { prefixedId } from '../protocol/index.js';
import { idProblem, vectorProblem } from '../index/vector/index.js';
import { BatchCollector, DEFAULT_BATCH_SIZE } from './batch-collector.js';
import { readIdsFile } from './ids-file.js';
import { FaceFileError, type FaceBatch } from './types.js';

/**
 * Faces from a .npy matrix of encodings. Ids come from `idsPath` (line i names row i), or,
 * without an ids file, are the 0-based row number as a string ("0", "1", ...): the index
 * numpy itself would print for that row, like the original talk's "Index : [50002]".
 * `idPrefix` goes before each (`<idPrefix>/<id>`).
 * The whole matrix is in memory (the .npy format is not worth streaming); the FaceRow
 * objects are made one batch at a time.
 */
export async function* readNpyFaces(path: string, idsPath: string | undefined, batchSize?: number, idPrefix?: string): AsyncGenerator<FaceBatch> {
  const size = batchSize ?? DEFAULT_BATCH_SIZE;
  const collector = new BatchCollector(size);
  const { rows, dims, data } = await readNpyFile(path);
  const ids = idsPath === undefined ? undefined : await readIdsFile(idsPath);
  if (ids !== undefined && ids.length !== rows) {
    throw new FaceFileError(`ids file ${idsPath} has ${ids.length} ids for ${rows} vectors in ${path}`);
  }

  // Every row becomes exactly one face or error, so batch b holds rows [b * size, (b + 1) * size).
  // Their vectors are copied out of the file's matrix once per batch (one allocation, not one
  // per row: that is ~1.6 s per million rows), so a batch kept alive never pins the whole file.
  let batchVectors = new Float32Array(0);
  let batchStart = 0;
  for (let index = 0; index < rows; index++) {
    if (index % size === 0) {
      batchStart = index;
      batchVectors = data.slice(index * dims, Math.min(index + size, rows) * dims);
    }
    const row = index + 1;
    const id = prefixedId(idPrefix, ids === undefined ? String(index) : ids[index]);
    const vector = batchVectors.subarray((index - batchStart) * dims, (index - batchStart + 1) * dims);
    const problems = [idProblem(id), vectorProblem(vector)].filter((problem) => problem !== undefined);
    if (problems.length > 0) {
      collector.addError({ row, reason: `${problems.join('; ')} (id ${JSON.stringify(id)})` });
    } else {
      collector.addFace({ row, id, vector });
    }
    if (collector.full) yield collector.take()!;
  }
  const rest = collector.take();
  if (rest) yield rest;
}
