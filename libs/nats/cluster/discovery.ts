/** Discovery with nothing running answers "no responders": that is an empty cluster, not an error. */
export async function noRespondersIsEmpty<T>(ask: () => Promise<AsyncIterable<T>>): Promise<T[]> {
  const out: T[] = [];
  try {
    for await (const item of await ask()) out.push(item);
  } catch (err) {
    if ((err as { code?: string }).code !== '503') throw err;
  }
  return out;
}
