import { z } from 'zod';
import type { Subjects } from './subjects.js';

/**
 * The encode work queue (`faceshard encode PATH --queue` -> `faceshard encoder` workers).
 *
 * One JetStream message per image on `<prefix>.encode.jobs`, in a work-queue stream
 * `<STREAM>_ENCODE_JOBS`, taken by the durable pull consumer `encoders` that every
 * encoder shares. The image's bytes are the message body (see cli/encode/job-publisher.ts
 * for why), its path inside the dataset and the run's options are headers. A worker acks
 * only after `faces.ingest` acknowledged the image's faces; an image whose worker died is
 * redelivered after the consumer's ack_wait, at most max_deliver times in all: the delivery
 * that reaches it records the image as skipped (kind `gave_up`) and terminates the job.
 *
 * Done images are recorded in the KV bucket `<STREAM>_ENCODED` (key: hashes of the dataset's
 * id prefix and of the path), which is what `--resume` skips and how the publishing CLI
 * counts progress.
 */
export interface EncodeJobNames {
  stream: string;
  subject: string;
  consumer: string;
  doneBucket: string;
}

export function encodeJobNames(subjects: Subjects): EncodeJobNames {
  return {
    stream: `${subjects.stream}_ENCODE_JOBS`,
    subject: `${subjects.prefix}.encode.jobs`,
    consumer: 'encoders',
    doneBucket: `${subjects.stream}_ENCODED`,
  };
}

export const JOB_HEADER = {
  path: 'Faceshard-Path',
  run: 'Faceshard-Run',
  /** The dataset's id prefix: ids are `<prefix>/<path>#<face>` (absent: `<path>#<face>`). */
  dataset: 'Faceshard-Dataset',
  options: 'Faceshard-Options',
  /** The person every face of the image belongs to (absent: none), stored as meta.person. */
  person: 'Faceshard-Person',
} as const;

/** Encode options a run asks every worker to use (the CLI's flags). */
export const JobOptions = z.strictObject({
  detector: z.enum(['ssd', 'tiny']).optional(),
  minScore: z.number().gt(0).max(1).optional(),
  minFaceSize: z.number().min(0).optional(),
  maxFaces: z.number().int().min(1).optional(),
  /** false: store no thumbnail of this run's faces (`faceshard encode --no-thumbnails`); absent: the worker's ENCODER_THUMBNAILS. Sent only when false, so older workers still take the jobs of a default run. */
  thumbnails: z.boolean().optional(),
});
export type JobOptions = z.infer<typeof JobOptions>;

/** The value stored under an image's key in `<STREAM>_ENCODED` once it is done. */
export const DoneMark = z.object({
  /** The dataset's id prefix (absent in marks written before datasets had one). */
  dataset: z.string().optional(),
  path: z.string(),
  run: z.string(),
  faces: z.number().int().min(0),
  /** Why the image gave no face, when it gave none. */
  skipped: z.string().optional(),
  /** Its kind: no_face, corrupt, unsupported, empty, too_large, gave_up (a poison job)... */
  skipKind: z.string().optional(),
  /** Faces the cluster refused, `id: reason`. */
  rejected: z.array(z.string()).optional(),
  /** How many times the job was delivered before it was done (1 = first try). */
  deliveries: z.number().int().optional(),
  /** The TensorFlow backend of the worker that did it. */
  backend: z.string().optional(),
});
export type DoneMark = z.infer<typeof DoneMark>;
