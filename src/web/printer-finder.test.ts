import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import { foundPrinterFromNotify, startPrinterFinder } from './printer-finder.js';

function notify(serial: string, extra: Record<string, string> = {}): Buffer {
  const headers = {
    Host: '239.255.255.250:1990',
    Server: 'UPnP/1.0',
    Location: '192.0.2.23',
    NT: 'urn:bambulab-com:device:3dprinter:1',
    USN: serial,
    'Cache-Control': 'max-age=1800',
    'DevModel.bambu.com': 'C12',
    'DevName.bambu.com': 'Workshop P1S',
    'DevSignal.bambu.com': '-44',
    'DevConnect.bambu.com': 'lan',
    'DevBind.bambu.com': 'free',
    ...extra,
  };
  return Buffer.from(
    `NOTIFY * HTTP/1.1\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n`,
  );
}

test('a NOTIFY gives serial, address, model and name; malformed ones are ignored', () => {
  const found = foundPrinterFromNotify(notify('01P00A123456789'));
  assert.equal(found?.serial, '01P00A123456789');
  assert.equal(found?.address, '192.0.2.23');
  assert.equal(found?.model, 'P1S');
  assert.equal(found?.name, 'Workshop P1S');
  assert.equal(found?.signal, '-44');
  assert.equal(foundPrinterFromNotify(notify('bad serial!')), undefined);
  assert.equal(foundPrinterFromNotify(notify('01P00A1', { Location: 'http://192.0.2.23/' })), undefined);
  assert.equal(foundPrinterFromNotify(notify('01P00A1', { NT: 'urn:other' })), undefined);
  assert.equal(foundPrinterFromNotify(Buffer.from('M-SEARCH * HTTP/1.1\r\n\r\n')), undefined);
  assert.equal(foundPrinterFromNotify(Buffer.alloc(4096, 65)), undefined);
  assert.equal(foundPrinterFromNotify(notify('01P00A1', { 'DevModel.bambu.com': 'ZZZ' }))?.model, undefined);
});

test('the finder hears NOTIFY datagrams on its UDP port', async () => {
  const finder = await startPrinterFinder(0, '127.0.0.1');
  const sender = createSocket('udp4');
  try {
    const deadline = Date.now() + 5000;
    // UDP may drop a datagram: resend until heard (a real printer repeats every 5 s too).
    while (finder.found().length === 0) {
      assert.ok(Date.now() < deadline, 'NOTIFY not heard within 5 s');
      await new Promise<void>((resolve, reject) =>
        sender.send(notify('01S00C000000001'), finder.port, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual(
      finder.found().map((p) => p.serial),
      ['01S00C000000001'],
    );
  } finally {
    sender.close();
    await finder.close();
  }
});

test('NOTIFYs from ignored sources (the relay re-announcing from Moat) are not offered', async () => {
  const finder = await startPrinterFinder(0, '0.0.0.0', () => ['127.0.0.1']);
  const fromMoat = createSocket('udp4');
  const fromPrinter = createSocket('udp4');
  try {
    await new Promise<void>((resolve) => fromMoat.bind(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => fromPrinter.bind(0, '127.0.0.2', resolve));
    const deadline = Date.now() + 5000;
    while (finder.found().length === 0) {
      assert.ok(Date.now() < deadline, 'the printer NOTIFY was not heard within 5 s');
      fromMoat.send(notify('01S00CRELAYED0001'), finder.port, '127.0.0.1');
      fromPrinter.send(notify('01S00C000000002'), finder.port, '127.0.0.1');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual(
      finder.found().map((p) => p.serial),
      ['01S00C000000002'],
    );
  } finally {
    fromMoat.close();
    fromPrinter.close();
    await finder.close();
  }
});
