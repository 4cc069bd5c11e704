import type { IncomingHttpHeaders } from 'node:http';
import type { z } from 'zod';
import type { ApiRole } from './api-keys.js';
import type { UploadForm, UploadSpec } from './upload-form.js';

/** What a route handler answers: JSON (the default), text of a given type, or bytes of a given type with headers of their own (caching). */
export type Answer =
  | { status?: number; json: unknown }
  | { status?: number; text: string; contentType: string }
  | { status?: number; bytes: Uint8Array; contentType: string; headers?: Record<string, string> };

export interface RouteContext {
  /** The request body (routes with `body` only; empty otherwise). */
  body: Buffer;
  /** Path parameters by name, URL-decoded. */
  params: Record<string, string>;
  /** The URL's query parameters. */
  query: URLSearchParams;
  /** The request's headers (lower-case names), for conditional requests. */
  headers: IncomingHttpHeaders;
  /** The multipart form, when the route takes an upload and the request sent one (then `body` is empty). */
  form?: UploadForm;
}

/**
 * One thing the gateway serves: what the server dispatches on and what the OpenAPI
 * document describes, from the same object so that the two cannot drift apart.
 */
export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  /** Template with `{name}` parameters, each one whole path segment, e.g. `/v1/faces/{id}`. */
  path: string;
  /** The least role a key needs; `public`: no key (health, metrics, the API's own description). */
  access: ApiRole | 'public';
  summary: string;
  /** The JSON body's schema (its presence makes the server read a body), as documentation. */
  body?: z.ZodType;
  /** A multipart/form-data upload the route takes (instead of, or besides, a JSON body): its photo fields and text fields. */
  upload?: UploadSpec;
  /** The success answer: a schema (JSON) or a media type and what it is. */
  reply: { status: number; schema: z.ZodType } | { status: number; contentType: string; description: string };
  /** Error statuses this route answers besides the ones every route may (documentation). */
  errors: number[];
  handle(ctx: RouteContext): Promise<Answer>;
}

/** A route's path split into segments, `{name}` segments as parameters. */
export function matchPath(template: string, pathname: string): Record<string, string> | undefined {
  const want = template.split('/');
  const got = pathname.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const name = /^\{(\w+)\}$/.exec(want[i])?.[1];
    if (name) {
      if (got[i] === '') return undefined;
      params[name] = got[i];
    } else if (want[i] !== got[i]) return undefined;
  }
  return params;
}
