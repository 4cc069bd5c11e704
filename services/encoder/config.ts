import { z } from 'zod';
import { CommonEnv, parseEnv } from '../../libs/config/env.js';
import type { RenamedEnv } from '../../libs/config/renamed-env.js';
import {
  BACKEND_ORDER,
  DEFAULT_DETECTOR,
  DEFAULT_MAX_PIXELS,
  DEFAULT_MIN_FACE_SIZE,
  DEFAULT_MIN_SCORE,
  DETECTORS,
  WORKER_MODES,
} from '../../libs/face-encoder/index.js';

export const EncoderEnv = z.object({
  ...CommonEnv,
  /** Force a TensorFlow backend; default: the best one that loads. */
  ENCODER_BACKEND: z.enum(BACKEND_ORDER as [string, ...string[]]).optional(),
  /** Face detector: ssd (accurate) or tiny (fast). A queued job's own options win. */
  ENCODER_DETECTOR: z.enum(DETECTORS).default(DEFAULT_DETECTOR),
  /** Detections under this confidence are dropped. */
  MIN_SCORE: z.coerce.number().gt(0).max(1).default(DEFAULT_MIN_SCORE),
  /** Faces smaller than this many pixels (shorter side of the box) are dropped. */
  MIN_FACE_SIZE: z.coerce.number().int().min(0).default(DEFAULT_MIN_FACE_SIZE),
  /** Keep at most this many faces per image (the most confident); unset: all. */
  MAX_FACES_PER_IMAGE: z.coerce.number().int().min(1).optional(),
  /** Images over this many pixels are refused before decoding. */
  MAX_PIXELS: z.coerce.number().int().min(1).default(DEFAULT_MAX_PIXELS),
  /** Encoder threads in this process: 1 encodes on the main thread; N > 1 starts N workers. */
  ENCODER_WORKERS: z.coerce.number().int().min(1).max(256).default(1),
  /** How the N > 1 workers run. */
  ENCODER_WORKER_MODE: z.enum(WORKER_MODES as [string, ...string[]]).default('thread'),
  /**
   * `faces.encode` requests that may wait for an encode slot (the encoder's capacity); past
   * this a request is answered `busy` at once with a retry hint, not held until it times out.
   */
  ENCODE_REQUESTS_WAITING: z.coerce.number().int().min(0).max(10_000).default(16),
  /** Store a thumbnail (a 96 px WebP crop, a few KB) of every face a queued job stores; a run's `--no-thumbnails` turns them off for its jobs. */
  ENCODER_THUMBNAILS: z.stringbool().default(true),
  /** Take jobs from the encode work queue (`faceshard encode PATH --queue`). */
  ENCODER_JOBS: z.stringbool().default(true),
  /** Seconds a taken job may go without an ack or heartbeat before another worker gets it. */
  ENCODE_ACK_WAIT_S: z.coerce.number().min(1).max(3600).default(60),
  /**
   * Deliveries of one job, at most: the delivery that reaches it records the image as
   * skipped ("gave up after N-1 deliveries") instead of trying again, so an image that
   * crashes or hangs every worker does not loop forever. 2 = one try.
   */
  ENCODE_MAX_DELIVER: z.coerce.number().int().min(2).max(1000).default(5),
  /**
   * Seconds one image may take; then the job is left to be redelivered (a hung encode).
   * Generous: a crowd photo on the pure-JS cpu backend can take minutes.
   */
  ENCODE_JOB_TIMEOUT_S: z.coerce.number().min(1).max(86_400).default(600),
});
export type EncoderConfig = z.infer<typeof EncoderEnv>;

/** Renamed to the unit rule (libs/config/env.ts); the old names are still read. */
export const EncoderRenamedEnv: RenamedEnv = {
  ENCODE_ACK_WAIT_S: 'ENCODE_ACK_WAIT_SECONDS',
  ENCODE_JOB_TIMEOUT_S: 'ENCODE_JOB_TIMEOUT_SECONDS',
};

export function loadEncoderConfig(env: NodeJS.ProcessEnv = process.env): EncoderConfig {
  return parseEnv('encoder', EncoderEnv, env, EncoderRenamedEnv);
}
