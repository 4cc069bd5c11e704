import { headers as natsHeaders, type ServiceMsg } from 'nats';
import type { Logger } from '../../observability/logger.js';
import { bodyBudget, ProtocolError } from '../../protocol/index.js';

const encoder = new TextEncoder();

/**
 * Answers a request like libs/service/respond.ts, but a reply larger than one message
 * (the server's max_payload) is answered `too_large` (413), which the asker does not
 * retry, rather than an internal error. Without `binary`, the reply is JSON.
 */
export async function respondWithin<T>(
  nc: { info?: { max_payload: number } },
  msg: ServiceMsg,
  log: Logger,
  handler: () => Promise<T>,
  binary: { encode: (body: T) => Uint8Array; contentType: string } | undefined,
): Promise<boolean> {
  let error: ProtocolError;
  try {
    const body = await handler();
    const data = binary ? binary.encode(body) : encoder.encode(JSON.stringify(body));
    const budget = bodyBudget(nc);
    if (data.length <= budget) {
      if (binary) msg.respond(data, { headers: contentType(binary.contentType) });
      else msg.respond(data);
      return true;
    }
    error = new ProtocolError(
      'too_large',
      `the reply takes ${data.length} bytes, one message holds ${budget} (the server's max_payload): ask fewer vectors or a smaller k`,
    );
  } catch (err) {
    error = err instanceof ProtocolError ? err : new ProtocolError('internal', (err as Error).message ?? String(err));
    if (error.code === 'internal') log.error('request failed', { subject: msg.subject, err });
  }
  msg.respondError(error.status, error.message, encoder.encode(JSON.stringify(error.toReply())));
  return false;
}

function contentType(value: string) {
  const h = natsHeaders();
  h.set('content-type', value);
  return h;
}
