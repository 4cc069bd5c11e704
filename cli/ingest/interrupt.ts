/**
 * Ctrl-C during an ingest: the first SIGINT (or SIGTERM) lets the batch in flight be
 * answered and reads no more; a second one calls `now` (say how far it got, then exit)
 * without waiting.
 */
export class IngestInterrupt {
  private readonly controller = new AbortController();
  private readonly handler = (signal: NodeJS.Signals) => this.onSignal(signal);

  constructor(
    private readonly now: () => void,
    private readonly write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  private onSignal(signal: NodeJS.Signals): void {
    if (this.controller.signal.aborted) {
      this.write(`${signal} again: stopping now, without waiting for the batch in flight`);
      this.now();
      return;
    }
    this.write(`${signal}: reading no more rows; waiting for the cluster to answer the batch in flight (Ctrl-C again to stop now)`);
    this.controller.abort();
  }

  dispose(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
  }
}
