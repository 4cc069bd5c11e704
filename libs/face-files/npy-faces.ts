import { NpyRowReader } from '../npy/row-reader.js';
import { prefixedId } from '../protocol/index.js';
import { idProblem, vectorProblem } from '../index/vector/index.js';
import { BatchCollector, DEFAULT_BATCH_SIZE } from './batch-collector.js';
import { IdsFileReader } from './ids-file.js';
import { FaceFileError, type FaceBatch, type ReadFaceFileOptions } from './types.js';

/**
 * Faces from a .npy matrix of encodings. Ids come from `idsPath` (line i names row i), or,
 * without an ids file, are the 0-based row number as a string ("0", "1", ...): the index
 * numpy itself would print for that row, like the original talk's "Index : [50002]".
 * `idPrefix` goes before each (`<idPrefix>/<id>`); `fromRow` rows are skipped first.
 * The file is read one batch of rows at a time (NpyRowReader), so memory does not grow
 * with its size.
 */
export async function* readNpyFaces(path: string, options: ReadFaceFileOptions = {}): AsyncGenerator<FaceBatch> {
  const { idsPath, idPrefix, fromRow = 0 } = options;
  const size = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const collector = new BatchCollector(size);
  const reader = await NpyRowReader.open(path);
  let ids: IdsFileReader | undefined;
  try {
    const { rows, dims } = reader;
    ids = idsPath === undefined ? undefined : await IdsFileReader.open(idsPath);
    if (ids !== undefined && ids.count !== rows) {
      throw new FaceFileError(`ids file ${idsPath} has ${ids.count} ids for ${rows} vectors in ${path}`);
    }
    if (fromRow > rows) throw new FaceFileError(`cannot start after row ${fromRow}: ${path} has ${rows} rows`);
    reader.seek(fromRow);
    await ids?.skip(fromRow);

    // Every row becomes exactly one face or error. The rows of a batch are read into one
    // array of their own (one allocation per batch, not per row: that is ~1.6 s per million
    // rows), which their vectors are views of: a batch kept alive pins only itself.
    for (let batchStart = fromRow; batchStart < rows; batchStart += size) {
      const vectors = new Float32Array(Math.min(size, rows - batchStart) * dims);
      const count = await reader.readRows(vectors);
      const batchIds = await ids?.next(count);
      for (let i = 0; i < count; i++) {
        const index = batchStart + i;
        const row = index + 1;
        const id = prefixedId(idPrefix, batchIds === undefined ? String(index) : batchIds[i]);
        const vector = vectors.subarray(i * dims, (i + 1) * dims);
        const problems = [idProblem(id), vectorProblem(vector)].filter((problem) => problem !== undefined);
        if (problems.length > 0) {
          collector.addError({ row, reason: `${problems.join('; ')} (id ${JSON.stringify(id)})` });
        } else {
          collector.addFace({ row, id, vector });
        }
      }
      yield collector.take()!;
    }
  } finally {
    await reader.close();
    await ids?.close();
  }
}
