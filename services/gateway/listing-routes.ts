import { z } from 'zod';
import type { FaceshardClient } from '../../libs/nats/client/index.js';
import {
  DeleteWhereReply,
  DeleteWhereRequest,
  describeIssues,
  ListFacesReply,
  ListFacesRequest,
  MAX_LIST_LIMIT,
  MAX_PERSONS_LIMIT,
  PersonsReply,
  PersonsRequest,
} from '../../libs/protocol/index.js';
import { GatewayError } from './http-error.js';
import type { Route } from './route.js';

/** A delete by filter pages through every matching face: it may take far longer than one request. */
const DELETE_WHERE_TIMEOUT_MS = 120_000;

/**
 * The URL's query parameters as an object for `schema`: each named one at most once,
 * `limit` a whole number; a parameter the route does not take is refused (a typo would
 * otherwise list or delete more than meant).
 */
function queryParams<T extends z.ZodType>(query: URLSearchParams, schema: T, names: readonly string[], what: string): z.infer<T> {
  const raw: Record<string, string | number> = {};
  for (const name of new Set(query.keys())) {
    if (!names.includes(name)) throw new GatewayError('bad_request', `${what}: unknown query parameter ${JSON.stringify(name)} (takes ${names.join(', ')})`);
    const values = query.getAll(name);
    if (values.length > 1) throw new GatewayError('bad_request', `${what}: query parameter ${name} given ${values.length} times`);
    raw[name] = values[0];
  }
  if (raw.limit !== undefined) {
    if (!/^\d{1,9}$/.test(String(raw.limit))) throw new GatewayError('bad_request', `${what}: limit must be a whole number, got ${JSON.stringify(raw.limit)}`);
    raw.limit = Number(raw.limit);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new GatewayError('bad_request', describeIssues(parsed.error, `${what} query`));
  return parsed.data;
}

/** GET /v1/faces, GET /v1/persons, DELETE /v1/faces: what is stored, page by page, and deleting by id prefix or person. */
export function listingRoutes(client: () => FaceshardClient, timeoutMs: number): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/faces',
      access: 'reader',
      summary: `Stored faces sorted by id, a page at a time: query parameters prefix (ids starting with it), person, after (the previous page's \`next\`), limit (1..${MAX_LIST_LIMIT}, default 100). \`partial\`: a shard did not answer`,
      reply: { status: 200, schema: ListFacesReply },
      errors: [400, 503, 504],
      handle: async ({ query }) => {
        const request = queryParams(query, ListFacesRequest, ['prefix', 'person', 'after', 'limit'], 'list');
        return { json: await client().list(request, timeoutMs) };
      },
    },
    {
      method: 'GET',
      path: '/v1/persons',
      access: 'reader',
      summary: `Persons sorted by name with their face counts, and the faces without a person (\`unnamed\`): query parameters after, limit (1..${MAX_PERSONS_LIMIT}, default 1000)`,
      reply: { status: 200, schema: PersonsReply },
      errors: [400, 503, 504],
      handle: async ({ query }) => {
        const request = queryParams(query, PersonsRequest, ['after', 'limit'], 'persons');
        return { json: await client().persons(request, timeoutMs) };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/faces',
      access: 'writer',
      summary:
        'Delete every face whose id starts with `prefix` (a photo `a.jpg#`, a folder `people/ada/`, a dataset `lfw/`) and/or whose person is `person` (query parameters; one is required, an empty one is refused). `partial`: a shard did not answer, ask again',
      reply: { status: 200, schema: DeleteWhereReply },
      errors: [400, 503, 504],
      handle: async ({ query }) => {
        const filter = queryParams(query, DeleteWhereRequest, ['prefix', 'person'], 'delete');
        return { json: await client().deleteWhere(filter, Math.max(timeoutMs, DELETE_WHERE_TIMEOUT_MS)) };
      },
    },
  ];
}
