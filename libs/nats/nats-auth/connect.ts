/**
 * Connecting as an identity: a `.creds` file (NATS decentralized auth), its inbox prefix,
 * TLS files; and errors that say what to do instead of NATS's bare codes.
 */
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, type ConnectionOptions, type NatsConnection } from 'nats';
import { parseCreds } from './creds-file.js';
import { probeNatsGreeting } from './greeting-probe.js';
import { decodeJwtClaims } from './jwt.js';

/** Where a process finds its credentials and TLS files (flags or env: NATS_CREDS, NATS_TLS_CA/CERT/KEY). */
export interface NatsSecurity {
  creds?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

export class NatsAccessError extends Error {
  override name = 'NatsAccessError';
  constructor(
    readonly code: 'credentials' | 'auth_required' | 'auth_refused' | 'auth_expired' | 'unreachable' | 'tls',
    message: string,
  ) {
    super(message);
  }
}

const identities = new WeakMap<NatsConnection, string>();

/** The identity (creds name) a connection made by connectAs authenticated as, if any. */
export function identityOf(nc: NatsConnection): string | undefined {
  return identities.get(nc);
}

export function securityFromEnv(env: NodeJS.ProcessEnv = process.env): NatsSecurity {
  const pick = (name: string) => (env[name] ? env[name] : undefined);
  return { creds: pick('NATS_CREDS'), tlsCa: pick('NATS_TLS_CA'), tlsCert: pick('NATS_TLS_CERT'), tlsKey: pick('NATS_TLS_KEY') };
}

function readFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
    throw new NatsAccessError(what === 'credentials' ? 'credentials' : 'tls', `cannot read the ${what} file ${file}: ${why}`);
  }
}

/** nats.js options for `security`, and the identity's name; checks the files before any connection is tried. */
export function securityOptions(security: NatsSecurity, now = Date.now()): { options: Partial<ConnectionOptions>; identity?: string } {
  const options: Partial<ConnectionOptions> = {};
  let identity: string | undefined;
  if (security.creds) {
    const text = readFile(security.creds, 'credentials');
    let claims;
    try {
      claims = decodeJwtClaims(parseCreds(text, security.creds).jwt);
    } catch (err) {
      throw new NatsAccessError(
        'credentials',
        (err as Error).message.startsWith(security.creds) ? (err as Error).message : `${security.creds}: ${(err as Error).message}`,
      );
    }
    identity = claims.name;
    if (claims.exp !== undefined && claims.exp * 1000 <= now) {
      throw new NatsAccessError(
        'auth_expired',
        `the credentials in ${security.creds} (${identity}) expired at ${new Date(claims.exp * 1000).toISOString()}; issue new ones (faceshard credentials)`,
      );
    }
    options.authenticator = credsAuthenticator(new TextEncoder().encode(text));
    // The identity may read only its own inbox subjects: its JWT says which.
    const allowed = ((claims.nats as { sub?: { allow?: string[] } }).sub?.allow ?? []).map((s) => /^(_INBOX_[^.\s*>]+)\.>$/.exec(s)?.[1]).find(Boolean);
    if (allowed) options.inboxPrefix = allowed;
  }
  if (security.tlsCert || security.tlsKey || security.tlsCa) {
    if (Boolean(security.tlsCert) !== Boolean(security.tlsKey))
      throw new NatsAccessError(
        'tls',
        'a TLS client certificate needs both its certificate (--tls-cert / NATS_TLS_CERT) and its key (--tls-key / NATS_TLS_KEY)',
      );
    for (const [file, what] of [
      [security.tlsCa, 'TLS CA'],
      [security.tlsCert, 'TLS certificate'],
      [security.tlsKey, 'TLS key'],
    ] as const)
      if (file) readFile(file, what);
    options.tls = {
      ...(security.tlsCa ? { caFile: security.tlsCa } : {}),
      ...(security.tlsCert ? { certFile: security.tlsCert, keyFile: security.tlsKey } : {}),
    };
  }
  return { options, identity };
}

/** Which flag most likely fixes a failed TLS handshake. */
function tlsHint(message: string, security: NatsSecurity): string {
  if (/verify|self.signed|issuer|certificate chain|leaf signature/i.test(message)) {
    return "pass --tls-ca FILE (or NATS_TLS_CA): the CA that signed the server's certificate";
  }
  if (!security.tlsCert) return 'the server may require a client certificate: pass --tls-cert FILE and --tls-key FILE (or NATS_TLS_CERT / NATS_TLS_KEY)';
  return "check --tls-ca, --tls-cert and --tls-key (or NATS_TLS_*) against the server's TLS settings";
}

/** What went wrong connecting to `url`, said so a person knows what to change. */
export function describeConnectError(err: unknown, url: string, security: NatsSecurity, identity?: string): Error {
  if (err instanceof NatsAccessError) return err;
  const code = (err as { code?: string }).code;
  const message = (err as Error).message ?? String(err);
  if (code === 'AUTHORIZATION_VIOLATION') {
    return security.creds
      ? new NatsAccessError(
          'auth_refused',
          `NATS at ${url} refused the credentials in ${security.creds} (${identity ?? 'unknown identity'}): they were not issued for this cluster's account`,
        )
      : new NatsAccessError(
          'auth_required',
          `NATS at ${url} requires credentials: pass --creds FILE or set NATS_CREDS (faceshard up writes them under <data-dir>/credentials/)`,
        );
  }
  if (code === 'AUTHENTICATION_EXPIRED')
    return new NatsAccessError(
      'auth_expired',
      `NATS at ${url}: the credentials in ${security.creds} (${identity}) have expired; issue new ones (faceshard credentials)`,
    );
  if (code === 'CONNECTION_REFUSED')
    return new NatsAccessError(
      'unreachable',
      `nothing accepts connections at ${url} (connection refused): is the cluster up? Start one with faceshard up, or name the right one with --nats URL`,
    );
  if (code === 'ERR_INVALID_URL')
    return new NatsAccessError('unreachable', `"${url}" is not a NATS URL (expected e.g. nats://127.0.0.1:4222): check --nats / NATS_URL`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return new NatsAccessError('unreachable', `cannot resolve the host of ${url} (${code}): check --nats / NATS_URL`);
  // A server that verifies client certificates just drops a client without one (ECONNRESET).
  const droppedDuringTls = (security.tlsCa !== undefined || security.tlsCert !== undefined) && /ECONNRESET|socket hang up/.test(`${code} ${message}`);
  if (droppedDuringTls || /tls|certificate|ssl|handshake/i.test(message) || /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code ?? ''))
    return new NatsAccessError('tls', `TLS with NATS at ${url} failed: ${message}; ${tlsHint(message, security)}`);
  return err instanceof Error ? err : new Error(message);
}

/** nats.js's own default, when a caller sets none. */
const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;
const GREETING_PROBE_MS = 1500;

/** A connect that timed out: nothing answering at all, or a server that is not NATS. */
async function describeTimeout(url: string, timeoutMs: number): Promise<NatsAccessError> {
  const first = url.split(',')[0].trim();
  const seconds = `${(timeoutMs / 1000).toFixed(timeoutMs % 1000 ? 1 : 0)} s`;
  const probe = await probeNatsGreeting(first, GREETING_PROBE_MS);
  if (probe === 'not_nats') {
    return new NatsAccessError(
      'unreachable',
      `${first} is not a NATS server: something accepts connections there but never greeted like NATS (timed out after ${seconds}); is it an HTTP or monitoring port? faceshard up prints the NATS URL`,
    );
  }
  if (probe === 'nats')
    return new NatsAccessError(
      'unreachable',
      `NATS at ${first} did not complete the connection within ${seconds} (the server greets, then stalls: overloaded, or a TLS mismatch?)`,
    );
  return new NatsAccessError(
    'unreachable',
    `no answer from ${url} within ${seconds} (timed out): is the host reachable and the cluster up? (faceshard up; --nats URL)`,
  );
}

/** `connect` as the identity of `security`, with faceshard's error messages. */
export async function connectAs(options: ConnectionOptions, security: NatsSecurity): Promise<NatsConnection> {
  const { options: auth, identity } = securityOptions(security);
  const servers = options.servers ?? '';
  const url = Array.isArray(servers) ? servers.join(',') : servers;
  let nc: NatsConnection;
  try {
    nc = await connect({ ...options, ...auth });
  } catch (err) {
    if ((err as { code?: string }).code === 'TIMEOUT') throw await describeTimeout(url, options.timeout ?? DEFAULT_CONNECT_TIMEOUT_MS);
    throw describeConnectError(err, url, security, identity);
  }
  if (identity) identities.set(nc, identity);
  return nc;
}
