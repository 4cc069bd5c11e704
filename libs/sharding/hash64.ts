const encoder = new TextEncoder();
const TWO_32 = 0x1_0000_0000;
let scratch = new Uint8Array(256);

/**
 * FNV-1a 64-bit over the id's UTF-8 bytes, computed in two 32-bit halves (no BigInt per
 * byte), written into `out` as [hi, lo]. Stable across processes and versions: it decides
 * which shard owns a face forever.
 */
export function fnv1a64Into(id: string, out: Uint32Array): void {
  if (scratch.length < id.length * 3) scratch = new Uint8Array(id.length * 3);
  const { written } = encoder.encodeInto(id, scratch);
  let lo = 0x84222325;
  let hi = 0xcbf29ce4;
  for (let i = 0; i < written; i++) {
    lo = (lo ^ scratch[i]) >>> 0;
    // (hi:lo) * 0x100000001b3 mod 2^64 = (hi:lo) * 0x1b3 + (lo << 40)
    const loProduct = lo * 0x1b3;
    hi = (hi * 0x1b3 + Math.floor(loProduct / TWO_32) + ((lo << 8) >>> 0)) >>> 0;
    lo = loProduct >>> 0;
  }
  out[0] = hi;
  out[1] = lo;
}

const halves = new Uint32Array(2);

/** FNV-1a 64 of the id as a BigInt: the definition the shard routing is checked against. */
export function hash64(id: string): bigint {
  fnv1a64Into(id, halves);
  return (BigInt(halves[0]) << 32n) | BigInt(halves[1]);
}
