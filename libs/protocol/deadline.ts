import type { HeaderView } from './query.js';

/**
 * When the asker stops waiting, in epoch milliseconds: set by the client from its timeout
 * on `faces.query`, and by the coordinator on each leg (what is left of the query's time).
 * Hosts are assumed to keep their clocks in step (NTP).
 */
export const DEADLINE_HEADER = 'faceshard-deadline';

/** The header's deadline; undefined when absent or not a time. */
export function parseDeadline(headers: HeaderView | undefined): number | undefined {
  const raw = headers?.get(DEADLINE_HEADER);
  if (!raw) return undefined;
  const at = Number(raw);
  return Number.isSafeInteger(at) && at > 0 ? at : undefined;
}
