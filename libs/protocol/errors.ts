import { z } from 'zod';

/** Error codes on the wire; `status` is what goes into the Nats-Service-Error-Code header. */
export const errorStatus = {
  bad_request: 400,
  not_ready: 503,
  behind: 503,
  no_shards: 503,
  /** Overload: a bounded queue is full; the reply says when to try again (`retryAfterMs`). */
  busy: 503,
  too_large: 413,
  deadline: 504,
  internal: 500,
} as const;
export type ErrorCode = keyof typeof errorStatus;

export const ErrorReply = z.strictObject({
  error: z.strictObject({ code: z.string(), message: z.string(), retryAfterMs: z.number().int().min(0).optional() }),
});
export type ErrorReply = z.infer<typeof ErrorReply>;

/** An error that is the caller's to fix (or the cluster's state), answered, never thrown away. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** For `busy`: how long the asker should wait before trying again. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
  get status(): number {
    return errorStatus[this.code];
  }
  toReply(): ErrorReply {
    const retry = this.retryAfterMs === undefined ? {} : { retryAfterMs: Math.max(0, Math.ceil(this.retryAfterMs)) };
    return { error: { code: this.code, message: this.message, ...retry } };
  }
}

/** Turns a zod failure into one readable line per problem, with the path that was wrong. */
export function describeIssues(error: z.ZodError, what: string): string {
  const lines = error.issues.slice(0, 5).map((issue) => {
    const path = issue.path.length ? issue.path.join('.') : '(message)';
    return `${path}: ${issue.message}`;
  });
  const more = error.issues.length > 5 ? `; and ${error.issues.length - 5} more problems` : '';
  return `invalid ${what}: ${lines.join('; ')}${more}`;
}
