import { z } from 'zod';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import type { FaceshardClient } from '../../libs/nats/client/index.js';
import { whoIsSteps, WhoIsStep } from '../../libs/persons/index.js';
import { EncodedFaceReply, Effort, K, Match, MaxDistance, MinSeq, QueryReply } from '../../libs/protocol/index.js';
import { GatewayError } from './http-error.js';
import { encodePhoto } from './photo-encoding.js';
import { formBoolean, formJson, formNumber, type UploadForm, type UploadSpec } from './upload-form.js';

/** The form of a search by photo: the photo and the options a vector search takes. */
export const PhotoSearchForm = z.strictObject({
  k: formNumber(K).optional(),
  maxDistance: formNumber(MaxDistance).optional(),
  approximate: formBoolean.optional(),
  effort: formNumber(Effort).optional(),
  /** Read-your-writes, as JSON: what a delete or an ingest answered (`seq`), so a search right after it sees it. */
  minSeq: formJson(MinSeq).optional().describe('JSON: a stream sequence, or the `seq` a delete or ingest answered (per shard)'),
});
export const PHOTO_SEARCH_UPLOAD: UploadSpec = { photos: ['photo'], fields: PhotoSearchForm };

const FoundFace = EncodedFaceReply.pick({ box: true, score: true }).extend({
  matches: z.array(Match),
  /**
   * Who this is, at every threshold (libs/persons whoIsSteps over the matches): at threshold t,
   * the verdict of the last step whose threshold is <= t; below the first step, or with none, unknown.
   */
  who: z.array(WhoIsStep).describe('who this is at every threshold: the verdict of the last step whose threshold is <= yours; below the first step, unknown'),
});

/** Every face found in the photo, with its box and its matches; no face found is zero faces, not an error. */
export const PhotoSearchReply = z.strictObject({
  faces: z.array(FoundFace),
  ...QueryReply.pick({ shards: true, partial: true, missing: true, searched: true }).shape,
  /** The encoder's TensorFlow backend, and the time encoding and searching took. */
  backend: z.string(),
  encodeMs: z.number(),
  tookMs: z.number(),
});
export type PhotoSearchReply = z.infer<typeof PhotoSearchReply>;

/** Encodes the form's photo (faces.encode) and searches the cluster with every face found, in one query. */
export async function searchByPhoto(client: FaceshardClient, form: UploadForm, timeoutMs: number): Promise<PhotoSearchReply> {
  const started = performance.now();
  const photo = form.photo('photo');
  const { k, maxDistance, approximate, effort, minSeq } = form.fields(PhotoSearchForm);
  if (effort !== undefined && !approximate) throw new GatewayError('bad_request', 'invalid form: effort: only with approximate=true');
  const encoded = await encodePhoto(client, photo, 'photo', timeoutMs);
  const encodeMs = performance.now() - started;
  const done = (reply: Omit<PhotoSearchReply, 'backend' | 'encodeMs' | 'tookMs'>): PhotoSearchReply => ({
    ...reply,
    backend: encoded.backend,
    encodeMs: round(encodeMs),
    tookMs: round(performance.now() - started),
  });
  if (encoded.faces.length === 0) return done({ faces: [], shards: { total: 0, answered: 0 }, partial: false, searched: 0 });
  const vectors = new Float32Array(encoded.faces.length * FACE_DIMENSIONS);
  encoded.faces.forEach((face, i) => vectors.set(face.vector, i * FACE_DIMENSIONS));
  const reply = await client.queryBinary(vectors, { k, maxDistance, minSeq, approximate, effort, timeoutMs });
  return done({
    faces: encoded.faces.map((face, i) => ({ box: face.box, score: face.score, matches: reply.results[i], who: whoIsSteps(reply.results[i]) })),
    shards: reply.shards,
    partial: reply.partial,
    ...(reply.missing ? { missing: reply.missing } : {}),
    searched: reply.searched,
  });
}

const round = (ms: number) => Math.round(ms * 10) / 10;
