import { z } from 'zod';
import { FaceId } from '../../libs/index/vector/index.js';
import type { FaceshardClient } from '../../libs/nats/client/index.js';
import { PersonName } from '../../libs/persons/index.js';
import { describeIssues, EncodedFaceReply, IngestReply } from '../../libs/protocol/index.js';
import { GatewayError } from './http-error.js';
import { encodePhoto } from './photo-encoding.js';
import type { Route } from './route.js';
import type { GatewayThumbnails } from './thumbnails.js';
import type { UploadForm, UploadSpec } from './upload-form.js';

/** A photo's name inside what was uploaded (`1.jpg`, `holiday/1.jpg`): it becomes part of each face's id, so no '#', no `..`, nothing absolute. */
const PhotoName = z
  .string()
  .trim()
  .min(1, 'name must not be empty')
  .max(256, 'name must be at most 256 characters')
  .refine((n) => !n.includes('#'), "name must not contain '#' (it separates a photo's name from its face number)")
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
  .refine((n) => !/[\u0000-\u001f\u007f]/.test(n), 'name must not contain control characters')
  .refine((n) => !n.startsWith('/') && !n.split(/[/\\]/).includes('..'), "name must be a relative path without '..'");

export const EnrollForm = z.strictObject({
  person: PersonName,
  /** The photo's name in its folder or zip; default: the uploaded file's name. */
  name: PhotoName.optional(),
});
export const ENROLL_UPLOAD: UploadSpec = { photos: ['photo'], fields: EnrollForm };

const EnrolledFace = EncodedFaceReply.pick({ box: true, score: true }).extend({ id: z.string() });

export const EnrollReply = z.strictObject({
  person: z.string(),
  name: z.string(),
  /** Every face found, stored as `<person>/<name>#<face>` with meta {person, path, box, score}. */
  faces: z.array(EnrolledFace),
  /** Thumbnails stored (one a face stored, unless GATEWAY_THUMBNAILS is off or storing one failed: the faces are stored either way). */
  thumbnails: z.number().int().min(0),
  ...IngestReply.pick({ accepted: true, rejected: true, seq: true }).shape,
});
export type EnrollReply = z.infer<typeof EnrollReply>;

/** Encodes one photo and stores each face found as the person's; a photo without a face stores nothing and answers 422 no_face. */
async function enrollPhoto(
  client: FaceshardClient,
  thumbnails: GatewayThumbnails,
  form: UploadForm,
  filename: string | undefined,
  timeoutMs: number,
): Promise<EnrollReply> {
  const photo = form.photo('photo');
  const fields = form.fields(EnrollForm);
  const parsedName = PhotoName.safeParse(fields.name ?? filename ?? '');
  if (!parsedName.success)
    throw new GatewayError('bad_request', describeIssues(parsedName.error, fields.name ? 'form' : 'the photo file name (or send a name field)'));
  const { person } = fields;
  const name = parsedName.data;
  const encoded = await encodePhoto(client, photo, 'photo', timeoutMs);
  if (encoded.faces.length === 0) throw new GatewayError('no_face', `no face found in ${JSON.stringify(name)}: nothing enrolled`);
  const faces = encoded.faces.map((face, i) => ({ id: `${person}/${name}#${i}`, vector: face.vector, box: face.box, score: face.score }));
  const tooLong = faces.find((f) => !FaceId.safeParse(f.id).success);
  if (tooLong) throw new GatewayError('bad_request', `the face id ${JSON.stringify(tooLong.id)} is too long: shorten the person or the photo's name`);
  const reply = await client.ingestMany(
    faces.map((f) => ({ id: f.id, vector: f.vector, meta: { person, path: name, box: f.box, score: f.score } })),
    { timeoutMs },
  );
  const rejected = new Set(reply.rejected.map((r) => r.index));
  const stored = await thumbnails.storeFaces(
    photo,
    faces.filter((_, i) => !rejected.has(i)),
  );
  return {
    person,
    name,
    faces: faces.map(({ id, box, score }) => ({ id, box, score })),
    thumbnails: stored,
    accepted: reply.accepted,
    rejected: reply.rejected,
    seq: reply.seq,
  };
}

/**
 * POST /v1/enroll: one photo of a person a request, so a page enrolling a folder or a zip
 * (unpacked in the browser) sends them one by one and shows its progress, and the form stays
 * within the multipart parser's few parts.
 */
export function enrollRoutes(client: () => FaceshardClient, thumbnails: GatewayThumbnails, timeoutMs: number): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/enroll',
      access: 'writer',
      summary:
        "Enroll a person: one photo (multipart/form-data: `photo`, `person`, and `name`, the photo's name, default its file name). Every face found is stored as `<person>/<name>#<face>` with meta {person, path, box, score}, and its thumbnail (GET /v1/faces/{id}/thumbnail) unless the gateway runs with GATEWAY_THUMBNAILS=false; a photo without a face: 422 no_face",
      upload: ENROLL_UPLOAD,
      reply: { status: 200, schema: EnrollReply },
      errors: [400, 413, 415, 422, 503, 504],
      handle: async ({ form }) => ({ json: await enrollPhoto(client(), thumbnails, form!, form!.filename('photo'), timeoutMs) }),
    },
  ];
}
