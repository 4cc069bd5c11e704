import { z } from 'zod';
import type { FaceshardClient } from '../../libs/nats/client/index.js';
import { FaceId } from '../../libs/index/vector/index.js';
import {
  DeleteReply,
  describeIssues,
  IngestFace,
  IngestReply,
  MAX_INGEST_FACES,
  parseIngestRequest,
  parseQueryJson,
  QueryReply,
  QueryRequest,
  type RejectedFace,
} from '../../libs/protocol/index.js';
import { GatewayError } from './http-error.js';
import { VERIFY_UPLOAD, VerifyReply, verifyPhotos } from './verify.js';
import { PHOTO_SEARCH_UPLOAD, PhotoSearchReply, searchByPhoto } from './photo-search.js';
import type { Route } from './route.js';

/** The body of POST /v1/faces as documented: IngestFace is what each face is checked with (one bad face is rejected, not the request). */
const IngestBody = z.strictObject({ faces: z.array(IngestFace).min(1).max(MAX_INGEST_FACES) });

/** ClusterStatus (libs/nats/client/status.ts) in outline, for the document. */
const StatusReply = z.object({
  shards: z.array(z.looseObject({ index: z.number().int(), replicas: z.array(z.looseObject({ count: z.number().int(), ready: z.boolean() })) })),
  coordinators: z.array(z.looseObject({})),
  encoders: z.array(z.looseObject({})),
  nats: z.looseObject({}),
});

/**
 * The cluster's routes under /v1: each checks its input with the NATS protocol's own
 * parsers (the same limits and messages as a NATS client gets) and asks the cluster
 * through the gateway's FaceshardClient.
 */
export function apiRoutes(client: () => FaceshardClient, timeoutMs: number): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/status',
      access: 'reader',
      summary: 'The cluster: shards and their replicas (faces, readiness), coordinators, encoders, NATS',
      reply: { status: 200, schema: StatusReply },
      errors: [],
      handle: async () => ({ json: await client().status() }),
    },
    {
      method: 'POST',
      path: '/v1/search',
      access: 'reader',
      summary:
        'The k nearest stored faces of each query vector (JSON), or of every face found in a photo (multipart/form-data: `photo`, and k, maxDistance, approximate, effort as fields). Exact, or approximate with an effort. A photo without a face answers 200 with `faces: []`',
      body: QueryRequest,
      upload: PHOTO_SEARCH_UPLOAD,
      reply: { status: 200, schema: z.union([QueryReply, PhotoSearchReply]) },
      errors: [400, 413, 415, 503, 504],
      handle: async ({ body, form }) => {
        if (form) return { json: await searchByPhoto(client(), form, timeoutMs) };
        const query = parseQueryJson(body);
        const { k, maxDistance, minSeq, approximate, effort } = query;
        return { json: await client().queryBinary(query.vectors, { k, maxDistance, minSeq, approximate, effort, timeoutMs }) };
      },
    },
    {
      method: 'POST',
      path: '/v1/faces',
      access: 'writer',
      summary: 'Store faces (id, 128-number vector, meta); an id stored again replaces its face. Bad faces come back in `rejected`',
      body: IngestBody,
      reply: { status: 200, schema: IngestReply },
      errors: [400, 413, 415, 503, 504],
      handle: async ({ body }) => {
        const { faces, rejected } = parseIngestRequest(body);
        if (faces.length === 0) return { json: { accepted: 0, rejected, seq: {} } };
        const reply = await client().ingestMany(faces, { timeoutMs });
        // The cluster's rejections count within the valid faces: back to indexes of the request.
        const all: RejectedFace[] = [...rejected, ...reply.rejected.map((r) => ({ ...r, index: faces[r.index].index }))];
        return { json: { ...reply, rejected: all.sort((a, b) => a.index - b.index) } };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/faces/{id}',
      access: 'writer',
      summary: 'Delete one face by id (URL-encoded: `people%2Fada.jpg%230`)',
      reply: { status: 200, schema: DeleteReply },
      errors: [400, 404, 503, 504],
      handle: async ({ params }) => {
        const id = FaceId.safeParse(params.id);
        if (!id.success) throw new GatewayError('bad_request', describeIssues(id.error, 'face id'));
        const reply = await client().delete([id.data], timeoutMs);
        if (reply.notFound?.includes(id.data)) throw new GatewayError('not_found', `no face with id ${JSON.stringify(id.data)}`);
        return { json: reply };
      },
    },
    {
      method: 'POST',
      path: '/v1/verify',
      access: 'reader',
      summary:
        'Same person? Two photos (multipart/form-data: `a`, `b`): the distance between their best faces and `samePerson` at `threshold` (form field or query parameter, 0..2, default 0.6). A photo without a face: 422 no_face',
      upload: VERIFY_UPLOAD,
      reply: { status: 200, schema: VerifyReply },
      errors: [400, 413, 415, 422, 503, 504],
      handle: async ({ form, query }) => ({ json: await verifyPhotos(client(), form!, query, timeoutMs) }),
    },
  ];
}
