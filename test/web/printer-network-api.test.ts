import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { renderDnsmasqConfig } from '../../src/appliance/dnsmasq.js';
import { readSecret } from '../../src/config/secrets.js';
import { apiRequest, claimAsOwner, type FreshMoat, startFreshMoat } from './web-harness.js';

/**
 * The wizard API's printer-network settings that os-image/wifi-test.sh relies on in the booted image: the
 * printer's fixed lease by MAC (PUT /api/printers) and WPA2/WPA3 (PUT /api/segment), over real HTTPS with curl.
 */

let moat: FreshMoat;
let admin: { cookie: string; csrf: string };
const send = (method: string, path: string, body?: unknown) => apiRequest(moat, admin, method, path, body);
const printer = {
  serial: '01P00A000000077',
  model: 'P1S',
  address: '192.0.2.5',
  accessCode: '12345678',
  certificate: { policy: 'bbl-ca' },
};

before(async () => {
  moat = await startFreshMoat();
  admin = await claimAsOwner(moat, moat.claimCode(), 'printer network password');
});
after(async () => {
  await moat?.close();
});

test('a printer saved with its MAC gets a fixed lease of its address, and a second save replaces it', async () => {
  const saved = await send('PUT', '/api/printers', { ...printer, mac: '02:00:00:5A:00:01' });
  assert.equal(saved.status, 200, saved.body);
  assert.deepEqual(moat.moat.context.config.get().segment.reservations, [
    { mac: '02:00:00:5a:00:01', address: '192.0.2.5' },
  ]);
  assert.match(
    renderDnsmasqConfig(moat.moat.context.config.get()),
    /^dhcp-host=02:00:00:5a:00:01,192\.0\.2\.5,infinite$/m,
  );

  // The same printer on a new Wi-Fi card: one lease, the new MAC's.
  const moved = await send('PUT', '/api/printers', { ...printer, mac: '02:00:00:5a:00:02' });
  assert.equal(moved.status, 200, moved.body);
  assert.deepEqual(moat.moat.context.config.get().segment.reservations, [
    { mac: '02:00:00:5a:00:02', address: '192.0.2.5' },
  ]);
  // Saved without a MAC (the wizard's form as before), the lease stays.
  assert.equal((await send('PUT', '/api/printers', printer)).status, 200);
  assert.equal(moat.moat.context.config.get().segment.reservations.length, 1);
});

test('a bad MAC, or a fixed address outside the printer network, is a 400 naming the field; nothing changes', async () => {
  const before = JSON.stringify(moat.moat.context.config.get());
  const badMac = await send('PUT', '/api/printers', { ...printer, mac: '02:00:00:5a:00' });
  assert.equal(badMac.status, 400);
  assert.equal((JSON.parse(badMac.body) as { field: string }).field, 'mac');
  const outside = await send('PUT', '/api/printers', { ...printer, address: '198.51.100.5', mac: '02:00:00:5a:00:03' });
  assert.equal(outside.status, 400);
  assert.deepEqual(JSON.parse(outside.body), {
    error: 'The printer’s fixed address does not fit the printer network: 198.51.100.5 is outside the segment.',
    field: 'address',
  });
  assert.equal(JSON.stringify(moat.moat.context.config.get()), before, 'nothing changed');
  assert.equal((await send('GET', '/api/overview')).status, 200, 'the service keeps answering');
});

test('the printer network switches to WPA3 and back; the stored passphrase is kept when none is sent', async () => {
  const segment = { ssid: 'printers', country: 'DE', channel: 6 };
  const first = await send('PUT', '/api/segment', { ...segment, passphrase: 'printer network pass' });
  assert.equal(first.status, 200, first.body);
  assert.equal(moat.moat.context.config.get().segment.security, 'wpa2', 'WPA2 unless asked');
  const wpa3 = await send('PUT', '/api/segment', { ...segment, security: 'wpa3' });
  assert.equal(wpa3.status, 200, wpa3.body);
  assert.equal(moat.moat.context.config.get().segment.security, 'wpa3');
  assert.equal(readSecret(moat.paths, 'segment-passphrase'), 'printer network pass', 'passphrase kept');
  const bad = await send('PUT', '/api/segment', { ...segment, security: 'wep' });
  assert.equal(bad.status, 400);
  assert.equal((JSON.parse(bad.body) as { field: string }).field, 'security');
  assert.equal((await send('PUT', '/api/segment', { ...segment, security: 'wpa2' })).status, 200);
  assert.equal(moat.moat.context.config.get().segment.security, 'wpa2');
});
