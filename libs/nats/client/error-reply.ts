import type { ErrorReply } from '../../protocol/index.js';
import { FaceshardError } from './errors.js';

/**
 * A faceshard error body as the error a caller sees. `busy` (a bounded queue is full) is told
 * as what it means to a person: the cluster refused at once, nothing went wrong, and when to
 * try again.
 */
export function errorFromReply(error: ErrorReply['error']): FaceshardError {
  if (error.code !== 'busy') return new FaceshardError(error.code, error.message, error.retryAfterMs);
  const when = error.retryAfterMs === undefined ? 'try again shortly' : `try again in ${error.retryAfterMs} ms`;
  // Services' messages may end with their own "try again in ~N ms": the line says it once.
  const why = error.message.replace(/[;,.]?\s*try again in ~?\d+ ms\.?$/, '');
  return new FaceshardError('busy', `the cluster is busy (${why}); ${when}`, error.retryAfterMs);
}
