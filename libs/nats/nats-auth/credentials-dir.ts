/**
 * A cluster's credentials on disk (what `faceshard up` keeps under
 * `<data-dir>/credentials/` and `faceshard credentials --out DIR` writes):
 *
 *   signing/operator.nk, signing/account.nk, signing/system.nk   nkey seeds (0600): the root of trust
 *   signing/revocations.json  user keys the account no longer accepts (rotated identities)
 *   nats-auth.conf            the server's side: operator JWT, system account, resolver with the account JWTs
 *   <identity>.creds          one per identity (admin, writer, reader, coordinator, encoder, gateway, shard-<i>...), 0600
 *
 * Keys are made once and reused; a creds file is reused as long as it was issued by this
 * account with the permissions its identity has now (else it is re-signed for the same key).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { nkeys } from 'nats';
import type { Subjects } from '../../protocol/index.js';
import { formatCreds, parseCreds } from './creds-file.js';
import { accountJwt, decodeJwtClaims, operatorJwt, userJwt, type KeyPair } from './jwt.js';
import { identityName, permissionsFor, type Identity } from './roles.js';

export const SERVER_AUTH_FILE = 'nats-auth.conf';
const SIGNING_DIR = 'signing';

export interface CredentialsDir {
  dir: string;
  /** The public key of the account every identity belongs to (JetStream keeps its streams under it). */
  account: string;
  /** nats-server config fragment (include it, or pass it as the server's config file). */
  serverConfigFile: string;
  /** The creds file of an identity (`<dir>/<name>.creds`), issued now if missing or stale. */
  credsFile(identity: Identity): string;
  /** Signs fresh creds for `identity` (a new user key) into `file`, valid until `expires` when given. */
  issueCreds(identity: Identity, file: string, expires?: Date): string;
  /**
   * Rotation: a new key for the identity's creds file, the old key revoked in the account
   * (nats-auth.conf rewritten: the servers must reload it). Returns the revoked public key.
   */
  rotate(identity: Identity): string | undefined;
}

const decoder = new TextDecoder();

function writePrivate(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600); // an existing file keeps its mode on write
}

/** The seed stored under signing/<name>.nk, made on first use. */
function signingKey(dir: string, name: string, create: () => KeyPair): KeyPair {
  const file = path.join(dir, SIGNING_DIR, `${name}.nk`);
  if (existsSync(file)) {
    const seed = readFileSync(file, 'utf8').trim();
    try {
      return nkeys.fromSeed(new TextEncoder().encode(seed));
    } catch (err) {
      throw new Error(
        `${file} does not hold an nkey seed (${(err as Error).message}); restore it from a backup or remove ${dir} to make a new cluster identity`,
      );
    }
  }
  const key = create();
  writePrivate(file, decoder.decode(key.getSeed()) + '\n');
  return key;
}

/** Opens (creating on first use) the credentials of the cluster whose names `subjects` gives. */
export function openCredentialsDir(dir: string, subjects: Subjects): CredentialsDir {
  mkdirSync(path.join(dir, SIGNING_DIR), { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  chmodSync(path.join(dir, SIGNING_DIR), 0o700);
  const operator = signingKey(dir, 'operator', nkeys.createOperator);
  const account = signingKey(dir, 'account', nkeys.createAccount);
  const system = signingKey(dir, 'system', nkeys.createAccount);

  const serverConfigFile = path.join(dir, SERVER_AUTH_FILE);
  const revocationsFile = path.join(dir, SIGNING_DIR, 'revocations.json');
  const revocations = (): Record<string, number> =>
    existsSync(revocationsFile) ? (JSON.parse(readFileSync(revocationsFile, 'utf8')) as Record<string, number>) : {};
  // nats-server refuses to reload a config whose operator JWT changed, even re-signed
  // with the same claims: keep the one already written while it names the same keys.
  const operatorToken = (): string => {
    const written = existsSync(serverConfigFile) ? /^operator: "([^"]+)"$/m.exec(readFileSync(serverConfigFile, 'utf8'))?.[1] : undefined;
    if (written) {
      try {
        const claims = decodeJwtClaims(written);
        const nats = claims.nats as { system_account?: string };
        if (claims.sub === operator.getPublicKey() && claims.iss === operator.getPublicKey() && nats.system_account === system.getPublicKey()) return written;
      } catch {
        // unreadable: sign a new one
      }
    }
    return operatorJwt('faceshard', operator, system.getPublicKey());
  };
  const writeServerConfig = () => {
    const lines = [
      '# faceshard cluster authorization (written by faceshard; public keys and signed JWTs only).',
      `operator: "${operatorToken()}"`,
      `system_account: ${system.getPublicKey()}`,
      'resolver: MEMORY',
      'resolver_preload: {',
      `  ${account.getPublicKey()}: "${accountJwt('FACESHARD', account, operator, true, revocations())}"`,
      `  ${system.getPublicKey()}: "${accountJwt('SYS', system, operator, false)}"`,
      '}',
      '',
    ];
    writePrivate(serverConfigFile, lines.join('\n'));
  };
  writeServerConfig();

  return {
    dir,
    account: account.getPublicKey(),
    serverConfigFile,
    issueCreds(identity, file, expires) {
      const user = nkeys.createUser();
      writePrivate(
        file,
        formatCreds(userJwt(identityName(identity), user, account, permissionsFor(identity, subjects), expires), decoder.decode(user.getSeed())),
      );
      return file;
    },
    rotate(identity) {
      const file = path.join(dir, `${identityName(identity)}.creds`);
      const old = existsSync(file) ? decodeJwtClaims(parseCreds(readFileSync(file, 'utf8'), file).jwt).sub : undefined;
      if (old) {
        writePrivate(revocationsFile, JSON.stringify({ ...revocations(), [old]: Math.floor(Date.now() / 1000) + 1 }, null, 2) + '\n');
        writeServerConfig();
      }
      this.issueCreds(identity, file);
      return old;
    },
    credsFile(identity) {
      const name = identityName(identity);
      const file = path.join(dir, `${name}.creds`);
      const permissions = permissionsFor(identity, subjects);
      let user: KeyPair | undefined;
      if (existsSync(file)) {
        const { jwt, seed } = parseCreds(readFileSync(file, 'utf8'), file);
        const claims = decodeJwtClaims(jwt);
        const nats = claims.nats as { pub?: unknown; sub?: unknown; resp?: unknown };
        const current =
          claims.iss === account.getPublicKey() &&
          claims.name === name &&
          (claims.exp === undefined || claims.exp * 1000 > Date.now()) &&
          JSON.stringify([nats.pub, nats.sub, nats.resp]) === JSON.stringify([permissions.pub, permissions.sub, permissions.resp]);
        if (current) return file;
        user = nkeys.fromSeed(new TextEncoder().encode(seed));
      }
      user ??= nkeys.createUser();
      writePrivate(file, formatCreds(userJwt(name, user, account, permissions), decoder.decode(user.getSeed())));
      return file;
    },
  };
}
