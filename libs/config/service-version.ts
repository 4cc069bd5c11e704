import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/**
 * The version every service announces in NATS discovery (`nats micro ls`): package.json's,
 * read once, so it stays true when the package's version changes (a constant here would
 * have to be bumped alongside it, and would be forgotten).
 */
export const SERVICE_VERSION = readPackageVersion();

/** package.json is the nearest one above this file: the repository root, from libs/ and from dist/libs/ alike (the image copies it to /app). */
function readPackageVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  return z.object({ version: z.string().min(1) }).parse(manifest).version;
}
