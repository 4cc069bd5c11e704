import { z } from 'zod';
import type { Registry } from 'prom-client';
import type { Route } from './route.js';

const Health = z.looseObject({ ok: z.boolean() });

/** Health, readiness and metrics on the API's port, without a key (what a load balancer and Prometheus ask). */
export function opsRoutes(ready: () => boolean, registry: Registry): Route[] {
  return [
    {
      method: 'GET',
      path: '/healthz',
      access: 'public',
      summary: 'Liveness: the process answers',
      reply: { status: 200, schema: Health },
      errors: [],
      handle: async () => ({ json: { ok: true } }),
    },
    {
      method: 'GET',
      path: '/readyz',
      access: 'public',
      summary: 'Readiness: connected to the cluster (NATS); 503 while not',
      reply: { status: 200, schema: Health },
      errors: [503],
      handle: async () => ({ status: ready() ? 200 : 503, json: { ok: ready() } }),
    },
    {
      method: 'GET',
      path: '/metrics',
      access: 'public',
      summary: 'Prometheus metrics: requests and their latency by route and status, and the process',
      reply: { status: 200, contentType: 'text/plain', description: 'Prometheus text format' },
      errors: [],
      handle: async () => ({ text: await registry.metrics(), contentType: registry.contentType }),
    },
  ];
}

/** The API's own description, public: it holds no data, and tools read it before they have a key. */
export function openApiRoute(document: () => unknown): Route {
  return {
    method: 'GET',
    path: '/v1/openapi.json',
    access: 'public',
    summary: 'This document: the OpenAPI 3.1 description of every route',
    reply: { status: 200, contentType: 'application/json', description: 'OpenAPI 3.1 document' },
    errors: [],
    handle: async () => ({ json: document() }),
  };
}
