import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, test } from 'node:test';
import type { PrinterConfig } from '../../src/config/schema.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { collectMessages, connectMqtt, moatEndpoint, waitForPrinterReady } from '../helpers/mqtt-clients.js';
import { waitFor } from '../helpers/wait.js';

let harness: Harness | undefined;

function freePort(): Promise<number> {
  const server = createServer();
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    }),
  );
}
after(() => harness?.close());

test('a printer added while Moat runs (as the wizard does) is bridged without a restart of the process', async () => {
  let printer: PrinterConfig | undefined;
  const { logger, lines } = capturingLogger();
  const restarts = () => lines.filter((l) => l.msg === 'printer settings changed: restarting the bridges').length;
  harness = await startHarness({
    ftp: false,
    logger,
    // Start as a fresh appliance would: no printer yet.
    configure: (config) => {
      printer = config.printers[0];
      return { ...config, printers: [] };
    },
  });
  const moat = harness.moat;
  assert.ok(moat && printer);
  assert.deepEqual(moat.mqtt.printers(), []);
  assert.equal(harness.sim.stats.mqttConnections, 0, 'no printer configured, no upstream connection');

  const added = printer;
  moat.context.config.update((config) => ({ ...config, printers: [added] }));
  await waitForPrinterReady(harness);
  assert.equal(harness.sim.stats.mqttConnections, 1);

  const client = await connectMqtt(moatEndpoint(harness, 'viewer'));
  try {
    const topic = `device/${harness.serial}/report`;
    const reports = collectMessages(client, topic);
    await client.subscribeAsync(topic);
    await waitFor(() => reports.length > 0, { what: 'a report through the restarted bridge' });
  } finally {
    await client.endAsync(true);
  }

  // Changing something the bridges do not read (an access code's label) leaves them alone. A restart happens
  // after the change returns, so to see that none came, a change they do read (the MQTT port) follows: restarts
  // run one after another, so once that one is done, one the label caused would be logged before it.
  const restartsBefore = restarts();
  moat.context.config.update((config) => ({
    ...config,
    accessCodes: config.accessCodes.map((c) => ({ ...c, label: `${c.label} (renamed)` })),
  }));
  const port = await freePort();
  moat.context.config.update((config) => ({ ...config, ports: { ...config.ports, mqtt: port } }));
  await waitFor(() => lines.some((l) => l.msg === 'MQTT bridge listening' && l.port === port), {
    what: 'the bridges restarted on the new port',
  });
  assert.equal(restarts(), restartsBefore + 1, 'only the port change restarted the bridges');
});
