/**
 * NATS JWTs (the decentralized-auth format nats-server reads from `operator:` and its
 * resolver, and clients present from `.creds` files): base64url header and claims,
 * signed with the issuer's nkey (ed25519). Only what faceshard issues: operator,
 * account and user claims, version 2.
 */
import { createHash } from 'node:crypto';
import { nkeys } from 'nats';

export type KeyPair = ReturnType<typeof nkeys.createUser>;

/** Subject allow/deny lists of one direction (publish or subscribe). */
export interface SubjectPermission {
  allow?: string[];
  deny?: string[];
}

export interface UserPermissions {
  pub: SubjectPermission;
  sub: SubjectPermission;
  /** allow_responses: may publish one reply to the reply subject of each request it received. */
  resp?: { max: number; ttl: number };
}

export interface UserClaims {
  type: 'user';
  version: 2;
  pub: SubjectPermission;
  sub: SubjectPermission;
  resp?: { max: number; ttl: number };
  subs: number;
  data: number;
  payload: number;
}

export interface AccountClaims {
  type: 'account';
  version: 2;
  limits: Record<string, number | boolean>;
  revocations?: Record<string, number>;
}

export interface OperatorClaims {
  type: 'operator';
  version: 2;
  system_account?: string;
}

export interface Claims<N> {
  jti: string;
  iat: number;
  iss: string;
  sub: string;
  name: string;
  exp?: number;
  nats: N;
}

const HEADER = base64url(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }));

function base64url(text: string | Uint8Array): string {
  return Buffer.from(text).toString('base64url');
}

/** Signs `claims` with `issuer`; `iss`, `iat` and `jti` are filled in here. */
export function encodeJwt<N>(claims: Omit<Claims<N>, 'jti' | 'iat' | 'iss'>, issuer: KeyPair, now = new Date()): string {
  const body: Omit<Claims<N>, 'jti'> = { ...claims, iat: Math.floor(now.getTime() / 1000), iss: issuer.getPublicKey() };
  // jti: a unique id for the token, the hash of everything else in it.
  const jti = createHash('sha256').update(JSON.stringify(body)).digest('base64url');
  const payload = base64url(JSON.stringify({ jti, ...body }));
  const signature = issuer.sign(new TextEncoder().encode(`${HEADER}.${payload}`));
  return `${HEADER}.${payload}.${base64url(signature)}`;
}

export class JwtFormatError extends Error {
  override name = 'JwtFormatError';
}

/** The claims of a JWT, without checking its signature (the server does that): for messages and inbox prefixes. */
export function decodeJwtClaims(jwt: string): Claims<Record<string, unknown>> {
  const parts = jwt.trim().split('.');
  if (parts.length !== 3) throw new JwtFormatError('not a JWT (expected three dot-separated parts)');
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    throw new JwtFormatError('the JWT claims are not JSON');
  }
  const c = claims as Partial<Claims<Record<string, unknown>>>;
  if (typeof c !== 'object' || c === null || typeof c.sub !== 'string' || typeof c.iss !== 'string' || typeof c.nats !== 'object' || c.nats === null) {
    throw new JwtFormatError('the JWT lacks sub, iss or nats claims');
  }
  return c as Claims<Record<string, unknown>>;
}

/**
 * An account with JetStream on and no limits (one account holds the whole cluster).
 * `revocations`: user public key -> unix seconds; the server refuses that user's JWTs
 * issued at or before then.
 */
export function accountJwt(name: string, account: KeyPair, operator: KeyPair, jetstream: boolean, revocations: Record<string, number> = {}): string {
  const unlimited = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };
  const limits = jetstream ? { ...unlimited, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 } : unlimited;
  const nats: AccountClaims = { type: 'account', version: 2, limits, ...(Object.keys(revocations).length ? { revocations } : {}) };
  return encodeJwt<AccountClaims>({ name, sub: account.getPublicKey(), nats }, operator);
}

export function operatorJwt(name: string, operator: KeyPair, systemAccount: string): string {
  return encodeJwt<OperatorClaims>({ name, sub: operator.getPublicKey(), nats: { type: 'operator', version: 2, system_account: systemAccount } }, operator);
}

/** A user of `account` with these permissions; `expires` (optional) ends its validity. */
export function userJwt(name: string, user: KeyPair, account: KeyPair, permissions: UserPermissions, expires?: Date): string {
  const nats: UserClaims = { type: 'user', version: 2, pub: permissions.pub, sub: permissions.sub, subs: -1, data: -1, payload: -1 };
  if (permissions.resp) nats.resp = permissions.resp;
  return encodeJwt<UserClaims>({ name, sub: user.getPublicKey(), ...(expires ? { exp: Math.floor(expires.getTime() / 1000) } : {}), nats }, account);
}
