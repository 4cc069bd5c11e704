import { intOption, parseCommandArgs, UsageError } from '../args.js';
import { applyServiceFlags, runService, SERVICE_FLAGS } from './service.js';

/**
 * `faceshard gateway --keys FILE [--port P] [--host H] [--cors-origins O,...] [--no-thumbnails]`: the HTTP
 * gateway in this process, configured like a container (env), the flags a shortcut for it.
 */
export async function gatewayCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('gateway', argv, {
    ...SERVICE_FLAGS,
    keys: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    'cors-origins': { type: 'string' },
    'no-thumbnails': { type: 'boolean', default: false },
  });
  if (positionals.length) throw new UsageError(`faceshard gateway: unexpected argument "${positionals[0]}"`);
  applyServiceFlags(values);
  if (values.keys !== undefined) process.env.GATEWAY_API_KEYS_FILE = values.keys;
  if (values.port !== undefined) process.env.GATEWAY_HTTP_PORT = String(intOption('port', values.port, 0, 0, 65535));
  if (values.host !== undefined) process.env.GATEWAY_HTTP_HOST = values.host;
  if (values['cors-origins'] !== undefined) process.env.GATEWAY_CORS_ORIGINS = values['cors-origins'];
  if (values['no-thumbnails']) process.env.GATEWAY_THUMBNAILS = 'false';
  return runService('../../services/gateway/main.js');
}
