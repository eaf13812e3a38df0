import assert from 'node:assert/strict';
import { type AddressInfo, createServer } from 'node:net';
import { test } from 'node:test';
import { mqttBridge } from '../../src/mqtt/bridge.js';
import { mosquittoArgs } from '../helpers/mqtt-clients.js';
import { run } from '../helpers/process.js';
import { printerContext } from '../helpers/test-context.js';
import { waitFor } from '../helpers/wait.js';

test('the MQTT bridge started alone carries the printer report to mosquitto_sub and refuses a wrong code', async (t) => {
  const { sim, tc } = await printerContext(t, { mqtt: 'tls', ftp: false });
  const bridge = await mqttBridge.start(tc.ctx);
  t.after(() => bridge.close());
  await waitFor(() => bridge.printers()[0]?.state, {
    timeoutMs: 15_000,
    what: 'the bridge to cache the printer state',
  });

  const endpoint = { port: bridge.port, caFile: tc.moatCaFile, password: tc.codes.viewer };
  const topic = `device/${sim.serial}/report`;
  const received = await run('mosquitto_sub', [...mosquittoArgs(endpoint), '-t', topic, '-C', '1', '-W', '15']);
  assert.equal(received.code, 0, received.stderr);
  const report = JSON.parse(received.stdout) as { print?: { command?: string } };
  assert.equal(report.print?.command, 'push_status', 'a full report from the cache');

  const refused = await run('mosquitto_sub', [
    ...mosquittoArgs({ ...endpoint, password: 'wrong123' }),
    '-t',
    topic,
    '-C',
    '1',
    '-W',
    '15',
  ]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /not authori[sz]ed|bad user name or password/i);
});

test('a bridge whose LAN port is taken fails to start and leaves nothing running behind it', async (t) => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.after(() => taken.close());
  const port = (taken.address() as AddressInfo).port;
  const { tc } = await printerContext(t, { mqtt: 'tls', ftp: false }, {}, (config) => ({
    ...config,
    ports: { ...config.ports, mqtt: port },
  }));
  const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
  const before = timers();
  await assert.rejects(mqttBridge.start(tc.ctx), /EADDRINUSE/);
  assert.equal(timers(), before, 'aedes closed again: its heartbeat timer is gone');
});
