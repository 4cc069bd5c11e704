import { z } from 'zod';
import { ShardReply } from './shard-leg.js';
import { decodeShardReplyBinary, encodeShardReplyBinary, ShardReplyFormatError } from './shard-reply-binary.js';

/**
 * A group leg's reply: one ShardReply per shard the answering process serves. JSON
 * (`{"replies": [...]}`) for a person; binary when the leg asks (`reply-format: binary`),
 * each shard's binary reply framed by its length:
 *
 *   0  "FSG1"                magic
 *   4  u32 LE parts (P)
 *   8  u32 LE length[P]
 *   …  P binary shard replies (shard-reply-binary.ts), back to back
 */
export const ShardGroupReply = z.strictObject({ replies: z.array(ShardReply) });
export type ShardGroupReply = z.infer<typeof ShardGroupReply>;

export const SHARD_GROUP_REPLY_BINARY_CONTENT_TYPE = 'application/x-faceshard-group-reply';

const MAGIC = 0x31475346; // "FSG1" read as u32 LE
/** More parts than any cluster has shards is a corrupt header, not a reply. */
const MAX_PARTS = 4096;

export function encodeShardGroupReplyBinary(reply: ShardGroupReply): Uint8Array {
  const parts = reply.replies.map(encodeShardReplyBinary);
  const headerBytes = 8 + 4 * parts.length;
  const out = new Uint8Array(headerBytes + parts.reduce((n, p) => n + p.length, 0));
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, parts.length, true);
  let at = headerBytes;
  parts.forEach((part, i) => {
    view.setUint32(8 + 4 * i, part.length, true);
    out.set(part, at);
    at += part.length;
  });
  return out;
}

/** The replies, checked: a malformed body throws ShardReplyFormatError naming what is wrong. */
export function decodeShardGroupReplyBinary(data: Uint8Array): ShardGroupReply {
  if (data.length < 8) throw new ShardReplyFormatError(`binary group reply: ${data.length} bytes, shorter than its 8-byte header`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw new ShardReplyFormatError('binary group reply: bad magic (expected "FSG1")');
  const count = view.getUint32(4, true);
  if (count > MAX_PARTS) throw new ShardReplyFormatError(`binary group reply: ${count} parts, at most ${MAX_PARTS}`);
  const headerBytes = 8 + 4 * count;
  if (data.length < headerBytes) throw new ShardReplyFormatError('binary group reply: truncated in its lengths');
  const replies: ShardReply[] = [];
  let at = headerBytes;
  for (let i = 0; i < count; i++) {
    const length = view.getUint32(8 + 4 * i, true);
    if (at + length > data.length) throw new ShardReplyFormatError(`binary group reply: part ${i} runs past the end`);
    replies.push(decodeShardReplyBinary(data.subarray(at, at + length)));
    at += length;
  }
  if (at !== data.length) throw new ShardReplyFormatError(`binary group reply: ${data.length} bytes, its parts add up to ${at}`);
  return { replies };
}
