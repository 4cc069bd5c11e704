import { NpyRowReader } from '../npy/row-reader.js';
import { prefixedId } from '../protocol/index.js';
import { idProblem, vectorProblem } from '../index/vector/index.js';
import { parsePerson } from '../persons/index.js';
import { BatchCollector, DEFAULT_BATCH_SIZE } from './batch-collector.js';
import { IdsFileReader } from './ids-file.js';
import { FaceFileError, type FaceBatch, type ReadFaceFileOptions } from './types.js';

/**
 * Faces from a .npy matrix of encodings. Ids come from `idsPath` (line i names row i), or,
 * without an ids file, are the 0-based row number as a string ("0", "1", ...): the index
 * numpy itself would print for that row, like the original talk's "Index : [50002]".
 * `idPrefix` goes before each (`<idPrefix>/<id>`); `fromRow` rows are skipped first.
 * Persons come from `personsPath` the same way (line i is row i's person; a blank line:
 * no person), stored as the face's `meta.person`.
 * The file is read one batch of rows at a time (NpyRowReader), so memory does not grow
 * with its size.
 */
export async function* readNpyFaces(path: string, options: ReadFaceFileOptions = {}): AsyncGenerator<FaceBatch> {
  const { idsPath, personsPath, idPrefix, fromRow = 0 } = options;
  const size = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const collector = new BatchCollector(size);
  const reader = await NpyRowReader.open(path);
  let ids: IdsFileReader | undefined;
  let persons: IdsFileReader | undefined;
  try {
    const { rows, dims } = reader;
    ids = idsPath === undefined ? undefined : await IdsFileReader.open(idsPath);
    if (ids !== undefined && ids.count !== rows) {
      throw new FaceFileError(`ids file ${idsPath} has ${ids.count} ids for ${rows} vectors in ${path}`);
    }
    persons = personsPath === undefined ? undefined : await IdsFileReader.open(personsPath, 'persons file');
    if (persons !== undefined && persons.count !== rows) {
      throw new FaceFileError(`persons file ${personsPath} has ${persons.count} lines for ${rows} vectors in ${path}`);
    }
    if (fromRow > rows) throw new FaceFileError(`cannot start after row ${fromRow}: ${path} has ${rows} rows`);
    reader.seek(fromRow);
    await ids?.skip(fromRow);
    await persons?.skip(fromRow);

    // Every row becomes exactly one face or error. The rows of a batch are read into one
    // array of their own (one allocation per batch, not per row: that is ~1.6 s per million
    // rows), which their vectors are views of: a batch kept alive pins only itself.
    for (let batchStart = fromRow; batchStart < rows; batchStart += size) {
      const vectors = new Float32Array(Math.min(size, rows - batchStart) * dims);
      const count = await reader.readRows(vectors);
      const batchIds = await ids?.next(count);
      const batchPersons = await persons?.next(count);
      for (let i = 0; i < count; i++) {
        const index = batchStart + i;
        const row = index + 1;
        const id = prefixedId(idPrefix, batchIds === undefined ? String(index) : batchIds[i]);
        const vector = vectors.subarray(i * dims, (i + 1) * dims);
        const person = personOfLine(batchPersons?.[i]);
        const problems = [idProblem(id), vectorProblem(vector), person.ok ? undefined : person.reason].filter((problem) => problem !== undefined);
        if (problems.length > 0 || !person.ok) {
          collector.addError({ row, reason: `${problems.join('; ')} (id ${JSON.stringify(id)})` });
        } else {
          collector.addFace(person.person === undefined ? { row, id, vector } : { row, id, vector, meta: { person: person.person } });
        }
      }
      yield collector.take()!;
    }
  } finally {
    await reader.close();
    await ids?.close();
    await persons?.close();
  }
}

/** A persons file's line: blank (or no persons file) is no person. */
function personOfLine(line: string | undefined): { ok: true; person?: string } | { ok: false; reason: string } {
  if (line === undefined || line.trim() === '') return { ok: true };
  return parsePerson(line);
}
