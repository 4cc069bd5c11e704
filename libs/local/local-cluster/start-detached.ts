import { spawn } from 'node:child_process';
import { closeSync, fchmodSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface DetachedStart {
  /** The process to run in the background (e.g. `node faceshard.js up ...` without --detach). */
  command: string;
  args: string[];
  /** Its stdout and stderr go here (created afresh). */
  consoleFile: string;
  /** The line that says it is up. */
  ready: RegExp;
  timeoutMs: number;
}

export class DetachedStartError extends Error {
  override name = 'DetachedStartError';
}

/**
 * Starts a process in its own session (a closed terminal does not reach it) with its
 * output in a file, and waits until that output shows `ready`. Resolves with its pid and
 * its output up to the ready line; rejects with the output when it exits or times out first (killing it then).
 */
export async function startDetached(options: DetachedStart): Promise<{ pid: number; output: string }> {
  mkdirSync(path.dirname(options.consoleFile), { recursive: true });
  const fd = openSync(options.consoleFile, 'w', 0o600);
  // Its owner's alone, also when it was there before: `up` prints the gateway page's address, with a key in it.
  fchmodSync(fd, 0o600);
  const child = spawn(options.command, options.args, { stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  let exitCode: number | null | undefined;
  child.once('exit', (code, signal) => (exitCode = code ?? (signal ? -1 : null)));
  const output = () => readFileSync(options.consoleFile, 'utf8');
  const deadline = Date.now() + options.timeoutMs;
  try {
    for (;;) {
      await new Promise((r) => setTimeout(r, 200));
      const text = output();
      const ready = options.ready.exec(text);
      if (ready && exitCode === undefined) return { pid: child.pid as number, output: text.slice(0, text.indexOf('\n', ready.index) + 1 || undefined) };
      if (exitCode !== undefined) throw new DetachedStartError(`${text.trimEnd()}\n(exited with code ${exitCode}; output in ${options.consoleFile})`);
      if (Date.now() > deadline) {
        child.kill('SIGTERM');
        throw new DetachedStartError(
          `${text.trimEnd()}\n(not ready after ${Math.round(options.timeoutMs / 1000)} s: stopped it; output in ${options.consoleFile})`,
        );
      }
    }
  } finally {
    child.unref();
  }
}
