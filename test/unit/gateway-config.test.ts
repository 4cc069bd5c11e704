import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../libs/config/env.js';
import { loadGatewayConfig } from '../../services/gateway/config.js';

test('gateway config: defaults (port 8080, 4 MiB bodies, CORS off), origins as a list', () => {
  const config = loadGatewayConfig({ GATEWAY_API_KEYS_FILE: '/etc/faceshard/keys' });
  assert.equal(config.GATEWAY_HTTP_PORT, 8080);
  assert.equal(config.GATEWAY_MAX_BODY_BYTES, 4 * 1024 * 1024);
  assert.deepEqual(config.GATEWAY_CORS_ORIGINS, []);
  assert.equal(config.NATS_URL, 'nats://127.0.0.1:4222');
  const cors = loadGatewayConfig({ GATEWAY_API_KEYS_FILE: 'k', GATEWAY_CORS_ORIGINS: ' https://a.example , https://b.example,' });
  assert.deepEqual(cors.GATEWAY_CORS_ORIGINS, ['https://a.example', 'https://b.example']);
});

test('gateway config: no keys file or a bad number stops it, naming the variable', () => {
  assert.throws(
    () => loadGatewayConfig({}),
    (err: Error) => err instanceof ConfigError && /GATEWAY_API_KEYS_FILE/.test(err.message),
  );
  assert.throws(
    () => loadGatewayConfig({ GATEWAY_API_KEYS_FILE: 'k', GATEWAY_MAX_BODY_BYTES: '10' }),
    (err: Error) => err instanceof ConfigError && /GATEWAY_MAX_BODY_BYTES/.test(err.message),
  );
});
