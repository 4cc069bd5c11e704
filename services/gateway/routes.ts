import type { Registry } from 'prom-client';
import type { FaceshardClient } from '../../libs/nats/client/index.js';
import { apiRoutes } from './api-routes.js';
import { enrollRoutes } from './enroll-routes.js';
import { listingRoutes } from './listing-routes.js';
import { openApiDocument } from './openapi.js';
import { openApiRoute, opsRoutes } from './ops-routes.js';
import type { Route } from './route.js';
import { thumbnailRoutes } from './thumbnail-routes.js';
import type { GatewayThumbnails } from './thumbnails.js';
import { webRoutes } from './web-routes.js';

export interface GatewayRouteDeps {
  /** Connected to the cluster and not draining. */
  ready: () => boolean;
  registry: Registry;
  /** The connected client, or a `not_ready` error. */
  client: () => FaceshardClient;
  timeoutMs: number;
  thumbnails: GatewayThumbnails;
}

/** Every route the gateway serves, and the OpenAPI document of exactly those (its own route included). */
export function gatewayRoutes(deps: GatewayRouteDeps): { routes: Route[]; document: Record<string, unknown> } {
  const routes: Route[] = [
    ...opsRoutes(deps.ready, deps.registry),
    ...apiRoutes(deps.client, deps.timeoutMs),
    ...listingRoutes(deps.client, deps.timeoutMs),
    ...enrollRoutes(deps.client, deps.thumbnails, deps.timeoutMs),
    ...thumbnailRoutes(deps.thumbnails),
    ...webRoutes(),
  ];
  routes.push(openApiRoute(() => document));
  const document = openApiDocument(routes);
  return { routes, document };
}
