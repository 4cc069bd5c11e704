/**
 * `.creds` files: a user JWT and its nkey seed in the decorated format every NATS client
 * and the `nats` CLI read (`--creds FILE`).
 */
export class CredsFileError extends Error {
  override name = 'CredsFileError';
}

export function formatCreds(jwt: string, seed: string): string {
  return [
    '-----BEGIN NATS USER JWT-----',
    jwt,
    '------END NATS USER JWT------',
    '',
    '************************* IMPORTANT *************************',
    'NKEY Seed printed below can be used to sign and prove identity.',
    'NKEYs are sensitive and should be treated as secrets.',
    '',
    '-----BEGIN USER NKEY SEED-----',
    seed,
    '------END USER NKEY SEED------',
    '',
    '*************************************************************',
    '',
  ].join('\n');
}

/** The JWT and seed of a creds file; `source` names the file in errors. */
export function parseCreds(text: string, source: string): { jwt: string; seed: string } {
  const block = (label: string) => new RegExp(`-{3,}BEGIN ${label}-{3,}\\s*\\n\\s*(\\S+)\\s*\\n\\s*-{3,}END ${label}-{3,}`).exec(text)?.[1];
  const jwt = block('NATS USER JWT');
  const seed = block('USER NKEY SEED');
  if (!jwt || !seed) throw new CredsFileError(`${source} is not a NATS credentials file (expected a USER JWT block and a USER NKEY SEED block)`);
  if (!seed.startsWith('SU')) throw new CredsFileError(`${source}: the seed is not a user nkey seed`);
  return { jwt, seed };
}
