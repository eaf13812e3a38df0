import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { test } from 'node:test';
import { formatNotify, headerValue, parseNotify, withHeader } from '../../src/discovery/notify-message.js';
import { printerNotifyHeaders, startNotifier } from '../../src/simulator/notify.js';
import { announcingTo, listenForAnnouncements } from '../helpers/discovery.js';
import { startHarness } from '../helpers/harness.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Loopback end-to-end test of the discovery relay: the simulated printer's NOTIFY reaches Moat, which
 * re-announces it to a LAN listener with Location = Moat's LAN address (127.0.0.2 here, the printer being
 * 127.0.0.1). The namespace test (topology) proves the same across real interfaces.
 */
test('the printer NOTIFY is re-announced with Moat as Location; junk and strangers are ignored and counted', async (t) => {
  const { port, announcements } = await listenForAnnouncements(t);
  const h = await startHarness({ mqtt: false, ftp: false, configure: (config) => announcingTo(config, port) });
  t.after(() => h.close());
  const moat = h.moat;
  assert.ok(moat);
  // The simulated printer announcing itself to Moat's discovery relay, as a printer on the segment does.
  const announcePrinter = () =>
    startNotifier({
      serial: h.serial,
      model: h.sim.model,
      location: '127.0.0.1',
      targetHost: '127.0.0.1',
      targetPort: moat.discovery.ports.notify,
      intervalMs: 200,
      bindAddress: '127.0.0.1',
      stats: h.sim.stats,
    });
  const notifier = await announcePrinter();
  t.after(() => notifier.close());

  const first = await waitFor(() => announcements[0], { what: 're-announced NOTIFY' });
  const parsed = parseNotify(first);
  assert.ok(parsed.ok);
  assert.equal(parsed.notify.location, '127.0.0.2');
  assert.equal(parsed.notify.serial, h.serial);
  const original = printerNotifyHeaders({ serial: h.serial, model: h.sim.model, location: '127.0.0.1' });
  assert.deepEqual(parsed.notify.headers, withHeader(original, 'Location', '127.0.0.2'), 'other headers preserved');
  await notifier.close();

  // 1,000 malformed or oversized datagrams, and a NOTIFY for a printer Moat does not know.
  const attacker = createSocket('udp4');
  t.after(() => attacker.close());
  attacker.bind(0, '127.0.0.1');
  await once(attacker, 'listening');
  const before = moat.discovery.stats();
  const announcedBefore = announcements.length;
  const junk = [
    Buffer.from('M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\n\r\n'),
    Buffer.alloc(4000, 0x41),
    Buffer.from('NOTIFY * HTTP/1.1\r\nUSN: \u0000\r\n\r\n'),
    Buffer.from([0xff, 0xfe, 0x00]),
  ];
  for (let i = 0; i < 1000; i++) {
    attacker.send(junk[i % junk.length] as Buffer, moat.discovery.ports.notify, '127.0.0.1');
    // Send in batches of 50 and let Moat count each batch, so the kernel's socket buffer drops none:
    // every datagram must be accounted for.
    if (i % 50 === 49) {
      await waitFor(() => moat.discovery.stats().received - before.received >= i + 1, { what: `batch up to ${i + 1}` });
    }
  }
  const stranger = formatNotify(withHeader(original, 'USN', '09X00X000000999'));
  attacker.send(stranger, moat.discovery.ports.notify, '127.0.0.1');
  const after = await waitFor(
    () => {
      const s = moat.discovery.stats();
      return s.received - before.received >= 1001 && s;
    },
    { what: `all 1,001 datagrams counted (${JSON.stringify(moat.discovery.stats())})`, timeoutMs: 10000 },
  );
  assert.equal(after.ignored.oversized - before.ignored.oversized, 250);
  assert.equal(after.ignored.malformed - before.ignored.malformed, 750);
  assert.equal(after.ignored.unknownPrinter - before.ignored.unknownPrinter, 1);
  assert.equal(after.relayed, before.relayed, 'nothing relayed');
  assert.equal(announcements.length, announcedBefore, 'nothing announced on the LAN');

  // And the relay still works afterwards.
  const again = await announcePrinter();
  t.after(() => again.close());
  const latest = await waitFor(() => announcements.length > announcedBefore && announcements.at(-1), {
    what: 'a NOTIFY relayed after the flood',
  });
  assert.equal(
    headerValue(
      (parseNotify(latest) as { ok: true; notify: { headers: [string, string][] } }).notify.headers,
      'Location',
    ),
    '127.0.0.2',
  );
});
