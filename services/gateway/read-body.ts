import type { IncomingMessage } from 'node:http';
import { GatewayError } from './http-error.js';

/**
 * A request's whole body, at most `limit` bytes: a declared length over it is refused
 * before anything is read, and a body that grows past it stops being collected. The
 * request is left paused, not destroyed, so the refusal can still be answered.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () => new GatewayError('too_large', `request body larger than ${limit} bytes (GATEWAY_MAX_BODY_BYTES)`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const settle = (fn: () => void) => {
      req.off('data', onData).off('end', onEnd).off('error', onError);
      req.pause();
      fn();
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > limit) return settle(() => reject(tooLarge()));
      chunks.push(chunk);
    };
    const onEnd = () => settle(() => resolve(Buffer.concat(chunks, bytes)));
    const onError = (err: Error) => settle(() => reject(err));
    req.on('data', onData).on('end', onEnd).on('error', onError);
  });
}

/**
 * Reads and drops what is left of a refused request's body, at most `maxBytes` for at most
 * `maxMs`: a client still sending an upload (a wrong key, too large) then reads the answer
 * instead of a broken pipe, and one that sends forever is cut off.
 */
export function discardBody(req: IncomingMessage, maxBytes: number, maxMs: number): Promise<void> {
  if (req.complete) return Promise.resolve();
  return new Promise((resolve) => {
    let bytes = 0;
    const done = () => {
      clearTimeout(timer);
      req.off('data', onData).off('end', done).off('error', done).off('close', done);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > maxBytes) done();
    };
    const timer = setTimeout(done, maxMs);
    req.on('data', onData).on('end', done).on('error', done).on('close', done);
    req.resume();
  });
}

/** Refuses a body that says it is something other than JSON (no content-type is taken as JSON). */
export function requireJson(req: IncomingMessage, accepted = 'application/json'): void {
  const type = req.headers['content-type'];
  if (type === undefined) return;
  const mediaType = type.split(';')[0].trim().toLowerCase();
  if (mediaType !== 'application/json') throw new GatewayError('unsupported_media_type', `content-type ${mediaType}: send ${accepted}`);
}
