import type { IncomingMessage } from 'node:http';
import { GatewayError } from './http-error.js';

/**
 * A request's whole body, at most `limit` bytes: a declared length over it is refused
 * before anything is read, and a body that grows past it stops being collected.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () => new GatewayError('too_large', `request body larger than ${limit} bytes (GATEWAY_MAX_BODY_BYTES)`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, bytes);
}

/** Refuses a body that says it is something other than JSON (no content-type is taken as JSON). */
export function requireJson(req: IncomingMessage): void {
  const type = req.headers['content-type'];
  if (type === undefined) return;
  const mediaType = type.split(';')[0].trim().toLowerCase();
  if (mediaType !== 'application/json') throw new GatewayError('unsupported_media_type', `content-type ${mediaType}: send application/json`);
}
