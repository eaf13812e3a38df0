import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { test } from 'node:test';
import { headerValue, parseNotify } from '../discovery/notify-message.js';
import { printerModel } from '../printer-models.js';
import { printerNotify, startNotifier } from './notify.js';
import { SimulatorStats } from './stats.js';

test('the simulated printer sends NOTIFYs with the headers a printer sends, at its interval', async (t) => {
  const receiver = createSocket('udp4');
  t.after(() => receiver.close());
  receiver.bind(0, '127.0.0.1');
  await once(receiver, 'listening');
  const datagrams: { message: Buffer; port: number }[] = [];
  receiver.on('message', (message, rinfo) => datagrams.push({ message, port: rinfo.port }));
  const stats = new SimulatorStats();
  const notifier = await startNotifier({
    serial: '01P00A000000007',
    model: printerModel('P1S'),
    location: '192.0.2.10',
    targetHost: '127.0.0.1',
    targetPort: receiver.address().port,
    intervalMs: 50,
    bindAddress: '127.0.0.1',
    stats,
  });
  t.after(() => notifier.close());
  const deadline = Date.now() + 5000;
  while (datagrams.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.ok(datagrams.length >= 3, 'several NOTIFYs arrive');
  const first = datagrams[0];
  assert.ok(first);
  assert.equal(first.port, notifier.port, 'sent from the notifier socket (1900 where it could bind it)');
  const parsed = parseNotify(first.message);
  assert.ok(parsed.ok);
  const { headers } = parsed.notify;
  assert.equal(parsed.notify.serial, '01P00A000000007');
  assert.equal(parsed.notify.location, '192.0.2.10');
  assert.equal(headerValue(headers, 'DevModel.bambu.com'), 'C12');
  for (const name of ['Cache-Control', 'DevName.bambu.com', 'DevSignal.bambu.com', 'DevConnect.bambu.com']) {
    assert.ok(headerValue(headers, name), `${name} present`);
  }
  for (const name of ['DevBind.bambu.com', 'Devseclink.bambu.com', 'DevVersion.bambu.com']) {
    assert.ok(headerValue(headers, name), `${name} present`);
  }
  assert.ok(stats.notifySent >= 3);
});

test("the simulated printer's NOTIFY is the reference's wire format, byte for byte", () => {
  const datagram = printerNotify({ serial: '01P00A000000007', model: printerModel('P1S'), location: '192.0.2.10' });
  assert.equal(
    datagram.toString('latin1'),
    [
      'NOTIFY * HTTP/1.1',
      'HOST: 239.255.255.250:1900',
      'Server: UPnP/1.0',
      'Location: 192.0.2.10',
      'NT: urn:bambulab-com:device:3dprinter:1',
      'USN: 01P00A000000007',
      'Cache-Control: max-age=1800',
      'DevModel.bambu.com: C12',
      'DevName.bambu.com: Simulated P1S',
      'DevSignal.bambu.com: -44',
      'DevConnect.bambu.com: lan',
      'DevBind.bambu.com: free',
      'Devseclink.bambu.com: secure',
      'DevVersion.bambu.com: 01.07.00.00',
      'DevCap.bambu.com: 1',
      '',
      '',
    ].join('\r\n'),
  );
});
