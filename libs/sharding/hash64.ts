const encoder = new TextEncoder();
const TWO_32 = 0x1_0000_0000;

/**
 * FNV-1a 64-bit over the id's UTF-8 bytes, computed in two 32-bit halves so the
 * ingest path needs no BigInt per byte. Stable across processes and versions: it
 * decides which shard owns a face forever.
 */
export function hash64(id: string): bigint {
  const bytes = encoder.encode(id);
  let lo = 0x84222325;
  let hi = 0xcbf29ce4;
  for (let i = 0; i < bytes.length; i++) {
    lo = (lo ^ bytes[i]) >>> 0;
    // (hi:lo) * 0x100000001b3 mod 2^64 = (hi:lo) * 0x1b3 + (lo << 40)
    const loProduct = lo * 0x1b3;
    const carry = Math.floor(loProduct / TWO_32);
    hi = (hi * 0x1b3 + carry + ((lo << 8) >>> 0)) >>> 0;
    lo = loProduct >>> 0;
  }
  return (BigInt(hi) << 32n) | BigInt(lo);
}
