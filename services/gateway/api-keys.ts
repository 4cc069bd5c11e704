import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** What a key may do: a reader searches and reads status, a writer also ingests and deletes, an admin may do everything. */
export const API_ROLES = ['reader', 'writer', 'admin'] as const;
export type ApiRole = (typeof API_ROLES)[number];

const rank: Record<ApiRole, number> = { reader: 1, writer: 2, admin: 3 };

/** True when `role` may use a route that needs `needed`. */
export function roleAllows(role: ApiRole, needed: ApiRole): boolean {
  return rank[role] >= rank[needed];
}

/** Short keys are guessable: refused when the file is read. */
export const MIN_KEY_LENGTH = 16;

const ApiKeyEntry = z.strictObject({
  key: z.string().min(MIN_KEY_LENGTH, `a key must have at least ${MIN_KEY_LENGTH} characters`).regex(/^\S+$/, 'a key has no spaces'),
  role: z.enum(API_ROLES),
  /** Who holds the key, for logs (never the key itself). */
  name: z.string().optional(),
});
export type ApiKeyEntry = z.infer<typeof ApiKeyEntry>;
const ApiKeyList = z.array(ApiKeyEntry).min(1, 'the file holds no keys');

export class ApiKeysError extends Error {
  override name = 'ApiKeysError';
}

/** The entries of a keys file's text: a JSON array of `{ key, role, name? }`, or lines `KEY ROLE [NAME]` (`#` starts a comment). */
export function parseApiKeys(text: string, file: string): ApiKeyEntry[] {
  const trimmed = text.trim();
  let raw: unknown;
  if (trimmed.startsWith('[')) {
    try {
      raw = JSON.parse(trimmed);
    } catch (err) {
      throw new ApiKeysError(`${file}: not valid JSON (${(err as Error).message})`);
    }
  } else {
    raw = trimmed
      .split('\n')
      .map((line) => line.replace(/#.*/, '').trim())
      .filter(Boolean)
      .map((line) => {
        const [key, role, ...name] = line.split(/\s+/);
        return { key, role, ...(name.length ? { name: name.join(' ') } : {}) };
      });
  }
  const parsed = ApiKeyList.safeParse(raw);
  if (!parsed.success) {
    // The path says which entry; the key itself is never repeated in a message.
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? `entry ${issue.path.map(String).join('.')}` : 'the file';
    throw new ApiKeysError(`${file}: ${where}: ${issue.message}`);
  }
  const seen = new Set<string>();
  parsed.data.forEach((entry, i) => {
    if (seen.has(entry.key)) throw new ApiKeysError(`${file}: entry ${i}: the same key is listed twice`);
    seen.add(entry.key);
  });
  return parsed.data;
}

const digest = (key: string) => createHash('sha256').update(key, 'utf8').digest();

/**
 * The API keys a gateway accepts. Keys are held as SHA-256 digests and a presented key is
 * compared with every one of them in constant time (equal lengths, no early exit), so the
 * time of an answer tells nothing of how close a guess was or which key it matched.
 */
export class ApiKeys {
  private readonly digests: Buffer[];
  private readonly entries: Array<{ role: ApiRole; name?: string }>;

  constructor(entries: ApiKeyEntry[]) {
    this.digests = entries.map((e) => digest(e.key));
    this.entries = entries.map((e) => ({ role: e.role, name: e.name }));
  }

  static fromFile(file: string): ApiKeys {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ApiKeysError(`cannot read the API keys file ${file}: ${(err as Error).message}`);
    }
    return new ApiKeys(parseApiKeys(text, file));
  }

  get size(): number {
    return this.digests.length;
  }

  /** The role (and holder's name) of `presented`, or undefined for an unknown key. */
  lookup(presented: string): { role: ApiRole; name?: string } | undefined {
    const d = digest(presented);
    let found = -1;
    for (let i = 0; i < this.digests.length; i++) {
      if (timingSafeEqual(d, this.digests[i])) found = i;
    }
    return found < 0 ? undefined : this.entries[found];
  }
}
