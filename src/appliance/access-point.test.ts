import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseKeyfile } from '../../test/helpers/keyfile.js';
import { defaultConfig, parseConfig } from '../config/schema.js';
import { ConfigError } from '../config/validate.js';
import { renderAccessPointKeyfile, renderWifiCountry } from './access-point.js';

test('the access point keyfile is a WPA2 AP with a manual address and no NAT of its own', () => {
  const config = parseConfig({
    segment: {
      ssid: 'printers',
      channel: 11,
      address: '198.51.100.1',
      prefixLength: 24,
      dhcpRangeStart: '198.51.100.100',
      dhcpRangeEnd: '198.51.100.150',
    },
  });
  const keyfile = parseKeyfile(renderAccessPointKeyfile(config.segment, 'correct horse battery'));
  assert.equal(keyfile.connection?.type, 'wifi');
  assert.equal(keyfile.connection?.['interface-name'], 'wlan0');
  assert.match(keyfile.connection?.uuid ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.deepEqual(keyfile.wifi, { mode: 'ap', ssid: 'printers', band: 'bg', channel: '11', 'ap-isolation': '1' });
  assert.equal(keyfile['wifi-security']?.['key-mgmt'], 'wpa-psk');
  assert.equal(keyfile['wifi-security']?.pairwise, 'ccmp');
  assert.equal(keyfile['wifi-security']?.psk, 'correct horse battery');
  // "shared" would make NetworkManager run its own DHCP server and NAT.
  assert.deepEqual(keyfile.ipv4, { method: 'manual', address1: '198.51.100.1/24', 'never-default': 'true' });
  assert.equal(keyfile.ipv6?.method, 'disabled');
});

test('WPA3 uses SAE with protected management frames required; 5 GHz channels select band a', () => {
  const config = parseConfig({ segment: { security: 'wpa3', channel: 36 } });
  const keyfile = parseKeyfile(renderAccessPointKeyfile(config.segment, 'a-long-passphrase'));
  assert.equal(keyfile['wifi-security']?.['key-mgmt'], 'sae');
  assert.equal(keyfile['wifi-security']?.pmf, '3');
  assert.equal(keyfile.wifi?.band, 'a');
});

test('passphrase and SSID survive keyfile escaping; the UUID is stable across renders', () => {
  const config = parseConfig({ segment: { ssid: ' lead\\space' } });
  const passphrase = ' back\\slash #not-a-comment';
  const text = renderAccessPointKeyfile(config.segment, passphrase);
  const keyfile = parseKeyfile(text);
  assert.equal(keyfile['wifi-security']?.psk, passphrase);
  assert.equal(keyfile.wifi?.ssid, ' lead\\space');
  assert.equal(
    parseKeyfile(renderAccessPointKeyfile(defaultConfig().segment, 'x'.repeat(8))).connection?.uuid,
    keyfile.connection?.uuid,
  );
});

test('a bad passphrase, SSID or channel is refused with the field named', () => {
  const segment = defaultConfig().segment;
  for (const bad of ['short', 'x'.repeat(64), 'tab\tinside', 'new\nline=1']) {
    assert.throws(
      () => renderAccessPointKeyfile(segment, bad),
      (e: unknown) => e instanceof ConfigError && e.field === 'secrets.segment-passphrase',
    );
  }
  assert.throws(() => renderAccessPointKeyfile({ ...segment, ssid: 'evil\n[ipv4]' }, 'passphrase'), /segment\.ssid/);
  assert.throws(() => renderAccessPointKeyfile({ ...segment, channel: 20 }, 'passphrase'), /segment\.channel/);
});

test('the Wi-Fi country goes to cfg80211 as the regulatory domain', () => {
  const config = parseConfig({ segment: { country: 'DE' } });
  assert.match(renderWifiCountry(config.segment), /^options cfg80211 ieee80211_regdom=DE$/m);
});
