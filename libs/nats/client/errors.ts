export class FaceshardError extends Error {
  override name = 'FaceshardError';
  constructor(
    readonly code: string,
    message: string,
    /** For `busy`: when the cluster suggests trying again. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}
