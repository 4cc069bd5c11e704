import { z } from 'zod';
import type { FaceshardClient } from '../../libs/nats/client/index.js';
import { EncodedFaceReply, type EncodeReply } from '../../libs/protocol/index.js';
import { GatewayError } from './http-error.js';
import { encodePhoto } from './photo-encoding.js';
import { formNumber, type UploadForm, type UploadSpec } from './upload-form.js';

/** The usual same-person tolerance of dlib's and face-api's 128-d encodings (Euclidean distance). */
export const DEFAULT_VERIFY_THRESHOLD = 0.6;

const Threshold = z.number().min(0, 'threshold must be at least 0').max(2, 'threshold must be at most 2');
export const VerifyForm = z.strictObject({ threshold: formNumber(Threshold).optional() });
export const VERIFY_UPLOAD: UploadSpec = { photos: ['a', 'b'], fields: VerifyForm };

const BestFace = EncodedFaceReply.pick({ box: true, score: true }).extend({ facesFound: z.number().int() });

export const VerifyReply = z.strictObject({
  /** Euclidean distance between the best (highest-scoring) face of each photo. */
  distance: z.number(),
  threshold: z.number(),
  /** distance <= threshold */
  samePerson: z.boolean(),
  a: BestFace,
  b: BestFace,
  backend: z.string(),
  tookMs: z.number(),
});
export type VerifyReply = z.infer<typeof VerifyReply>;

/** The threshold from the form field or the query parameter (not both), else the default. */
function thresholdOf(form: UploadForm, query: URLSearchParams): number {
  const fromForm = form.fields(VerifyForm).threshold;
  const param = query.get('threshold');
  if (param === null) return fromForm ?? DEFAULT_VERIFY_THRESHOLD;
  if (fromForm !== undefined) throw new GatewayError('bad_request', 'threshold is given both as a query parameter and a form field: give it once');
  const parsed = formNumber(Threshold).safeParse(param);
  if (!parsed.success) throw new GatewayError('bad_request', `query parameter threshold: ${parsed.error.issues[0].message}`);
  return parsed.data;
}

/** Is the best face of photo `a` the same person as the best face of photo `b`? Both photos are encoded at once. */
export async function verifyPhotos(client: FaceshardClient, form: UploadForm, query: URLSearchParams, timeoutMs: number): Promise<VerifyReply> {
  const started = performance.now();
  const photos = [form.photo('a'), form.photo('b')];
  const threshold = thresholdOf(form, query);
  const [a, b] = await Promise.all(photos.map((photo, i) => encodePhoto(client, photo, i === 0 ? 'a' : 'b', timeoutMs)));
  const bestA = bestFace(a, 'a');
  const bestB = bestFace(b, 'b');
  let sum = 0;
  for (let i = 0; i < bestA.vector.length; i++) sum += (bestA.vector[i] - bestB.vector[i]) ** 2;
  const distance = Math.sqrt(sum);
  const described = (face: EncodeReply['faces'][number], reply: EncodeReply) => ({ box: face.box, score: face.score, facesFound: reply.faces.length });
  return {
    distance,
    threshold,
    samePerson: distance <= threshold,
    a: described(bestA, a),
    b: described(bestB, b),
    backend: a.backend,
    tookMs: Math.round((performance.now() - started) * 10) / 10,
  };
}

/** The highest-scoring face, or `no_face` (422): there is nothing to compare. */
function bestFace(reply: EncodeReply, field: string): EncodeReply['faces'][number] {
  if (reply.faces.length === 0) throw new GatewayError('no_face', `no face found in photo "${field}": nothing to compare`);
  return reply.faces.reduce((best, face) => (face.score > best.score ? face : best));
}
