import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GatewayError } from './http-error.js';
import type { Route } from './route.js';

/** The page's files: services/gateway/web, copied beside the compiled gateway by `npm run build` (tsc copies no .html, .js or .css of its own). */
export const WEB_DIR = fileURLToPath(new URL('./web/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** The page's files by name, read once (a few KB); none when the directory is missing (then the routes say how to get it). */
function readWebFiles(dir: string): Map<string, { text: string; contentType: string }> {
  const files = new Map<string, { text: string; contentType: string }>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return files;
  }
  for (const name of names) {
    const contentType = CONTENT_TYPES[path.extname(name)];
    if (contentType) files.set(name, { text: readFileSync(path.join(dir, name), 'utf8'), contentType });
  }
  return files;
}

/**
 * The web page (GET /) and its scripts and style (GET /web/{file}), public: they hold no
 * data; the page asks for an API key and sends it with every /v1 call it makes.
 */
export function webRoutes(dir = WEB_DIR): Route[] {
  const files = readWebFiles(dir);
  const serve = (name: string) => {
    const file = files.get(name);
    if (file) return { text: file.text, contentType: file.contentType };
    if (files.size === 0)
      throw new GatewayError('not_found', `the web page's files are not in ${dir}: build with npm run build (it copies services/gateway/web)`);
    throw new GatewayError('not_found', `no file ${JSON.stringify(name)} in the web page`);
  };
  return [
    {
      method: 'GET',
      path: '/',
      access: 'public',
      summary: 'The web page: drop a photo and see who it is, enroll persons, the cluster at a glance',
      reply: { status: 200, contentType: 'text/html', description: 'the page' },
      errors: [404],
      handle: async () => serve('index.html'),
    },
    {
      method: 'GET',
      path: '/web/{file}',
      access: 'public',
      summary: "The web page's scripts and style",
      reply: { status: 200, contentType: 'text/javascript', description: 'a script or the style sheet of the page' },
      errors: [404],
      handle: async ({ params }) => serve(params.file),
    },
  ];
}
