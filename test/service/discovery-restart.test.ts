import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { test } from 'node:test';
import { formatNotify, parseNotify } from '../../src/discovery/notify-message.js';
import { ssdpGroup } from '../../src/discovery/service.js';
import { printerNotifyHeaders } from '../../src/simulator/notify.js';
import { announcingTo, listenForAnnouncements } from '../helpers/discovery.js';
import { startHarness } from '../helpers/harness.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { connectMqtt, moatEndpoint, waitForPrinterReady } from '../helpers/mqtt-clients.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Discovery joins the SSDP group on the printer segment's address when it starts. A segment set up wrongly
 * first and corrected later (as in the wizard's network step) must take effect without restarting Moat, and
 * without dropping the LAN clients of the bridges, which do not read the segment. Loopback stands in for the
 * segment: multicast sent out of `lo` reaches only a socket that joined the group on `lo`.
 */
test('a change of the printer segment restarts discovery (and only discovery)', async (t) => {
  const { port, announcements } = await listenForAnnouncements(t);
  const { logger, lines } = capturingLogger();
  const h = await startHarness({
    ftp: false,
    logger,
    configure: (config) => ({
      ...announcingTo(config, port),
      // No interface holds this address: joining the group there fails.
      segment: { ...config.segment, address: '192.0.2.1' },
    }),
  });
  t.after(() => h.close());
  const moat = h.moat;
  assert.ok(moat);
  const joinFailures = () => lines.filter((l) => /cannot join the SSDP multicast group/.test(String(l.msg)));
  assert.deepEqual(
    joinFailures().map((l) => l.segment),
    ['192.0.2.1'],
  );
  await waitForPrinterReady(h);
  const client = await connectMqtt(moatEndpoint(h, 'viewer'));
  t.after(() => client.endAsync(true));
  let clientCloses = 0;
  client.on('close', () => clientCloses++);
  const bridge = moat.mqtt;

  const before = moat.discovery.ports;
  moat.context.config.update((config) => ({ ...config, segment: { ...config.segment, address: '127.0.0.1' } }));
  const after = await waitFor(() => moat.discovery.ports.multicast !== before.multicast && moat.discovery.ports, {
    what: 'discovery to restart on the new segment',
  });
  assert.equal(joinFailures().length, 1, 'the group was joined on the corrected segment');

  // A printer multicasting its NOTIFY on the segment is now heard and re-announced on the LAN.
  const printer = createSocket('udp4');
  t.after(() => printer.close());
  printer.bind(0, '127.0.0.1');
  await once(printer, 'listening');
  printer.setMulticastInterface('127.0.0.1');
  const notify = formatNotify(printerNotifyHeaders({ serial: h.serial, model: h.sim.model, location: '127.0.0.1' }));
  const relayed = await waitFor(
    () => {
      printer.send(notify, after.multicast, ssdpGroup);
      return announcements[0];
    },
    { what: 'the multicast NOTIFY re-announced', intervalMs: 200 },
  );
  const parsed = parseNotify(relayed);
  assert.ok(parsed.ok);
  assert.equal(parsed.notify.location, '127.0.0.2');

  // The bridges were left alone: same MQTT bridge, and the LAN client never lost its connection.
  assert.equal(moat.mqtt, bridge, 'the MQTT bridge was not restarted');
  assert.equal(clientCloses, 0);
  assert.equal(moat.mqtt.clients().length, 1);
});
