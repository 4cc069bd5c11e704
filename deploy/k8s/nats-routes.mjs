#!/usr/bin/env node
// Writes the route (cluster) authorization of the NATS StatefulSet: the file that the
// Secret faceshard-nats-routes holds (key routes.conf) and nats.conf includes inside its
// cluster {} block. It holds the route user and a random password, and the route URL of
// every pod WITH those credentials (a server presents the credentials of the URL it
// dials; nats-server 2.9 does not fall back to the cluster's own authorization), so the
// password lives in a Secret, never in a ConfigMap or on a command line.
//
//   node deploy/k8s/nats-routes.mjs --out creds/routes.conf [--replicas 3] [--rotate]
//   kubectl -n "$NS" create secret generic faceshard-nats-routes --from-file=routes.conf=creds/routes.conf
//
// An existing file keeps its user and password (only the route list is rewritten, e.g.
// for another replica count); --rotate makes a new password (see README.md "Deploy on Kubernetes").
// Options: --statefulset NAME (faceshard-nats), --service NAME (faceshard-nats-headless),
// --port N (6222): the names in deploy/k8s/base/nats.
// No dependencies, so it runs with any Node >= 18.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROUTE_USER = 'route';

/** The route URLs of a StatefulSet's pods under its headless Service, with credentials. */
export function routeUrls({ replicas, statefulSet = 'faceshard-nats', service = 'faceshard-nats-headless', port = 6222, user = ROUTE_USER, password }) {
  return Array.from({ length: replicas }, (_, i) => `nats://${user}:${password}@${statefulSet}-${i}.${service}:${port}`);
}

/** The text of routes.conf: the cluster's authorization and its routes (inside cluster {}). */
export function renderRoutesConf({ password, urls, user = ROUTE_USER }) {
  if (!/^[A-Za-z0-9_-]{16,}$/.test(password)) throw new Error('the route password must be at least 16 URL-safe characters');
  return [
    '# NATS route (cluster) authorization, included inside cluster {} of nats.conf.',
    '# Written by deploy/k8s/nats-routes.mjs; keep it in the Secret faceshard-nats-routes only.',
    '# Every server accepts routes presenting this user/password and dials its peers with it.',
    `authorization { user: ${user}, password: "${password}", timeout: 2 }`,
    'routes: [',
    ...urls.map((u) => `  ${u}`),
    ']',
    '',
  ].join('\n');
}

/** The password of an existing routes.conf, or undefined. */
export function passwordOf(text) {
  return /password:\s*"([^"]+)"/.exec(text)?.[1];
}

export function newPassword() {
  return randomBytes(32).toString('hex');
}

function option(argv, name, fallback) {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const value = argv[i + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`${name} needs a value`);
  return value;
}

function main(argv) {
  const out = option(argv, '--out');
  if (!out) {
    console.error(
      'usage: node deploy/k8s/nats-routes.mjs --out FILE [--replicas 3] [--rotate] [--statefulset faceshard-nats] [--service faceshard-nats-headless] [--port 6222]',
    );
    return 2;
  }
  const replicas = Number(option(argv, '--replicas', '3'));
  if (!Number.isInteger(replicas) || replicas < 2) throw new Error('--replicas: a NATS cluster has 2 or more servers (one server needs no routes)');
  const existing = existsSync(out) ? passwordOf(readFileSync(out, 'utf8')) : undefined;
  const rotate = argv.includes('--rotate');
  const password = !rotate && existing ? existing : newPassword();
  const urls = routeUrls({
    replicas,
    password,
    statefulSet: option(argv, '--statefulset', 'faceshard-nats'),
    service: option(argv, '--service', 'faceshard-nats-headless'),
    port: Number(option(argv, '--port', '6222')),
  });
  writeFileSync(out, renderRoutesConf({ password, urls }), { mode: 0o600 });
  chmodSync(out, 0o600);
  console.log(`wrote ${out}: ${replicas} routes, ${existing && !rotate ? 'the same password as before' : 'a new password'}`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    console.error(`nats-routes: ${err.message}`);
    process.exitCode = 2;
  }
}
