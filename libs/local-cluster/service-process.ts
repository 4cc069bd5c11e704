import { fileURLToPath } from 'node:url';

export type ServiceKind = 'coordinator' | 'shard' | 'encoder';

/**
 * How to run one service as its own process: `node <dist>/services/<kind>/main.js`
 * with its configuration in env, exactly what a container runs.
 */
export function serviceProcess(kind: ServiceKind, env: Record<string, string>): { command: string; args: string[]; env: Record<string, string> } {
  const main = fileURLToPath(new URL(`../../services/${kind}/main.js`, import.meta.url));
  return { command: process.execPath, args: [main], env };
}
