import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ipv4ToUint32LE } from './ipv4-uint32.js';

test('an address encodes as Bambu reports it: first octet in the low byte (fixture: 2050140352)', () => {
  assert.equal(ipv4ToUint32LE('192.168.50.122'), 2050140352);
  assert.equal(ipv4ToUint32LE('255.255.255.255'), 0xffffffff);
});

test('a malformed address is refused', () => {
  assert.throws(() => ipv4ToUint32LE('192.168.1'), /not an IPv4 address/);
  assert.throws(() => ipv4ToUint32LE('1.2.3.256'), /not an IPv4 address/);
});
