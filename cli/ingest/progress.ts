import type { FaceBatch, RowError } from '../../libs/face-files/index.js';
import type { IngestReply } from '../../libs/protocol/index.js';

/**
 * How far an ingest got, in the file's own 1-based row numbers: the last row read, and
 * the last row up to which every row is answered (stored and acknowledged by the cluster,
 * or reported as a row error), so a stopped run can say where to go on from.
 */
export class IngestProgress {
  private lastRead: number;
  private answeredThrough: number;
  private acceptedFaces = 0;
  private duplicateFaces = 0;
  private readonly rowErrors: RowError[] = [];

  /** `fromRow`: rows skipped at the start, answered by an earlier run. */
  constructor(readonly fromRow = 0) {
    this.lastRead = fromRow;
    this.answeredThrough = fromRow;
  }

  /** A batch came from the file; its unusable rows are row errors already. */
  read(batch: FaceBatch): void {
    this.lastRead = Math.max(this.lastRead, lastRowOf(batch));
    this.rowErrors.push(...batch.errors);
  }

  /** The cluster answered every face of `batch` (sent as one ingestMany). */
  answered(batch: FaceBatch, reply: IngestReply | undefined): void {
    if (reply) {
      this.acceptedFaces += reply.accepted;
      this.duplicateFaces += reply.duplicates ?? 0;
      for (const r of reply.rejected) this.rowErrors.push({ row: batch.faces[r.index].row, reason: r.reason });
    }
    this.answeredThrough = Math.max(this.answeredThrough, lastRowOf(batch));
  }

  get lastRowRead(): number {
    return this.lastRead;
  }

  /** Every row up to this one is answered; the next is the first that may not be stored. */
  get acknowledgedThrough(): number {
    return this.answeredThrough;
  }

  get accepted(): number {
    return this.acceptedFaces;
  }

  get duplicates(): number {
    return this.duplicateFaces;
  }

  /** Row errors so far, by row. */
  get errors(): RowError[] {
    return [...this.rowErrors].sort((a, b) => a.row - b.row);
  }
}

function lastRowOf(batch: FaceBatch): number {
  let last = 0;
  for (const face of batch.faces) last = Math.max(last, face.row);
  for (const error of batch.errors) last = Math.max(last, error.row);
  return last;
}
