/**
 * The tests' one wait-until: polls `probe` until it returns a value (not undefined) and
 * returns it; a probe that throws counts as "not yet". After `timeoutMs`, fails naming
 * `what` (a function: read at that moment, e.g. a child's output so far) and the last
 * error seen. A condition is a probe too: `() => (done ? true : undefined)`.
 */
export async function until<T>(
  what: string | (() => string),
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const name = typeof what === 'string' ? what : what();
      throw new Error(`${name}: not within ${timeoutMs} ms${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
