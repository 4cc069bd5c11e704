import { ProtocolError } from './errors.js';

const decoder = new TextDecoder();

/** Parses a message body as JSON or answers `bad_request` naming what was received. */
export function parseJsonBody(data: Uint8Array, what: string): unknown {
  if (data.length === 0) throw new ProtocolError('bad_request', `${what}: empty message body, expected JSON`);
  try {
    return JSON.parse(decoder.decode(data));
  } catch (err) {
    throw new ProtocolError('bad_request', `${what}: body is not valid JSON (${(err as Error).message})`);
  }
}
