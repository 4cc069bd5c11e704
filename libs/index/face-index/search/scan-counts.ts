/** Rows the searches examined through the pre-filter's codes, and those passed on to the exact distance (`stats()`). */
export class ScanCounts {
  private scannedRows = 0;
  private candidateRows = 0;

  /** Rows examined, all searches so far (stats().prefilterScanned). */
  get scanned(): number {
    return this.scannedRows;
  }

  /** Rows passed on to the exact distance (stats().prefilterCandidates). */
  get candidates(): number {
    return this.candidateRows;
  }

  addScanned(rows: number): void {
    this.scannedRows += rows;
  }

  addCandidates(rows: number): void {
    this.candidateRows += rows;
  }
}
