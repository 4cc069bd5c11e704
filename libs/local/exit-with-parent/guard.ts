import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const GUARD_MAIN = fileURLToPath(new URL('./guard-main.js', import.meta.url));

/**
 * Ties a non-Node child's lifetime to this process: a guard process (guard-main.ts)
 * kills `pid` once this process is gone, kill -9 included. Returns the guard, to be
 * killed once `pid` was stopped normally (it also exits by itself then).
 */
export function guardChild(pid: number): ChildProcess {
  const guard = spawn(process.execPath, [GUARD_MAIN, String(pid)], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], detached: true });
  guard.unref();
  guard.channel?.unref();
  return guard;
}
