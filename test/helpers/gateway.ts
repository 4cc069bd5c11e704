import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestCluster } from './cluster.js';
import { until } from './wait.js';

export const GATEWAY_MAIN = fileURLToPath(new URL('../../services/gateway/main.js', import.meta.url));
const CLI = fileURLToPath(new URL('../../cli/faceshard.js', import.meta.url));

export interface TestGateway {
  process: ChildProcess;
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** Its stderr so far (the JSON log). */
  output: string[];
}

/**
 * The gateway as its own process in front of `cluster`, connected as the gateway identity,
 * with the keys file `keys` (lines `KEY ROLE`) written into `dir`; resolves once /readyz says ready.
 * `cli`: started as `faceshard gateway` with flags (and `args`) instead of its main module with env.
 */
export async function startGateway(
  cluster: TestCluster,
  dir: string,
  keys: string,
  env: Record<string, string> = {},
  options: { cli?: boolean; args?: string[] } = {},
): Promise<TestGateway> {
  const keysFile = path.join(dir, 'keys.txt');
  await writeFile(keysFile, keys);
  const creds = cluster.credentials?.credsFile({ role: 'gateway' });
  const settings = options.cli
    ? {
        args: [
          CLI,
          'gateway',
          '--keys',
          keysFile,
          '--port',
          '0',
          '--host',
          '127.0.0.1',
          '--nats',
          cluster.url,
          '--http-port',
          '0',
          ...(creds ? ['--creds', creds] : []),
          ...(options.args ?? []),
        ],
        env: { HTTP_HOST: '127.0.0.1' },
      }
    : {
        args: [GATEWAY_MAIN],
        env: {
          NATS_URL: cluster.url,
          ...(creds ? { NATS_CREDS: creds } : {}),
          GATEWAY_API_KEYS_FILE: keysFile,
          GATEWAY_HTTP_PORT: '0',
          GATEWAY_HTTP_HOST: '127.0.0.1',
          HTTP_PORT: '0',
          HTTP_HOST: '127.0.0.1',
        },
      };
  const child = spawn(process.execPath, settings.args, { env: { ...process.env, ...settings.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const output: string[] = [];
  child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
  const port = await until(
    () => `the gateway's port in its log (${output.join('')})`,
    () => /"msg":"gateway listening","port":(\d+)/.exec(output.join(''))?.[1],
    15_000,
  );
  const base = `http://127.0.0.1:${port}`;
  await until('the gateway ready', async () => ((await fetch(`${base}/readyz`)).status === 200 ? true : undefined), 15_000);
  return { process: child, base, output };
}
