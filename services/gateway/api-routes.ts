import { z } from 'zod';
import type { FaceshardClient } from '../../libs/nats/client/index.js';
import {
  DeleteReply,
  IngestFace,
  IngestReply,
  MAX_INGEST_FACES,
  parseIngestRequest,
  parseQueryJson,
  QueryReply,
  QueryRequest,
  StoredFace,
  type RejectedFace,
} from '../../libs/protocol/index.js';
import { faceIdParam } from './face-id-param.js';
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

const noSuchFace = (id: string) => new GatewayError('not_found', `no face with id ${JSON.stringify(id)}`);

/** The stored face `id` (faces.get), or not_found; no_shards when its shard did not answer (it may be stored). */
async function storedFace(client: FaceshardClient, id: string, timeoutMs: number): Promise<StoredFace> {
  const reply = await client.get([id], timeoutMs);
  if (reply.unchecked?.includes(id)) throw new GatewayError('no_shards', `the shard that holds ${JSON.stringify(id)} did not answer; try again shortly`);
  const face = reply.faces.find((f) => f.id === id);
  if (!face) throw noSuchFace(id);
  return face;
}

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
        'The k nearest stored faces of each query vector (JSON), or of every face found in a photo (multipart/form-data: `photo`, and k, maxDistance, approximate, effort, minSeq as fields), each face with `who`: who it is at every threshold. Exact, or approximate with an effort. A photo without a face answers 200 with `faces: []`',
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
      method: 'GET',
      path: '/v1/faces/{id}',
      access: 'reader',
      summary: 'One stored face by id (URL-encoded): its id, shard and meta; 404 when no face has that id',
      reply: { status: 200, schema: StoredFace },
      errors: [400, 404, 503, 504],
      handle: async ({ params }) => ({ json: await storedFace(client(), faceIdParam(params.id), timeoutMs) }),
    },
    {
      method: 'DELETE',
      path: '/v1/faces/{id}',
      access: 'writer',
      summary: 'Delete one face by id (URL-encoded: `people%2Fada.jpg%230`)',
      reply: { status: 200, schema: DeleteReply },
      errors: [400, 404, 503, 504],
      handle: async ({ params }) => {
        const id = faceIdParam(params.id);
        const reply = await client().delete([id], timeoutMs);
        if (reply.notFound?.includes(id)) throw noSuchFace(id);
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
