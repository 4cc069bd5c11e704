/** One face read from a user's file, already validated. */
export interface FaceRow {
  /** 1-based row number: the line in a .jsonl file or ids file, numpy row index + 1 in a .npy file. */
  row: number;
  id: string;
  /**
   * 128 finite float32 numbers. May be a view sharing one ArrayBuffer with the other
   * vectors of its batch (never with the whole file): to send it as bytes, use
   * byteOffset/byteLength, not `.buffer` alone.
   */
  vector: Float32Array;
  meta?: Record<string, unknown>;
}

/** A row that could not be used, with a readable reason (the file goes on). */
export interface RowError {
  row: number;
  reason: string;
}

export interface FaceBatch {
  faces: FaceRow[];
  errors: RowError[];
}

export interface ReadFaceFileOptions {
  /** .npy only: a text file with one id per line, in row order. */
  idsPath?: string;
  /** .npy only: a text file with one person per line, in row order (a blank line: no person). */
  personsPath?: string;
  /** Rows (faces + errors) per yielded batch; default 1000. */
  batchSize?: number;
  /** Put before every id (`<idPrefix>/<id>`): a .npy's row numbers, the ids file's or the lines' ids. */
  idPrefix?: string;
  /**
   * Skip the first `fromRow` rows (.npy rows, lines of a JSON lines file): how an
   * interrupted ingest goes on. Row numbers, and ids made of them, stay the whole file's.
   */
  fromRow?: number;
}

/** The file as a whole cannot be read (missing, wrong type, ids that do not match the rows). */
export class FaceFileError extends Error {
  override readonly name = 'FaceFileError';
}
