import { existsSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_DATA_DIR, readClusterFile, removeClusterFile } from '../../libs/local/cluster-file/index.js';
import { probeDataDirLock } from '../../libs/local/data-dir-lock/index.js';
import { isProcessAlive } from '../../libs/local/exit-with-parent/index.js';
import { intOption, parseCommandArgs, UsageError } from '../args.js';

/** `faceshard down`: stops the cluster `faceshard up` (e.g. `up --detach`) runs on a data dir, and waits until it is gone. */
export async function downCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('down', argv, {
    'data-dir': { type: 'string', default: DEFAULT_DATA_DIR },
    timeout: { type: 'string' },
  });
  if (positionals.length) throw new UsageError(`faceshard down: unexpected argument "${positionals[0]}"`);
  const timeoutMs = intOption('timeout', values.timeout, 60, 1, 3600) * 1000;
  const dataDir = path.resolve(values['data-dir']);
  if (!existsSync(dataDir)) {
    console.log(`no cluster runs on ${dataDir} (no such directory)`);
    return 0;
  }
  const cluster = readClusterFile(dataDir);
  const lock = await probeDataDirLock(dataDir);
  if (!lock.held) {
    if (cluster) removeClusterFile(dataDir, cluster.pid);
    console.log(`no cluster runs on ${dataDir}${cluster ? ` (removed the cluster.json left by pid ${cluster.pid})` : ''}`);
    return 0;
  }
  // The lock's holder is the running `up`; cluster.json's pid is the same unless that file is stale.
  const pid = lock.holder?.pid ?? cluster?.pid;
  if (pid === undefined) {
    console.error(`faceshard down: ${dataDir} is locked by a process that does not say its pid; find it with \`ps\` and stop it yourself`);
    return 1;
  }
  const started = Date.now();
  process.kill(pid, 'SIGTERM');
  while (isProcessAlive(pid)) {
    if (Date.now() - started > timeoutMs) {
      console.error(
        `faceshard down: pid ${pid} is still stopping after ${timeoutMs / 1000} s (its log: ${path.join(dataDir, 'logs', 'up.log')}); wait, or \`kill -9 ${pid}\` (its children then stop by themselves)`,
      );
      return 1;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const url = lock.holder?.natsUrl ?? cluster?.natsUrl;
  console.log(`stopped the cluster on ${dataDir} (pid ${pid}${url ? `, NATS ${url}` : ''}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}
