// Starts and stops a local nats-server (JetStream on) as a child process: used by
// `faceshard up` and by the integration tests. Nothing here knows about faces.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, createWriteStream, mkdirSync, statSync, writeFileSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, dirname, join, relative, resolve, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type ConnectionOptions } from 'nats';
import { guardChild } from '../exit-with-parent/index.js';
import { killOnExit } from '../kill-on-exit/index.js';
import { readServerInfo } from './server-info.js';

/** Env var naming the nats-server binary explicitly (skips the search). */
export const NATS_SERVER_BINARY_ENV = 'FACESHARD_NATS_SERVER';

/** Debian installs nats-server in /usr/sbin, which is not on every user's PATH. */
export const FALLBACK_SEARCH_DIRS: readonly string[] = ['/usr/sbin', '/usr/local/bin', '/usr/local/sbin'];

export const MINIMUM_NATS_SERVER_VERSION = '2.9.0';

const INSTALL_HINT =
  `nats-server ${MINIMUM_NATS_SERVER_VERSION.replace(/\.0$/, '')} or newer is needed. Install it with ` +
  '`sudo apt-get install -y nats-server` (Debian/Ubuntu), or download a release from ' +
  'https://github.com/nats-io/nats-server/releases and put it on PATH ' +
  `(or set ${NATS_SERVER_BINARY_ENV}=/path/to/nats-server).`;

export class NatsServerMissingError extends Error {
  override readonly name = 'NatsServerMissingError';
  constructor(readonly searched: readonly string[]) {
    super(`nats-server was not found (searched: ${searched.join(', ') || 'nothing'}). ${INSTALL_HINT}`);
  }
}

export class NatsServerVersionError extends Error {
  override readonly name = 'NatsServerVersionError';
  constructor(
    readonly binary: string,
    readonly version: string,
  ) {
    super(`${binary} is nats-server ${version}. ${INSTALL_HINT}`);
  }
}

export class NatsServerStartError extends Error {
  override readonly name = 'NatsServerStartError';
  constructor(
    message: string,
    readonly outputTail: string,
  ) {
    super(outputTail ? `${message}\n--- nats-server output (tail) ---\n${outputTail}` : message);
  }

  /** The line of nats-server's output that says why (its fatal or last error line), without the banner. */
  get causeLine(): string {
    const lines = this.outputTail.split('\n').filter((line) => line.trim() !== '');
    const cause = [...lines].reverse().find((line) => /\[(FTL|ERR)\]/.test(line)) ?? lines.at(-1) ?? this.message.split('\n')[0];
    return cause.replace(/^\[\d+\] \S+ \S+ \[\w+\] /, '');
  }

  /** True when the port (or the monitoring port) was taken by another process. */
  get addressInUse(): boolean {
    return isAddressInUse(this.outputTail);
  }
}

export interface FindNatsServerOptions {
  /** Directories to look in, in order. Default: PATH, then FALLBACK_SEARCH_DIRS. */
  searchDirs?: readonly string[];
  /** Environment to read PATH and FACESHARD_NATS_SERVER from. Default: process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface StartNatsServerOptions {
  /** Client port; 0 or absent picks a free one. */
  port?: number;
  /** JetStream store directory (created if missing). Reuse it to keep streams across restarts. */
  storeDir: string;
  /** HTTP monitoring port; 0 picks a free one; false or absent disables it. */
  monitorPort?: number | false;
  /** Append the server's output to this file (its tail is kept in memory either way). */
  logFile?: string;
  /** Listen address. Default 127.0.0.1. */
  host?: string;
  /** Explicit binary; default: findNatsServer(). */
  binary?: string;
  /** Passed to findNatsServer when `binary` is absent. */
  search?: FindNatsServerOptions;
  /** How long to wait until the server accepts connections with JetStream ready. Default 10 s. */
  startTimeoutMs?: number;
  /** A server config file (-c), for settings without a flag (e.g. max_pending, authorization); the flags above win. */
  configFile?: string;
  /** How the readiness probe connects (credentials, TLS) when the server requires it. */
  probeOptions?: Partial<ConnectionOptions>;
  /**
   * GOMAXPROCS for the server's Go runtime (a positive integer). Default: whatever the
   * environment says (Go's own default: every core).
   */
  goMaxProcs?: number;
  /**
   * Stop the server when this process dies, kill -9 included (a guard process watches:
   * libs/local/exit-with-parent). Default false: tests and `up` stop theirs themselves.
   */
  exitWithThisProcess?: boolean;
}

export interface NatsServerProcess {
  /** nats://HOST:PORT */
  url: string;
  port: number;
  /** Set when the monitoring endpoint is on. */
  monitorPort?: number;
  pid: number;
  storeDir: string;
  /** Sends `signal` (default SIGTERM), SIGKILLs after `timeoutMs` (default 10 s); resolves once exited. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
  /** SIGKILL without waiting (simulates a crash); await `exited` to know it is gone. */
  kill9(): void;
  /** Resolves with the exit code (null when killed by a signal) once the process is gone. */
  exited: Promise<number | null>;
  /** The last lines the server printed. */
  outputTail(): string;
}

const OUTPUT_TAIL_LINES = 40;
const AUTO_PORT_ATTEMPTS = 3;

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function defaultSearchDirs(env: NodeJS.ProcessEnv): string[] {
  const pathDirs = (env.PATH ?? '').split(delimiter).filter((dir) => dir !== '');
  return [...new Set([...pathDirs, ...FALLBACK_SEARCH_DIRS])];
}

/** The nats-server binary to run, or undefined when there is none. */
export function findNatsServer(options: FindNatsServerOptions = {}): string | undefined {
  const env = options.env ?? process.env;
  const explicit = env[NATS_SERVER_BINARY_ENV];
  if (explicit) return isExecutableFile(explicit) ? explicit : undefined;
  const dirs = options.searchDirs ?? defaultSearchDirs(env);
  for (const dir of dirs) {
    const candidate = join(dir, 'nats-server');
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

function searchedLocations(options: FindNatsServerOptions): string[] {
  const env = options.env ?? process.env;
  const explicit = env[NATS_SERVER_BINARY_ENV];
  if (explicit) return [`${NATS_SERVER_BINARY_ENV}=${explicit}`];
  return [...(options.searchDirs ?? defaultSearchDirs(env))];
}

/** A TCP port that was free a moment ago (the OS picks it). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not pick a free port'))));
    });
  });
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

const checkedBinaries = new Set<string>();

/** `binary --version`'s version number ("2.9.10"), undefined when it says none. */
export function natsServerVersion(binary: string): string | undefined {
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 5_000 });
  return /v?(\d+\.\d+\.\d+)/.exec(`${result.stdout ?? ''}${result.stderr ?? ''}`)?.[1];
}

/** Throws NatsServerVersionError for a server older than 2.9; an unreadable version is let through. */
function assertSupportedVersion(binary: string): void {
  if (checkedBinaries.has(binary)) return;
  const version = natsServerVersion(binary);
  if (version && compareVersions(version, MINIMUM_NATS_SERVER_VERSION) < 0) {
    throw new NatsServerVersionError(binary, version);
  }
  checkedBinaries.add(binary);
}

/** Keeps the last lines of a child's combined output (and copies it to a log file if asked). */
class OutputCapture {
  private readonly lines: string[] = [];
  private partial = '';
  private readonly file: WriteStream | undefined;

  constructor(logFile: string | undefined) {
    if (logFile) {
      mkdirSync(dirname(logFile), { recursive: true });
      this.file = createWriteStream(logFile, { flags: 'a' });
      this.file.on('error', () => undefined); // logging must never crash the launcher
    }
  }

  write(chunk: Buffer): void {
    this.file?.write(chunk);
    const parts = (this.partial + chunk.toString('utf8')).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.push(line);
  }

  end(): void {
    if (this.partial) this.push(this.partial);
    this.partial = '';
    this.file?.end();
  }

  tail(): string {
    return [...this.lines, ...(this.partial ? [this.partial] : [])].join('\n');
  }

  private push(line: string): void {
    this.lines.push(line.replace(/\r$/, ''));
    if (this.lines.length > OUTPUT_TAIL_LINES) this.lines.shift();
  }
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Polls until a client can connect to *our* server (another process may already hold
 * the port: the server name tells them apart) and JetStream answers, the child dies,
 * or the deadline passes.
 */
async function waitUntilReady(
  url: string,
  host: string,
  port: number,
  serverName: string,
  child: ChildProcess,
  deadline: number,
  probeOptions: Partial<ConnectionOptions>,
): Promise<'ready' | 'exited' | 'timeout'> {
  while (Date.now() < deadline) {
    if (hasExited(child)) return 'exited';
    try {
      // Another process may hold the port (NATS or not): connect only once ours answers.
      if ((await readServerInfo(host, port, 1_000))?.server_name !== serverName) throw new Error('our server does not answer yet');
      const nc = await connect({ ...probeOptions, servers: url, reconnect: false, timeout: 1_000 });
      try {
        const jsm = await nc.jetstreamManager({ timeout: 1_000 });
        await jsm.getAccountInfo();
        return 'ready';
      } finally {
        await nc.close();
      }
    } catch {
      await sleep(50);
    }
  }
  return hasExited(child) ? 'exited' : 'timeout';
}

function isAddressInUse(output: string): boolean {
  return /address already in use/i.test(output);
}

export async function startNatsServer(options: StartNatsServerOptions): Promise<NatsServerProcess> {
  const search = options.search ?? {};
  const binary = options.binary ?? findNatsServer(search);
  if (!binary) throw new NatsServerMissingError(options.binary ? [options.binary] : searchedLocations(search));
  assertSupportedVersion(binary);
  if (options.goMaxProcs !== undefined && !(Number.isInteger(options.goMaxProcs) && options.goMaxProcs >= 1)) {
    throw new RangeError(`goMaxProcs must be a positive integer, got ${options.goMaxProcs}`);
  }
  mkdirSync(options.storeDir, { recursive: true });

  // A free port can be taken between freePort() and the server's bind: retry when we picked it.
  const portIsAuto = !options.port;
  const monitorIsAuto = options.monitorPort === 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(binary, options);
    } catch (error) {
      const retryable =
        (portIsAuto || monitorIsAuto) && attempt < AUTO_PORT_ATTEMPTS && error instanceof NatsServerStartError && isAddressInUse(error.outputTail);
      if (!retryable) throw error;
    }
  }
}

/**
 * A config file that includes `configFile` and names the server. nats-server refuses a
 * reload (SIGHUP, e.g. after rotated credentials) when a server name given by flag is
 * missing from the reloaded file, so with a config file the name goes in a file too.
 */
function wrapConfig(configFile: string, storeDir: string, serverName: string): string {
  mkdirSync(storeDir, { recursive: true });
  const wrapper = join(storeDir, 'faceshard-server.conf');
  // nats-server resolves an include relative to the including file, never as an absolute path.
  const included = relative(storeDir, resolve(configFile)).split(sep).join('/');
  writeFileSync(wrapper, `include "${included}"\nserver_name: "${serverName}"\n`);
  return wrapper;
}

async function launch(binary: string, options: StartNatsServerOptions): Promise<NatsServerProcess> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ? options.port : await freePort(host);
  const monitorPort = options.monitorPort === undefined || options.monitorPort === false ? undefined : options.monitorPort || (await freePort(host));
  const serverName = `faceshard-${process.pid}-${randomBytes(4).toString('hex')}`;
  const args = ['-js', '-sd', options.storeDir, '-a', host, '-p', String(port)];
  if (options.configFile) args.unshift('-c', wrapConfig(options.configFile, options.storeDir, serverName));
  else args.push('-n', serverName);
  if (monitorPort !== undefined) args.push('-m', String(monitorPort));

  const output = new OutputCapture(options.logFile);
  // Own process group: Ctrl-C in a terminal must not stop NATS before the services drained.
  const env = options.goMaxProcs === undefined ? process.env : { ...process.env, GOMAXPROCS: String(options.goMaxProcs) };
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env });
  child.stdout?.on('data', (chunk: Buffer) => output.write(chunk));
  child.stderr?.on('data', (chunk: Buffer) => output.write(chunk));

  const exited = new Promise<number | null>((resolve) => {
    // 'close' (not 'exit') so the output is fully read when `exited` resolves.
    child.once('close', (code) => {
      output.end();
      resolve(code);
    });
    child.once('error', (error) => {
      // Only a failed spawn ends the process here; other errors (e.g. kill failing) do not.
      if (child.pid === undefined) {
        output.write(Buffer.from(`spawn failed: ${error.message}\n`));
        output.end();
        resolve(null);
      }
    });
  });
  // Killed if this process exits first: a crashed test or a forgotten stop() leaves no server holding a port.
  if (child.pid !== undefined) killOnExit(child);
  if (child.pid !== undefined && options.exitWithThisProcess) {
    const guard = guardChild(child.pid);
    void exited.then(() => guard.kill());
  }

  const hostForUrl = host.includes(':') ? `[${host}]` : host;
  const url = `nats://${hostForUrl}:${port}`;
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  const state =
    child.pid === undefined ? 'exited' : await waitUntilReady(url, host, port, serverName, child, Date.now() + timeoutMs, options.probeOptions ?? {});
  if (state !== 'ready') {
    if (state === 'timeout') {
      child.kill('SIGKILL');
    }
    const code = await exited;
    const reason =
      state === 'timeout'
        ? `did not accept connections with JetStream ready within ${timeoutMs} ms (killed it)`
        : `exited with code ${code ?? `null (signal ${child.signalCode ?? '?'})`} before it was ready`;
    throw new NatsServerStartError(`nats-server on ${url} ${reason}: ${binary} ${args.join(' ')}`, output.tail());
  }

  const pid = child.pid as number;
  return {
    url,
    port,
    monitorPort,
    pid,
    storeDir: options.storeDir,
    exited,
    outputTail: () => output.tail(),
    kill9: () => {
      if (!hasExited(child)) child.kill('SIGKILL');
    },
    stop: async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000) => {
      if (hasExited(child)) {
        await exited;
        return;
      }
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
