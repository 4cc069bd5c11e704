import type { NatsConnection, MsgHdrs } from 'nats';
import type { z } from 'zod';
import { ErrorReply } from '../../protocol/index.js';
import { ReplyInbox } from '../reply-inbox/index.js';
import { errorFromReply } from './error-reply.js';
import { FaceshardError } from './errors.js';

const decoder = new TextDecoder();

/** A request whose reply is either the expected schema or a faceshard error body. */
export async function requestJson<S extends z.ZodType>(
  nc: NatsConnection,
  subject: string,
  body: Uint8Array,
  schema: S,
  options: { timeoutMs: number; headers?: MsgHdrs },
): Promise<z.infer<S>> {
  let msg;
  try {
    msg = await ReplyInbox.for(nc).request(subject, body, options);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === '503') throw new FaceshardError('no_responders', `nothing serves ${subject}: is the cluster up (faceshard up) and the coordinator running?`);
    if (code === 'PERMISSIONS_VIOLATION') throw new FaceshardError('permission_denied', (err as Error).message);
    if (code === 'TIMEOUT') throw new FaceshardError('timeout', `${subject} did not answer within ${options.timeoutMs} ms`);
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(msg.data));
  } catch {
    throw new FaceshardError('bad_reply', `${subject} answered something that is not JSON`);
  }
  const error = ErrorReply.safeParse(json);
  if (error.success) throw errorFromReply(error.data.error);
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new FaceshardError('bad_reply', `${subject} answered an unexpected shape: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}
