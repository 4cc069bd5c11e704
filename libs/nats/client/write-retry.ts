/**
 * When a write (`faces.ingest`) that failed is worth sending again. The client sends a
 * batch with a `batch-id` header and sends it again with the same one: the coordinator
 * derives every record's Nats-Msg-Id from it, so JetStream stores each record once even
 * when a failed try had stored some (its 2-minute duplicate window is far longer than
 * these retries). Seen at 10,000,000 faces: a JetStream publish timed out after 5 s while
 * nats-server was busy, and one failed batch stopped a 5 GB ingest at row 6,236,000.
 */
import { FaceshardError } from './errors.js';

/** Tries after the first. */
export const WRITE_RETRIES = 3;
const FIRST_DELAY_MS = 500;

/** Failures of the cluster's moment, not of the request: the same batch may succeed later. */
const TRANSIENT = new Set(['internal', 'busy', 'timeout', 'not_ready', 'no_shards', 'no_responders', 'deadline']);

/** How long to wait before try `attempt + 1` (attempt 0 = the first try failed); undefined: do not try again. */
export function writeRetryDelayMs(err: unknown, attempt: number): number | undefined {
  if (attempt >= WRITE_RETRIES || !(err instanceof FaceshardError) || !TRANSIENT.has(err.code)) return undefined;
  return err.code === 'busy' && err.retryAfterMs !== undefined ? err.retryAfterMs : FIRST_DELAY_MS * 2 ** attempt;
}
