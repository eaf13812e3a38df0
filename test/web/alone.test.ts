import assert from 'node:assert/strict';
import { test } from 'node:test';
import { web } from '../../src/web/server.js';
import { run } from '../helpers/process.js';
import { testContext } from '../helpers/test-context.js';

test('the web server started alone serves the setup page to curl over HTTPS and redirects HTTP there', async (t) => {
  const tc = await testContext();
  t.after(() => tc.close());
  const server = await web.start(tc.ctx);
  t.after(() => server.close());

  const page = await run('curl', [
    '-sS',
    '--cacert',
    tc.moatCaFile,
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    `https://127.0.0.1:${server.httpsPort}/`,
  ]);
  assert.equal(page.code, 0, page.stderr);
  assert.equal(page.stdout, '200');
  const session = await run('curl', [
    '-sS',
    '--cacert',
    tc.moatCaFile,
    `https://127.0.0.1:${server.httpsPort}/api/session`,
  ]);
  assert.equal(session.code, 0, session.stderr);
  assert.equal((JSON.parse(session.stdout) as { claimed?: boolean }).claimed, false, 'a fresh Moat is unclaimed');

  const redirect = await run('curl', [
    '-sS',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code} %{redirect_url}',
    `http://127.0.0.1:${server.httpPort}/`,
  ]);
  assert.equal(redirect.stdout, `301 https://127.0.0.1:${server.httpsPort}/`);
});
