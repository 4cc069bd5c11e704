export { formatCreds, parseCreds, CredsFileError } from './creds-file.js';
export { openCredentialsDir, SERVER_AUTH_FILE, type CredentialsDir } from './credentials-dir.js';
export { connectAs, describeConnectError, identityOf, NatsAccessError, securityFromEnv, securityOptions, type NatsSecurity } from './connect.js';
export { decodeJwtClaims, userJwt, type UserPermissions } from './jwt.js';
export { identityName, inboxPrefixFor, permissionsFor, ROLES, type Identity, type Role } from './roles.js';
