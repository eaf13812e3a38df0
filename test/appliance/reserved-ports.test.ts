import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { renderSysctl } from '../../src/appliance/sysctl.js';
import { parseConfig } from '../../src/config/schema.js';
import { ownNamespace } from '../helpers/namespaces.js';

/** Opens `count` loopback connections inside the current namespace and prints their local ports as JSON. */
const connectScript = `
const net = require('node:net');
const count = Number(process.argv[1]);
const server = net.createServer((socket) => socket.on('error', () => {}));
server.listen(0, '127.0.0.1', async () => {
  const sockets = [];
  for (let i = 0; i < count; i++) {
    sockets.push(await new Promise((resolve, reject) => {
      const socket = net.connect(server.address().port, '127.0.0.1', () => resolve(socket));
      socket.once('error', reject);
    }));
  }
  console.log(JSON.stringify([server.address().port, ...sockets.map((socket) => socket.localPort)]));
  for (const socket of sockets) socket.destroy();
  server.close();
});`;

test('the rendered sysctl keeps the FTPS passive range out of the kernel’s ephemeral ports (own namespace)', (t) => {
  const ns = ownNamespace(t, 'moat-ports', ['sysctl']);
  if (!ns) return;
  const inNs = (...args: string[]) => spawnSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8' });
  assert.equal(inNs('ip', 'link', 'set', 'lo', 'up').status, 0);

  const { ports } = parseConfig({});
  const reserved = renderSysctl(parseConfig({}))
    .split('\n')
    .find((line) => line.startsWith('net.ipv4.ip_local_reserved_ports'));
  assert.ok(reserved, 'the sysctl file reserves ports');
  // Apply that one line (the others are not this test's business), then squeeze the ephemeral range around
  // the passive range: without the reservation about half of the ports below would land inside it.
  const set = inNs('sysctl', '-w', reserved.replace(' = ', '='));
  assert.equal(set.status, 0, set.stderr);
  const range = inNs('sysctl', '-w', `net.ipv4.ip_local_port_range=${ports.passiveMin} ${ports.passiveMax + 100}`);
  assert.equal(range.status, 0, range.stderr);

  const connections = 60;
  const opened = inNs(process.execPath, '-e', connectScript, String(connections));
  assert.equal(opened.status, 0, opened.stderr);
  const used = JSON.parse(opened.stdout) as number[];
  assert.equal(used.length, connections + 1);
  const inside = used.filter((port) => port >= ports.passiveMin && port <= ports.passiveMax);
  assert.deepEqual(inside, [], 'no ephemeral port inside the passive range');
});
