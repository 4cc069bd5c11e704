import { z } from 'zod';
import { SERVICE_VERSION } from '../../libs/config/service-version.js';
import { ErrorReply } from '../../libs/protocol/index.js';
import { httpStatusOf } from './http-error.js';
import type { Route } from './route.js';

/** Statuses any keyed route may answer: no or a wrong key, a key without the role, the cluster away. */
const KEYED_ERRORS = [401, 403, 500, 502, 503];

/** A zod schema as the JSON Schema (2020-12, OpenAPI 3.1's dialect) of what a client sends (`input`) or receives. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

function codesOf(status: number): string {
  const codes = Object.entries(httpStatusOf)
    .filter(([, s]) => s === status)
    .map(([code]) => code);
  return codes.length ? `error codes: ${codes.join(', ')}` : 'error';
}

/** A route's request bodies by media type: its JSON body, its multipart upload (photos as binary strings, text fields as their schema says). */
function requestContent(route: Route): Record<string, { schema: Record<string, unknown> }> {
  const content: Record<string, { schema: Record<string, unknown> }> = {};
  if (route.body) content['application/json'] = { schema: jsonSchema(route.body, 'input') };
  if (route.upload) {
    const fields = jsonSchema(route.upload.fields, 'input') as { properties?: Record<string, unknown> };
    const photos = Object.fromEntries(
      route.upload.photos.map((name) => [name, { type: 'string', contentMediaType: 'image/*', description: 'a JPEG, PNG or WebP file' }]),
    );
    content['multipart/form-data'] = {
      schema: { type: 'object', properties: { ...photos, ...fields.properties }, required: route.upload.photos, additionalProperties: false },
    };
  }
  return content;
}

/** The OpenAPI 3.1 document of `routes`, their bodies and answers from the zod schemas they are checked with. */
export function openApiDocument(routes: Route[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const errorStatuses = [...new Set([...route.errors, ...(route.access === 'public' ? [] : KEYED_ERRORS)])].sort((a, b) => a - b);
    const responses: Record<string, unknown> = {
      [route.reply.status]:
        'schema' in route.reply
          ? { description: 'OK', content: { 'application/json': { schema: jsonSchema(route.reply.schema, 'output') } } }
          : { description: route.reply.description, content: { [route.reply.contentType]: {} } },
    };
    for (const status of errorStatuses) {
      responses[status] = { description: codesOf(status), content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    }
    const params = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
    paths[route.path] ??= {};
    paths[route.path][route.method.toLowerCase()] = {
      summary: route.summary,
      ...(route.access === 'public' ? { security: [] } : { 'x-faceshard-role': route.access }),
      ...(params.length ? { parameters: params } : {}),
      ...(route.body || route.upload ? { requestBody: { required: true, content: requestContent(route) } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'faceshard gateway',
      version: SERVICE_VERSION,
      description:
        'REST access to a faceshard cluster. Send an API key as `Authorization: Bearer KEY` (or `X-API-Key: KEY`); its role (reader, writer, admin) decides the routes it may use (`x-faceshard-role`: the least role a route needs). Errors are `{ error: { code, message } }` with the codes of the NATS protocol.',
    },
    security: [{ bearer: [] }, { apiKey: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' } },
      schemas: { Error: jsonSchema(ErrorReply, 'output') },
    },
  };
}
