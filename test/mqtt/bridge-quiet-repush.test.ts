import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { type Harness, startHarness } from '../helpers/harness.js';
import { collectMessages, connectMqtt, moatEndpoint, waitForPrinterReady } from '../helpers/mqtt-clients.js';
import { waitFor } from '../helpers/wait.js';

const harnesses: Harness[] = [];
const clients: MqttClient[] = [];
after(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true).catch(() => {});
  for (const h of harnesses.splice(0)) await h.close();
});

test('a printer that reports is not asked again; once it goes quiet, it is asked each quiet period', async () => {
  const h = await startHarness({
    model: 'P1S',
    ftp: false,
    // An idle printer: the simulator publishes nothing unless asked or told to.
    simulator: { mqtt: { transport: 'tls', printTickMs: 3_600_000 } },
    configure: (config) => ({ ...config, mqtt: { ...config.mqtt, quietRepushMs: 1000, pushallIntervalMs: 0 } }),
  });
  harnesses.push(h);
  await waitForPrinterReady(h);
  const topic = `device/${h.serial}/report`;
  const viewer = await connectMqtt(moatEndpoint(h, 'viewer'));
  clients.push(viewer);
  const got = collectMessages(viewer, topic);
  await viewer.subscribeAsync(topic);
  const seen = (n: number) => got.some((m) => (m.print as Record<string, unknown> | undefined)?.test_seq === n);

  // The printer reports every 200 ms (a printing P1S's rate is 0.5–1 s) for four quiet periods.
  let sent = 0;
  const reporting = setInterval(() => {
    h.sim.publishReport?.(JSON.stringify({ print: { command: 'push_status', msg: 1, test_seq: sent++ } }));
  }, 200);
  try {
    await waitFor(() => seen(2), { what: 'the first reports through Moat' });
    const pushallsWhileReporting = h.sim.stats.pushallCount;
    await waitFor(() => seen(22), { what: 'four seconds of reports through Moat' });
    assert.equal(h.sim.stats.pushallCount, pushallsWhileReporting, 'a reporting printer was asked for its state');
  } finally {
    clearInterval(reporting);
  }

  const pushallsWhenQuiet = h.sim.stats.pushallCount;
  await waitFor(() => h.sim.stats.pushallCount >= pushallsWhenQuiet + 2, {
    what: 'two quiet re-pushes',
    timeoutMs: 10_000,
  });
});
