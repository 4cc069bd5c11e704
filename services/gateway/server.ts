import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../libs/observability/logger.js';
import { roleAllows, type ApiKeys } from './api-keys.js';
import { GatewayError } from './http-error.js';
import type { GatewayMetrics } from './metrics.js';
import { multipartBoundary, parseMultipart } from './multipart.js';
import { discardBody, readBody, requireJson } from './read-body.js';
import { matchPath, type Answer, type Route, type RouteContext } from './route.js';
import { UploadForm } from './upload-form.js';

export interface GatewayServerOptions {
  routes: Route[];
  keys: ApiKeys;
  maxBodyBytes: number;
  /** Origins allowed to call from a browser; empty: no CORS headers at all. */
  corsOrigins: string[];
  metrics: GatewayMetrics;
  log: Logger;
}

/** What is read and dropped of a refused request's body before answering (a client still sending an upload would see a broken pipe otherwise). */
const DISCARD_MIN_BYTES = 8 * 1024 * 1024;
const DISCARD_MS = 5000;

const CORS_HEADERS = 'authorization, content-type, x-api-key';

/** The key a request presents: `Authorization: Bearer KEY`, else `X-API-Key: KEY`. */
function presentedKey(req: IncomingMessage): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
  const header = req.headers['x-api-key'];
  return bearer ?? (typeof header === 'string' && header ? header : undefined);
}

/**
 * The gateway's HTTP server: finds the route, checks the key's role before reading a
 * body, reads it within the size limit, runs the handler, and answers every failure as
 * `{ error: { code, message } }` with its status; counts and times every answer by route.
 */
export class GatewayServer {
  private readonly server: http.Server;

  constructor(private readonly options: GatewayServerOptions) {
    this.server = http.createServer((req, res) => void this.serve(req, res));
  }

  async listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops taking connections and waits for the requests in flight (idle keep-alive connections are closed now). */
  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    return closed;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const stopTimer = this.options.metrics.requestSeconds.startTimer();
    let routeLabel = 'unmatched';
    let keyHolder: string | undefined;
    res.once('finish', () => {
      const labels = { route: routeLabel, method: req.method ?? '', status: String(res.statusCode) };
      this.options.metrics.requests.inc(labels);
      const seconds = stopTimer(labels);
      this.options.log.debug('request', { ...labels, ms: Math.round(seconds * 1000), ...(keyHolder ? { key: keyHolder } : {}) });
    });
    try {
      // Split by hand: new URL() would resolve `..` and read `//host/...` as a host.
      const [pathname, search = ''] = (req.url ?? '/').split(/\?(.*)/s);
      const cors = this.corsHeaders(req);
      for (const [name, value] of Object.entries(cors)) res.setHeader(name, value);
      if (req.method === 'OPTIONS' && Object.keys(cors).length) return this.write(res, 204, '', undefined);

      const candidates = this.options.routes.map((route) => ({ route, params: matchPath(route.path, pathname) })).filter((c) => c.params);
      const found = candidates.find((c) => c.route.method === req.method);
      if (!found) {
        if (candidates.length) {
          res.setHeader('allow', candidates.map((c) => c.route.method).join(', '));
          throw new GatewayError('method_not_allowed', `${req.method} is not served on ${pathname}; try ${candidates.map((c) => c.route.method).join(' or ')}`);
        }
        throw new GatewayError('not_found', `no route ${req.method} ${pathname}: the routes are in /v1/openapi.json`);
      }
      const { route } = found;
      routeLabel = route.path;
      keyHolder = this.authorize(req, route);
      const params = Object.fromEntries(Object.entries(found.params!).map(([name, raw]) => [name, decodeParam(name, raw)]));
      this.answer(res, await route.handle({ ...(await this.readInput(req, route)), params, query: new URLSearchParams(search), headers: req.headers }));
    } catch (err) {
      await this.fail(req, res, GatewayError.from(err));
    }
  }

  /** The body a route takes: a multipart form where it takes an upload and one was sent, else JSON where it takes that. */
  private async readInput(req: IncomingMessage, route: Route): Promise<Pick<RouteContext, 'body' | 'form'>> {
    const empty = { body: Buffer.alloc(0) };
    if (!route.body && !route.upload) return empty;
    const boundary = route.upload ? multipartBoundary(req.headers['content-type']) : undefined;
    if (route.upload && boundary !== undefined) {
      return { ...empty, form: new UploadForm(parseMultipart(await readBody(req, this.options.maxBodyBytes), boundary), route.upload) };
    }
    if (!route.body) {
      const type = req.headers['content-type']?.split(';')[0].trim() || 'none';
      throw new GatewayError('unsupported_media_type', `content-type ${type}: send multipart/form-data with the fields ${route.upload!.photos.join(', ')}`);
    }
    requireJson(req, route.upload ? 'application/json, or multipart/form-data with a photo' : 'application/json');
    return { body: await readBody(req, this.options.maxBodyBytes) };
  }

  /** 401 without a known key, 403 with a key whose role is below the route's; else the key's holder (its name, or its role), for logs. */
  private authorize(req: IncomingMessage, route: Route): string | undefined {
    if (route.access === 'public') return undefined;
    const key = presentedKey(req);
    if (key === undefined) throw new GatewayError('unauthorized', 'no API key: send Authorization: Bearer KEY (or X-API-Key: KEY)');
    const holder = this.options.keys.lookup(key);
    if (!holder) throw new GatewayError('unauthorized', 'unknown API key');
    if (!roleAllows(holder.role, route.access)) {
      throw new GatewayError('forbidden', `${route.method} ${route.path} needs a ${route.access} key; this key is a ${holder.role} key`);
    }
    return holder.name ?? holder.role;
  }

  private corsHeaders(req: IncomingMessage): Record<string, string> {
    const origin = req.headers.origin;
    if (!origin || !this.options.corsOrigins.includes(origin)) return {};
    return {
      'access-control-allow-origin': origin,
      vary: 'origin',
      'access-control-allow-methods': 'GET, POST, DELETE',
      'access-control-allow-headers': CORS_HEADERS,
      'access-control-max-age': '600',
    };
  }

  private answer(res: ServerResponse, answer: Answer): void {
    if ('json' in answer) this.write(res, answer.status ?? 200, JSON.stringify(answer.json), 'application/json');
    else if ('text' in answer) this.write(res, answer.status ?? 200, answer.text, answer.contentType);
    else {
      for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
      this.write(res, answer.status ?? 200, answer.bytes, answer.contentType);
    }
  }

  private async fail(req: IncomingMessage, res: ServerResponse, error: GatewayError): Promise<void> {
    if (error.code === 'internal') this.options.log.error('request failed', { method: req.method, url: req.url, err: error });
    if (error.retryAfterMs !== undefined) res.setHeader('retry-after', String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))));
    // A body left unread (refused before or while reading it) is read and dropped, within bounds, before the answer; the connection is not reused.
    if (!req.complete) {
      res.setHeader('connection', 'close');
      await discardBody(req, Math.max(this.options.maxBodyBytes, DISCARD_MIN_BYTES), DISCARD_MS);
    }
    this.write(res, error.status, JSON.stringify(error.toReply()), 'application/json');
  }

  private write(res: ServerResponse, status: number, body: string | Uint8Array, contentType: string | undefined): void {
    if (res.headersSent) return void res.end();
    if (contentType) res.setHeader('content-type', contentType);
    res.writeHead(status);
    res.end(body);
  }
}

function decodeParam(name: string, raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new GatewayError('bad_request', `path parameter ${name}: not valid URL encoding`);
  }
}
