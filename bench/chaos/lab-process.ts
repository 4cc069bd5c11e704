import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, writeSync } from 'node:fs';
import type { LabHost } from './netns.js';

export type ProcessKind = 'nats' | 'coordinator' | 'shard' | 'proxy';

export interface LabProcessSpec {
  name: string;
  kind: ProcessKind;
  host: LabHost;
  command: string;
  args: string[];
  env: Record<string, string>;
  /** Where its output goes (appended across restarts). */
  logFile: string;
  /** True when it is ready (a service's /readyz, nats-server's /healthz answer 200); absent: running is ready. */
  probe?: () => Promise<boolean>;
}

/**
 * One process run inside its host's network namespace (`ip netns exec` execs the command
 * in place, so the child's pid is the process's own: signals reach it directly). Counts
 * the harness's restarts, so a check can tell "recovered by itself" from "was restarted".
 */
export class LabProcess {
  child: ChildProcess | undefined;
  starts = 0;
  private exitedAt: number | undefined;

  constructor(readonly spec: LabProcessSpec) {}

  get name() {
    return this.spec.name;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): ChildProcess {
    if (this.running) throw new Error(`${this.name} is running already (pid ${this.pid})`);
    const log = openSync(this.spec.logFile, 'a');
    writeSync(log, `\n=== ${new Date().toISOString()} start #${this.starts + 1} of ${this.name} on ${this.spec.host.name} (${this.spec.host.address})\n`);
    const child = spawn('ip', ['netns', 'exec', this.spec.host.netns, this.spec.command, ...this.spec.args], {
      env: { ...process.env, ...this.spec.env },
      stdio: [this.spec.kind === 'proxy' ? 'pipe' : 'ignore', log, log],
    });
    closeSync(log);
    child.once('exit', () => (this.exitedAt = Date.now()));
    child.on('error', () => undefined); // 'exit' follows
    this.child = child;
    this.starts++;
    this.exitedAt = undefined;
    return child;
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.running || !this.pid) throw new Error(`${this.name} is not running: cannot send ${signal}`);
    process.kill(this.pid, signal);
  }

  /** kill -9 and wait until it is gone. */
  async kill9(): Promise<void> {
    if (!this.running) return;
    const exited = new Promise<void>((resolve) => this.child!.once('exit', () => resolve()));
    this.signal('SIGKILL');
    await exited;
  }

  /** Ready now? (its probe; a process without one: running). */
  async ready(): Promise<boolean> {
    if (!this.running) return false;
    return this.spec.probe ? this.spec.probe() : true;
  }

  /** When it last exited (undefined while running). */
  get lastExit(): number | undefined {
    return this.exitedAt;
  }
}
