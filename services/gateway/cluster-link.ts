import { FaceshardClient, type NatsSecurity } from '../../libs/nats/client/index.js';
import { NatsAccessError } from '../../libs/nats/nats-auth/index.js';
import type { Logger } from '../../libs/observability/logger.js';
import { GatewayError } from './http-error.js';

const MAX_RETRY_MS = 5000;

/** Failures only new files mend (main checks them at start; they may be replaced while it runs): logged as errors. */
const CONFIG_FAILURES = new Set(['credentials', 'tls', 'auth_expired']);

export interface ClusterLinkOptions {
  url: string;
  prefix: string;
  security: NatsSecurity;
  /** First wait between connection attempts; it doubles up to MAX_RETRY_MS. */
  retryMs?: number;
}

/**
 * The gateway's FaceshardClient, kept connected: the first connection is tried until it
 * succeeds (the gateway may start before NATS), and a client whose connection closed for
 * good (nats.js gives up after its reconnect attempts) is replaced by a new one. Ready
 * while a client is connected.
 */
export class ClusterLink {
  private client: FaceshardClient | undefined;
  private connected = false;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: ClusterLinkOptions,
    private readonly log: Logger,
  ) {}

  /** Starts connecting; resolves on the first connection (not before NATS is there: readiness says so meanwhile). */
  start(): Promise<void> {
    return new Promise((resolve) => this.connect(resolve, this.options.retryMs ?? 250));
  }

  get ready(): boolean {
    return this.connected;
  }

  /** The connected client, or `not_ready` (503) while there is none. */
  current(): FaceshardClient {
    if (!this.client || !this.connected) throw new GatewayError('not_ready', 'the gateway is not connected to the cluster (NATS) yet; try again shortly');
    return this.client;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.connected = false;
    clearTimeout(this.retryTimer);
    await this.client?.close().catch(() => undefined);
  }

  private connect(onConnected: () => void, retryMs: number): void {
    if (this.stopped) return;
    FaceshardClient.connect(this.options.url, { prefix: this.options.prefix, name: 'faceshard-gateway', security: this.options.security }).then(
      (client) => {
        if (this.stopped) return void client.close();
        this.client = client;
        this.connected = true;
        this.log.info('connected to NATS', { server: client.nc.getServer(), creds: this.options.security.creds ?? 'none (anonymous)' });
        this.watch(client, () => this.connect(onConnected, this.options.retryMs ?? 250));
        onConnected();
      },
      (err: Error) => {
        const fields = { err, retryMs };
        if (err instanceof NatsAccessError && CONFIG_FAILURES.has(err.code)) this.log.error('cannot connect to NATS, retrying', fields);
        else this.log.warn('cannot connect to NATS, retrying', fields);
        this.retryTimer = setTimeout(() => this.connect(onConnected, Math.min(MAX_RETRY_MS, retryMs * 2)), retryMs);
      },
    );
  }

  /** Follows the connection: not ready while it reconnects; a new client once it is closed for good. */
  private watch(client: FaceshardClient, reconnect: () => void): void {
    void (async () => {
      for await (const status of client.nc.status()) {
        if (status.type === 'disconnect') this.connected = false;
        if (status.type === 'reconnect') this.connected = true;
        if (status.type === 'disconnect' || status.type === 'reconnect') this.log.warn('NATS connection status', { status: status.type });
      }
    })();
    void client.nc.closed().then(() => {
      this.connected = false;
      if (this.stopped) return;
      this.log.warn('NATS connection closed, connecting again');
      reconnect();
    });
  }
}
