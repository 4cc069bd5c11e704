/** Many queries asked in small requests, a few at a time, answers kept in query order and partial ones counted. */

export interface AskedRange {
  /** Neighbour ids per query of the range, in order. */
  ids: string[][];
  /** The answer missed a shard. */
  partial: boolean;
}

/**
 * Queries 0..count-1 in requests of at most `requestVectors` (`ask(start, end)` asks
 * queries [start, end)), `concurrency` requests at a time: every query's ids in order, and
 * how many queries came back in a partial answer.
 */
export async function askInRequests(
  count: number,
  requestVectors: number,
  concurrency: number,
  ask: (start: number, end: number) => Promise<AskedRange>,
): Promise<{ ids: (string[] | undefined)[]; partialQueries: number }> {
  if (!Number.isInteger(requestVectors) || requestVectors < 1) throw new RangeError(`requestVectors must be a positive integer, got ${requestVectors}`);
  const ids = new Array<string[] | undefined>(count);
  let partialQueries = 0;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const start = next;
      const end = Math.min(count, start + requestVectors);
      next = end;
      const answer = await ask(start, end);
      if (answer.partial) partialQueries += end - start;
      answer.ids.forEach((found, i) => (ids[start + i] = found));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  return { ids, partialQueries };
}
