import { commandLine } from '../command-line.js';

/**
 * Ctrl-C during an encode: the first SIGINT (or SIGTERM) asks the run to stop taking new
 * images and lets what is in flight be stored and marked done; a second one, or
 * `graceMs` without the run ending, exits at once (code 130). What the run did store
 * stays marked, so `--resume` goes on from there.
 */
export const INTERRUPTED_EXIT_CODE = 130;

export class EncodeInterrupt {
  private readonly controller = new AbortController();
  private readonly handler = (signal: NodeJS.Signals) => this.onSignal(signal);
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly graceMs = 30_000,
    private readonly write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
    private readonly exit: (code: number) => void = (code) => process.exit(code),
  ) {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get interrupted(): boolean {
    return this.controller.signal.aborted;
  }

  private onSignal(signal: NodeJS.Signals): void {
    if (this.interrupted) {
      this.write(`${signal} again: stopping now; images not marked done are encoded again by --resume`);
      this.exit(INTERRUPTED_EXIT_CODE);
      return;
    }
    this.write(`${signal}: taking no new images; storing what is in flight (at most ${Math.round(this.graceMs / 1000)} s; Ctrl-C again to stop now)`);
    this.controller.abort();
    this.timer = setTimeout(() => {
      this.write(`still not stored after ${Math.round(this.graceMs / 1000)} s: stopping now; images not marked done are encoded again by --resume`);
      this.exit(INTERRUPTED_EXIT_CODE);
    }, this.graceMs);
    this.timer.unref();
  }

  dispose(): void {
    clearTimeout(this.timer);
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
  }
}

/**
 * The command line that goes on where an interrupted run stopped: the program as it was
 * run (`faceshard`, or `node dist/cli/faceshard.js`), its own arguments, and --resume.
 */
export function resumeCommand(argv: readonly string[], script = process.argv[1] ?? 'faceshard'): string {
  return commandLine(argv.includes('--resume') ? argv : [...argv, '--resume'], script);
}
