import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The local gateway's API keys file in the data dir (lines `KEY ROLE NAME`, the gateway's
 * format): made once with a random key per role, kept for later runs so keys a person
 * copied keep working; readable by its owner only.
 */
export function localGatewayKeys(dataDir: string): string {
  const file = path.join(dataDir, 'gateway-keys.txt');
  if (!existsSync(file)) {
    const line = (role: string) => `${randomBytes(24).toString('base64url')} ${role} local-${role}`;
    const text = `# faceshard up's gateway: send a key as Authorization: Bearer KEY (roles: reader searches, writer also stores and deletes)\n${['reader', 'writer', 'admin'].map(line).join('\n')}\n`;
    writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
  }
  return file;
}

/** The key of `role` in a keys file localGatewayKeys made (the first one of that role), or undefined. */
export function localGatewayKey(file: string, role: 'reader' | 'writer' | 'admin'): string | undefined {
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [key, lineRole] = line.replace(/#.*/, '').trim().split(/\s+/);
    if (key && lineRole === role) return key;
  }
  return undefined;
}
