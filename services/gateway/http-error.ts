import { errorStatus, ProtocolError, type ErrorReply } from '../../libs/protocol/index.js';
import { FaceshardError } from '../../libs/nats/client/index.js';

/**
 * HTTP statuses of the error codes a gateway answers with: the NATS protocol's own
 * (libs/protocol/errors.ts), what FaceshardClient reports about the connection, and the
 * gateway's (keys, routes, bodies).
 */
export const httpStatusOf: Record<string, number> = {
  ...errorStatus,
  // FaceshardClient: nothing serves the subject, no answer in time, the gateway's NATS identity may not, a reply of the wrong shape.
  no_responders: 503,
  timeout: 504,
  permission_denied: 502,
  bad_reply: 502,
  // The gateway's own.
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  unsupported_media_type: 415,
  /** A photo in which no face was found where one is needed (verify). */
  no_face: 422,
};

/** An error answered as `{ error: { code, message } }` with the status of its code. */
export class GatewayError extends Error {
  override name = 'GatewayError';
  constructor(
    readonly code: string,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }

  get status(): number {
    return httpStatusOf[this.code] ?? 500;
  }

  toReply(): ErrorReply {
    const retry = this.retryAfterMs === undefined ? {} : { retryAfterMs: Math.max(0, Math.ceil(this.retryAfterMs)) };
    return { error: { code: this.code, message: this.message, ...retry } };
  }

  /** Any error as one to answer: the protocol's and the client's keep their code; anything else is `internal`. */
  static from(err: unknown): GatewayError {
    if (err instanceof GatewayError) return err;
    if (err instanceof ProtocolError || err instanceof FaceshardError) return new GatewayError(err.code, err.message, err.retryAfterMs);
    return new GatewayError('internal', (err as Error)?.message ?? String(err));
  }
}
