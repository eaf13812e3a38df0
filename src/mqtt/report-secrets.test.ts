import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withoutSecrets } from './report-secrets.js';

const code = 'K7PX3QMA';
const clean = (value: unknown) => {
  const result = withoutSecrets(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)), code);
  assert.ok(result, 'dropped');
  return result;
};

test('a report without credentials keeps its exact bytes', () => {
  const payload = Buffer.from('{"print":{"command":"push_status",  "nozzle_temper":220.5}}');
  const result = withoutSecrets(payload, code);
  assert.equal(result?.payload, payload);
  assert.deepEqual(result?.removed, []);
});

test("the printer's get_access_code answer loses its access_code", () => {
  const result = clean({
    system: { command: 'get_access_code', sequence_id: '3', access_code: code, result: 'success' },
  });
  assert.deepEqual(result.removed, ['system.access_code']);
  assert.ok(!result.payload.toString().includes(code));
  assert.deepEqual(result.parsed, { system: { command: 'get_access_code', sequence_id: '3', result: 'success' } });
});

test('credential fields go by name at any depth, also when the value is not the printer code', () => {
  const result = clean({
    print: { net: { info: [{ ip: 1, password: 'wifi-secret' }] }, accessCode: 'x', dev_access_code: 'y' },
    cloud: { access_token: 't', refreshToken: 'r', secret: 's', passwd: 'p', pwd: 'q' },
  });
  assert.deepEqual(result.removed.sort(), [
    'cloud.access_token',
    'cloud.passwd',
    'cloud.pwd',
    'cloud.refreshToken',
    'cloud.secret',
    'print.accessCode',
    'print.dev_access_code',
    'print.net.info.0.password',
  ]);
  assert.deepEqual(result.parsed, { print: { net: { info: [{ ip: 1 }] } }, cloud: {} });
});

test('the printer code under any other name, or inside a URL, is removed too', () => {
  const result = clean({
    system: { command: 'get_access_code', code },
    print: { ipcam: { rtsp_url: `rtsps://bblp:${code}@192.0.2.10/streaming/live/1` }, list: ['a', code] },
  });
  assert.deepEqual(result.removed.sort(), ['print.ipcam.rtsp_url', 'print.list.1', 'system.code']);
  assert.ok(!result.payload.toString().includes(code));
  // JSON escapes cannot hide the field name: the check runs on the parsed report.
  const escaped = clean('{"system":{"access\\u005fcode":"abc"}}');
  assert.deepEqual(escaped.removed, ['system.access_code']);
});

test('a payload that is not JSON is dropped when it holds the printer code, else forwarded as it came', () => {
  assert.equal(withoutSecrets(Buffer.from(`garbage ${code}`), code), undefined);
  const other = Buffer.from('garbage');
  assert.equal(withoutSecrets(other, code)?.payload, other);
  assert.equal(withoutSecrets(other, code)?.parsed, undefined);
});
