import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from './log.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, logger: createLogger({ destination, level: 'debug' }) };
}

test('secret fields are redacted wherever they sit in a log object', () => {
  const { lines, logger } = capture();
  logger.info({ accessCode: 'SECRET01', password: 'hunter22', user: { passphrase: 'wifi-pass' } }, 'login');
  logger.info({ req: { headers: { cookie: 'moat.sid=abcdef', authorization: 'Basic Zm9v' } } }, 'request');
  logger.info({ key: '-----BEGIN PRIVATE KEY-----' }, 'tls');
  const text = lines.join('');
  for (const secret of ['SECRET01', 'hunter22', 'wifi-pass', 'moat.sid=abcdef', 'Zm9v', 'BEGIN PRIVATE KEY']) {
    assert.ok(!text.includes(secret), `${secret} leaked into the log`);
  }
  assert.equal(text.match(/\[redacted\]/g)?.length, 6);
});
