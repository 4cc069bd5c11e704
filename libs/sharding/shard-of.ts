/**
 * shardOf without BigInt: FNV-1a 64 (hash64.ts) and jump consistent hash in 16-bit limbs
 * held in plain numbers. The same function as jumpConsistentHash(hash64(id), n) (a test
 * checks it on many ids), about 3x cheaper (measured 68 vs 225 ms for 200,000 ids): it
 * runs once per ingested face.
 */
import { fnv1a64Into } from './hash64.js';

// 2862933555777941757 = 0x27BB2EE687B0B0FD, least significant 16 bits first
const M0 = 0xb0fd;
const M1 = 0x87b0;
const M2 = 0x2ee6;
const M3 = 0x27bb;

const halves = new Uint32Array(2);

export function shardOfFast(id: string, buckets: number): number {
  if (!Number.isInteger(buckets) || buckets < 1) throw new RangeError(`buckets must be a positive integer, got ${buckets}`);
  fnv1a64Into(id, halves);
  const hi = halves[0];
  const lo = halves[1];
  let k0 = lo & 0xffff;
  let k1 = lo >>> 16;
  let k2 = hi & 0xffff;
  let k3 = hi >>> 16;
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    // k = k * M + 1 (mod 2^64), limb by limb; every partial sum stays far below 2^53
    const r0 = k0 * M0 + 1;
    const r1 = k0 * M1 + k1 * M0 + Math.floor(r0 / 65536);
    const r2 = k0 * M2 + k1 * M1 + k2 * M0 + Math.floor(r1 / 65536);
    const r3 = k0 * M3 + k1 * M2 + k2 * M1 + k3 * M0 + Math.floor(r2 / 65536);
    k0 = r0 % 65536;
    k1 = r1 % 65536;
    k2 = r2 % 65536;
    k3 = r3 % 65536;
    const top31 = k3 * 32768 + Math.floor(k2 / 2); // k >> 33
    j = Math.floor((b + 1) * (2 ** 31 / (top31 + 1)));
  }
  return b;
}
