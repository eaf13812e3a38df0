import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { test } from 'node:test';
import { startHarness } from '../helpers/harness.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { moatEndpoint, mosquittoArgs, waitForPrinterReady } from '../helpers/mqtt-clients.js';
import { run } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The audit log is a shared service on the service context, not the MQTT bridge's: while the bridges are
 * down (here: their restart failed on a taken camera relay port) the dashboard's audit view still shows what happened.
 */
test('the audit view keeps its entries while the printer plane is down after a failed restart', async (t) => {
  const { logger, lines } = capturingLogger();
  const h = await startHarness({ ftp: false, logger });
  t.after(() => h.close());
  const moat = h.moat;
  assert.ok(moat);
  await waitForPrinterReady(h);
  const pause = JSON.stringify({ print: { sequence_id: 'a1', command: 'pause', param: '' } });
  const sent = await run('mosquitto_pub', [
    ...mosquittoArgs(moatEndpoint(h, 'viewer')),
    '-t',
    `device/${h.serial}/request`,
    '-m',
    pause,
    '-q',
    '1',
  ]);
  assert.equal(sent.code, 0, sent.stderr);
  const refused = () =>
    moat.status.audit({ outcome: 'refused' }).then((e) => e.some((x) => x.command === 'print.pause'));
  await waitFor(refused, { what: "the viewer's pause audited as refused" });

  const taken = createServer();
  taken.listen(0, '127.0.0.1');
  await once(taken, 'listening');
  t.after(() => taken.close());
  moat.context.config.update((config) => ({
    ...config,
    relays: { ...config.relays, ports: { ...config.relays.ports, tunnel: (taken.address() as AddressInfo).port } },
  }));
  await waitFor(() => lines.some((l) => l.msg === 'bridges could not restart with the new settings'), {
    what: 'the failed restart',
  });
  assert.equal(moat.mqtt.port, 0, 'no MQTT bridge runs');
  assert.equal(await refused(), true, 'the audit entry is still there while the bridges are down');
});
