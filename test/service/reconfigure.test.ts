import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { PrinterConfig } from '../../src/config/schema.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { collectMessages, connectMqtt, moatEndpoint, waitForPrinterReady } from '../helpers/mqtt-clients.js';
import { waitFor } from '../helpers/wait.js';

let harness: Harness | undefined;
after(() => harness?.close());

test('a printer added while Moat runs (as the wizard does) is bridged without a restart of the process', async () => {
  let printer: PrinterConfig | undefined;
  harness = await startHarness({
    ftp: false,
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

  // Changing something the bridges do not read (an access code's label) leaves their connections alone.
  const before = harness.sim.stats.mqttPeakConnections;
  moat.context.config.update((config) => ({
    ...config,
    accessCodes: config.accessCodes.map((c) => ({ ...c, label: `${c.label} (renamed)` })),
  }));
  assert.equal(harness.sim.stats.mqttConnections, 1);
  assert.equal(harness.sim.stats.mqttPeakConnections, before);
});
