import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ipv4ToUint32LE } from '../net/ipv4-uint32.js';
import { addressRewriter } from './address-rewrite.js';

const printer = '192.0.2.10';
const lan = '198.51.100.5';
const rewrite = addressRewriter(printer, lan);

test('net.info ip and the rtsp_url host become the LAN address; nothing else changes', () => {
  const before = `{"print":{"net":{"conf":16,"info":[{"ip":${ipv4ToUint32LE(printer)},"mask":16777215},{"ip":0,"mask":0}]},"ipcam":{"rtsp_url":"rtsps://${printer}:322/streaming/live/1"},"note":"${printer} stays in free text","big":  ${ipv4ToUint32LE(printer)}1}}`;
  const after = rewrite(Buffer.from(before)).toString();
  assert.equal(
    after,
    before
      .replace(`"ip":${ipv4ToUint32LE(printer)}`, `"ip":${ipv4ToUint32LE(lan)}`)
      .replace(`rtsps://${printer}:322`, `rtsps://${lan}:322`),
  );
});

test('a payload without the printer address is returned as the same bytes', () => {
  const payload = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x7d]);
  assert.equal(rewrite(payload), payload);
  const other = Buffer.from('{"print":{"net":{"info":[{"ip":12345}]}}}');
  assert.equal(rewrite(other), other);
});

test('bytes that are not valid UTF-8 survive a rewrite unchanged', () => {
  const payload = Buffer.concat([
    Buffer.from(`{"x":"`),
    Buffer.from([0xc3, 0x28, 0xff]),
    Buffer.from(`","ip":${ipv4ToUint32LE(printer)}}`),
  ]);
  const out = rewrite(payload);
  assert.deepEqual(out.subarray(6, 9), Buffer.from([0xc3, 0x28, 0xff]));
  assert.ok(out.toString('latin1').endsWith(`"ip":${ipv4ToUint32LE(lan)}}`));
});

test('same address on both sides: identity', () => {
  const payload = Buffer.from(`{"ip":${ipv4ToUint32LE(printer)}}`);
  assert.equal(addressRewriter(printer, printer)(payload), payload);
});
