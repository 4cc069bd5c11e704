export class FaceshardError extends Error {
  override name = 'FaceshardError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
