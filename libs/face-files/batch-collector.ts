import type { FaceBatch, FaceRow, RowError } from './types.js';

export const DEFAULT_BATCH_SIZE = 1000;

/** Gathers rows until `size` of them (faces and errors together) make a batch. */
export class BatchCollector {
  private faces: FaceRow[] = [];
  private errors: RowError[] = [];

  constructor(private readonly size: number = DEFAULT_BATCH_SIZE) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`batchSize must be a positive integer, got ${size}`);
  }

  addFace(face: FaceRow): void {
    this.faces.push(face);
  }

  addError(error: RowError): void {
    this.errors.push(error);
  }

  get full(): boolean {
    return this.faces.length + this.errors.length >= this.size;
  }

  /** The rows gathered so far (undefined when there are none), and a fresh start. */
  take(): FaceBatch | undefined {
    if (this.faces.length === 0 && this.errors.length === 0) return undefined;
    const batch = { faces: this.faces, errors: this.errors };
    this.faces = [];
    this.errors = [];
    return batch;
  }
}
