#!/usr/bin/env node
// The delay proxy as its own process (a host of the chaos lab): `node proxy-main.js <listen-host>
// <listen-port>=<target-host>:<target-port>...`. It prints "ready" once listening; each line on
// stdin is a link shape ({"delayMs", "lossRate", "rtoMs"}), acknowledged with "shape <json>".
import readline from 'node:readline';
import { DelayProxy, parseLinkShape, type ProxyRoute } from './proxy.js';

function parseRoute(arg: string): ProxyRoute {
  const m = /^(\d+)=([\w.-]+):(\d+)$/.exec(arg);
  if (!m) throw new Error(`a route is <listen-port>=<target-host>:<target-port>, got ${JSON.stringify(arg)}`);
  return { listenPort: Number(m[1]), targetHost: m[2], targetPort: Number(m[3]) };
}

const [listenHost, ...routeArgs] = process.argv.slice(2);
if (!listenHost || routeArgs.length === 0) {
  console.error('usage: proxy-main <listen-host> <listen-port>=<target-host>:<target-port> ...');
  process.exit(2);
}
const proxy = new DelayProxy(listenHost, routeArgs.map(parseRoute));
await proxy.start();
console.log('ready');
for await (const line of readline.createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  try {
    const shape = parseLinkShape(JSON.parse(line));
    proxy.setShape(shape);
    console.log(`shape ${JSON.stringify(shape)}`);
  } catch (err) {
    console.log(`error ${(err as Error).message}`);
  }
}
// stdin closed: the harness is gone
await proxy.stop();
process.exit(0);
