import type { NatsConnection } from 'nats';
import type { Registry } from 'prom-client';
import { connectNats, type NatsEnvConfig } from '../nats/cluster/connect.js';
import { startOpsServer, type HealthSource, type OpsServer } from '../observability/http.js';
import { createLogger, type LogFields, type LogLevel, type Logger } from '../observability/logger.js';
import { createRegistry } from '../observability/metrics.js';
import { onTerminate } from './lifecycle.js';

/** The settings of CommonEnv (libs/config/env.ts) that every service's start-up reads. */
export interface ServiceRuntimeConfig extends NatsEnvConfig {
  LOG_LEVEL: LogLevel;
  HTTP_PORT: number;
  HTTP_HOST: string;
  DRAIN_TIMEOUT_S: number;
}

/**
 * What every service process (services/<name>/main.ts) starts the same way: its logger,
 * its metrics registry and ops HTTP server (/metrics, /healthz, /readyz: `health`), its
 * NATS connection (`connect`, when the service is ready to) and its SIGTERM drain
 * (`drainOnTerminate`). Each main states only what differs: the health checks, when it
 * connects, what it serves and its shutdown steps.
 */
export class ServiceRuntime {
  private constructor(
    private readonly config: ServiceRuntimeConfig,
    readonly log: Logger,
    readonly registry: Registry,
    readonly ops: OpsServer,
  ) {}

  /** Starts the ops server (after the logger and registry); `logFields` go on every log line after `service` and before `pid`. */
  static async start(service: string, config: ServiceRuntimeConfig, health: HealthSource, logFields: LogFields = {}): Promise<ServiceRuntime> {
    const log = createLogger({ service, ...logFields, pid: process.pid }, config.LOG_LEVEL);
    const registry = createRegistry(service);
    const ops = await startOpsServer(registry, health, config.HTTP_PORT, config.HTTP_HOST);
    log.info('ops HTTP listening', { port: ops.port });
    return new ServiceRuntime(config, log, registry, ops);
  }

  /** This service's NATS connection, named `clientName` (reconnects forever: libs/nats/cluster/connect.ts). */
  connect(clientName: string): Promise<NatsConnection> {
    return connectNats(this.config, clientName, this.log);
  }

  /** On SIGTERM/SIGINT runs `steps` in order within DRAIN_TIMEOUT_S (or `deadlineMs`), then exits (lifecycle.ts). */
  drainOnTerminate(steps: Array<() => Promise<void>>, deadlineMs = this.config.DRAIN_TIMEOUT_S * 1000): void {
    onTerminate(this.log, steps, deadlineMs);
  }
}
