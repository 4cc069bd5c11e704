import { headers as natsHeaders, type ServiceMsg } from 'nats';
import type { Logger } from '../observability/logger.js';
import { ProtocolError } from '../protocol/index.js';

const encoder = new TextEncoder();

/**
 * Answers a service request with the handler's JSON, or with a JSON error body plus
 * the NATS service error headers. Every request gets an answer, never silence.
 */
export async function respondJson(msg: ServiceMsg, log: Logger, handler: () => unknown | Promise<unknown>): Promise<boolean> {
  return respondEncoded(msg, log, handler, undefined);
}

/**
 * `respondJson`, but a successful answer is `encode(body)` sent with the header
 * `content-type: contentType` (errors stay JSON with the service error headers).
 */
export async function respondEncoded<T>(
  msg: ServiceMsg,
  log: Logger,
  handler: () => T | Promise<T>,
  binary: { encode: (body: T) => Uint8Array; contentType: string } | undefined,
): Promise<boolean> {
  try {
    const body = await handler();
    if (binary) {
      const h = natsHeaders();
      h.set('content-type', binary.contentType);
      msg.respond(binary.encode(body), { headers: h });
    } else msg.respond(encoder.encode(JSON.stringify(body)));
    return true;
  } catch (err) {
    const error = err instanceof ProtocolError ? err : new ProtocolError('internal', (err as Error).message ?? String(err));
    if (error.code === 'internal') log.error('request failed', { subject: msg.subject, err });
    msg.respondError(error.status, error.message, encoder.encode(JSON.stringify(error.toReply())));
    return false;
  }
}
