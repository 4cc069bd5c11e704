// A small process supervisor for `faceshard up`: runs named children, prefixes their
// output, restarts them with exponential backoff when they exit on their own, and
// stops them all (SIGTERM, then SIGKILL after a timeout) on stop().
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { killOnExit } from '../kill-on-exit/index.js';

/** The shape of the structured logger this needs (libs/observability's logger satisfies it). */
export interface SupervisorLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface ChildSpec {
  /** Unique among this supervisor's children; prefixes its output lines as `[name]`. */
  name: string;
  command: string;
  args?: readonly string[];
  /** Added on top of process.env. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Restart when it exits without stop() asking it to (whatever the exit code). Default true. */
  restart?: boolean;
  /**
   * Open an IPC channel to the child (a Node process): the kernel closes it when this
   * process dies, kill -9 included, which libs/local/exit-with-parent's preload turns into the
   * child's own SIGTERM. Default false.
   */
  ipc?: boolean;
}

export interface OutputLine {
  name: string;
  stream: 'stdout' | 'stderr';
  line: string;
}

export interface RestartEvent {
  name: string;
  /** Pid of the process that exited (undefined when it could not be spawned). */
  pid: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** How long the process ran, in ms. */
  uptimeMs: number;
  /** Wait before the respawn, in ms. */
  delayMs: number;
  /** Restarts so far, this one included. */
  restarts: number;
}

export interface ExitEvent {
  name: string;
  pid: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when stop() asked for it. */
  requested: boolean;
}

export interface BackoffOptions {
  /** First restart delay. Default 250 ms. */
  initialMs?: number;
  /** Delay cap. Default 10 s. */
  maxMs?: number;
  /** A child that stayed up this long starts over at initialMs. Default 30 s. */
  resetAfterMs?: number;
}

export interface SupervisorOptions {
  log: SupervisorLogger;
  /** Receives every output line; default: `[name] line` to this process's stdout/stderr. */
  onOutput?: (line: OutputLine) => void;
  onRestart?: (event: RestartEvent) => void;
  onExit?: (event: ExitEvent) => void;
  backoff?: BackoffOptions;
}

export type ChildStatus = 'running' | 'waiting-to-restart' | 'exited';

export interface ChildInfo {
  name: string;
  /** Undefined while waiting to restart or after exit. */
  pid: number | undefined;
  restarts: number;
  status: ChildStatus;
}

interface Supervised {
  spec: ChildSpec;
  process: ChildProcess | undefined;
  startedAt: number;
  restarts: number;
  /** Consecutive quick failures; drives the backoff exponent. */
  failures: number;
  restartTimer: NodeJS.Timeout | undefined;
  /** Resolves when the current process is gone. */
  gone: Promise<void>;
}

function isRunning(child: ChildProcess | undefined): child is ChildProcess {
  return child !== undefined && child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

function writePrefixed({ name, stream, line }: OutputLine): void {
  (stream === 'stdout' ? process.stdout : process.stderr).write(`[${name}] ${line}\n`);
}

export class Supervisor {
  private readonly log: SupervisorLogger;
  private readonly onOutput: (line: OutputLine) => void;
  private readonly restartListeners = new Set<(event: RestartEvent) => void>();
  private readonly exitListeners = new Set<(event: ExitEvent) => void>();
  private readonly backoff: Required<BackoffOptions>;
  private readonly supervised = new Map<string, Supervised>();
  private stopRequested = false;
  private stopping: Promise<void> | undefined;

  constructor(options: SupervisorOptions) {
    this.log = options.log;
    this.onOutput = options.onOutput ?? writePrefixed;
    if (options.onRestart) this.restartListeners.add(options.onRestart);
    if (options.onExit) this.exitListeners.add(options.onExit);
    this.backoff = {
      initialMs: options.backoff?.initialMs ?? 250,
      maxMs: options.backoff?.maxMs ?? 10_000,
      resetAfterMs: options.backoff?.resetAfterMs ?? 30_000,
    };
  }

  /** Subscribe to restarts; returns an unsubscribe function. */
  onRestart(listener: (event: RestartEvent) => void): () => void {
    this.restartListeners.add(listener);
    return () => this.restartListeners.delete(listener);
  }

  /** Subscribe to every child exit (restarted or not); returns an unsubscribe function. */
  onExit(listener: (event: ExitEvent) => void): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  start(spec: ChildSpec): ChildInfo {
    if (this.stopRequested) throw new Error(`supervisor is stopping; cannot start ${spec.name}`);
    if (this.supervised.has(spec.name)) throw new Error(`a child named ${spec.name} is already supervised`);
    const entry: Supervised = {
      spec,
      process: undefined,
      startedAt: 0,
      restarts: 0,
      failures: 0,
      restartTimer: undefined,
      gone: Promise.resolve(),
    };
    this.supervised.set(spec.name, entry);
    this.spawn(entry);
    return this.info(entry);
  }

  children(): ChildInfo[] {
    return [...this.supervised.values()].map((entry) => this.info(entry));
  }

  /**
   * SIGTERM every child, SIGKILL those still alive after timeoutMs, resolve once all
   * have exited. Nothing restarts from here on; calling it again returns the same promise.
   */
  stop(timeoutMs = 10_000): Promise<void> {
    this.stopRequested = true;
    this.stopping ??= this.stopAll(timeoutMs);
    return this.stopping;
  }

  private async stopAll(timeoutMs: number): Promise<void> {
    const entries = [...this.supervised.values()];
    for (const entry of entries) {
      clearTimeout(entry.restartTimer);
      entry.restartTimer = undefined;
    }
    const running = entries.filter((entry) => isRunning(entry.process));
    if (running.length > 0) this.log.info('stopping children', { names: running.map((e) => e.spec.name), timeoutMs });
    for (const entry of running) entry.process?.kill('SIGTERM');
    const killTimer = setTimeout(() => {
      for (const entry of entries) {
        if (!isRunning(entry.process)) continue;
        this.log.warn('child ignored SIGTERM; sending SIGKILL', { name: entry.spec.name, pid: entry.process.pid, timeoutMs });
        entry.process.kill('SIGKILL');
      }
    }, timeoutMs);
    try {
      await Promise.all(entries.map((entry) => entry.gone));
    } finally {
      clearTimeout(killTimer);
    }
  }

  private info(entry: Supervised): ChildInfo {
    const running = isRunning(entry.process);
    return {
      name: entry.spec.name,
      pid: running ? entry.process?.pid : undefined,
      restarts: entry.restarts,
      status: running ? 'running' : entry.restartTimer ? 'waiting-to-restart' : 'exited',
    };
  }

  private spawn(entry: Supervised): void {
    const { spec } = entry;
    const child = spawn(spec.command, [...(spec.args ?? [])], {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      stdio: spec.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
      // Own process group: a terminal's Ctrl-C reaches only the supervisor, which then
      // stops the children in order, instead of every child draining on its own at once.
      detached: true,
    });
    entry.process = child;
    entry.startedAt = Date.now();
    if (child.pid !== undefined) killOnExit(child);
    this.forwardLines(spec.name, 'stdout', child.stdout);
    this.forwardLines(spec.name, 'stderr', child.stderr);

    entry.gone = new Promise<void>((resolve) => {
      let handled = false;
      const onGone = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (handled) return;
        handled = true;
        resolve();
        this.handleExit(entry, child, code, signal);
      };
      child.once('exit', onGone);
      child.once('error', (error) => {
        if (child.pid === undefined) {
          // Spawn failed (e.g. ENOENT): no 'exit' will tell us, so treat it as one.
          this.log.error('child could not be spawned', { name: spec.name, command: spec.command, error: error.message });
          onGone(null, null);
        } else {
          this.log.error('child process error', { name: spec.name, pid: child.pid, error: error.message });
        }
      });
    });
    if (child.pid !== undefined) this.log.info('child started', { name: spec.name, pid: child.pid, command: spec.command });
  }

  private forwardLines(name: string, stream: OutputLine['stream'], source: Readable | null): void {
    if (!source) return;
    const lines = createInterface({ input: source, crlfDelay: Infinity });
    lines.on('line', (line) => {
      try {
        this.onOutput({ name, stream, line });
      } catch (error) {
        this.log.error('output callback threw', { name, error: String(error) });
      }
    });
  }

  private handleExit(entry: Supervised, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    const { name } = entry.spec;
    const requested = this.stopRequested;
    const uptimeMs = Date.now() - entry.startedAt;
    this.emit(this.exitListeners, { name, pid: child.pid, code, signal, requested });

    if (requested) {
      this.log.info('child stopped', { name, pid: child.pid, code, signal });
      return;
    }
    if (entry.spec.restart === false) {
      this.log.warn('child exited; not restarting (restart: false)', { name, pid: child.pid, code, signal, uptimeMs });
      return;
    }

    if (uptimeMs >= this.backoff.resetAfterMs) entry.failures = 0;
    const delayMs = Math.min(this.backoff.initialMs * 2 ** entry.failures, this.backoff.maxMs);
    entry.failures++;
    entry.restarts++;
    const event: RestartEvent = { name, pid: child.pid, code, signal, uptimeMs, delayMs, restarts: entry.restarts };
    this.log.warn('child exited; restarting', { ...event });
    entry.restartTimer = setTimeout(() => {
      entry.restartTimer = undefined;
      if (!this.stopRequested) this.spawn(entry);
    }, delayMs);
    this.emit(this.restartListeners, event);
  }

  private emit<E>(listeners: Set<(event: E) => void>, event: E): void {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        this.log.error('supervisor listener threw', { error: String(error) });
      }
    }
  }
}
