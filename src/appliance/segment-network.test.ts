import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultConfig } from '../config/schema.js';
import { ConfigError } from '../config/validate.js';
import { checkSegment, ipv4ToNumber, netmask, numberToIpv4 } from './segment-network.js';

const segment = defaultConfig().segment;

function fieldOf(change: Partial<typeof segment>): string | undefined {
  try {
    checkSegment({ ...segment, ...change });
    return undefined;
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.field;
  }
}

test('addresses convert both ways and netmasks follow the prefix length', () => {
  assert.equal(numberToIpv4(ipv4ToNumber('203.0.113.254')), '203.0.113.254');
  assert.equal(ipv4ToNumber('0.0.1.2'), 258);
  assert.equal(netmask(24), '255.255.255.0');
  assert.equal(netmask(20), '255.255.240.0');
  assert.equal(netmask(30), '255.255.255.252');
});

test('the default segment is consistent', () => {
  assert.equal(fieldOf({}), undefined);
});

test('inconsistent segments name the offending field', () => {
  assert.equal(fieldOf({ address: '192.0.2.0' }), 'segment.address'); // network address
  assert.equal(fieldOf({ address: '192.0.2.255' }), 'segment.address'); // broadcast
  assert.equal(fieldOf({ dhcpRangeEnd: '198.51.100.20' }), 'segment.dhcpRangeEnd');
  assert.equal(fieldOf({ dhcpRangeStart: '192.0.2.60' }), 'segment.dhcpRangeStart'); // after the end
  assert.equal(fieldOf({ address: '192.0.2.20' }), 'segment.address'); // inside the DHCP range
  assert.equal(
    fieldOf({ reservations: [{ mac: '02:00:00:00:00:01', address: '203.0.113.5' }] }),
    'segment.reservations[0].address',
  );
  assert.equal(
    fieldOf({ reservations: [{ mac: '02:00:00:00:00:01', address: '192.0.2.1' }] }),
    'segment.reservations[0].address',
  );
  assert.equal(
    fieldOf({
      reservations: [
        { mac: '02:00:00:00:00:01', address: '192.0.2.5' },
        { mac: '02:00:00:00:00:01', address: '192.0.2.6' },
      ],
    }),
    'segment.reservations[1].mac',
  );
});
