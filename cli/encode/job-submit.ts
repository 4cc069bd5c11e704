import type { JetStreamClient, JetStreamManager, MsgHdrs } from 'nats';
import { FaceshardError } from '../../libs/nats/client/errors.js';
import type { EncodeJobNames } from '../../libs/protocol/encode-jobs.js';
import { formatBytes } from '../../libs/face-encoder/index.js';

/**
 * How long a publisher refused by a full encode queue waits before it tries again: an
 * encoder takes a job every second or so per worker, so a second frees room for a few.
 */
export const JOB_QUEUE_RETRY_MS = 1000;

/** JetStream's refusal when a discard-new stream is at its bound (err_code 10077, "maximum messages/bytes exceeded"). */
function queueFullReason(error: unknown): 'messages' | 'bytes' | undefined {
  const description = (error as { api_error?: { description?: string } }).api_error?.description ?? '';
  return /maximum messages exceeded/.test(description) ? 'messages' : /maximum bytes exceeded/.test(description) ? 'bytes' : undefined;
}

/**
 * Publishes one encode job. A full queue is refused by JetStream at once; that becomes a
 * FaceshardError `busy` that says which bound was hit and what to do. Publishing again with
 * the same `msgID` is safe: JetStream stores a job once.
 */
export async function submitJob(
  js: JetStreamClient,
  jsm: JetStreamManager,
  names: EncodeJobNames,
  bytes: Uint8Array,
  headers: MsgHdrs,
  msgID: string,
): Promise<void> {
  try {
    await js.publish(names.subject, bytes, { headers, msgID });
  } catch (error) {
    const full = queueFullReason(error);
    if (!full) throw error;
    const info = await jsm.streams.info(names.stream).catch(() => undefined);
    const held = info
      ? `it holds ${info.state.messages} of ${info.config.max_msgs} jobs, ${formatBytes(info.state.bytes)} of ${formatBytes(info.config.max_bytes)}`
      : `its ${full === 'messages' ? 'job' : 'byte'} bound was reached`;
    throw new FaceshardError(
      'busy',
      `the encode queue ${names.stream} is full (${held}; ENCODE_QUEUE_MAX_${full === 'messages' ? 'JOBS' : 'BYTES'}): ` +
        `wait for the encoders to take jobs, start more encoders, or raise the bound (faceshard admin init with ENCODE_QUEUE_MAX_JOBS / ENCODE_QUEUE_MAX_BYTES)`,
      JOB_QUEUE_RETRY_MS,
    );
  }
}
