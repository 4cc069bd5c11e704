const MASK64 = (1n << 64n) - 1n;

/**
 * Jump consistent hash (Lamping & Veach, 2014): maps a 64-bit key to one of
 * `buckets` shards; growing N to N+1 moves only 1/(N+1) of the keys.
 */
export function jumpConsistentHash(key: bigint, buckets: number): number {
  if (!Number.isInteger(buckets) || buckets < 1) throw new RangeError(`buckets must be a positive integer, got ${buckets}`);
  let b = -1;
  let j = 0;
  let k = key & MASK64;
  while (j < buckets) {
    b = j;
    k = (k * 2862933555777941757n + 1n) & MASK64;
    j = Math.floor((b + 1) * (2 ** 31 / (Number(k >> 33n) + 1)));
  }
  return b;
}
