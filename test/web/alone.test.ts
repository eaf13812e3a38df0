import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { web } from '../../src/web/server.js';
import { run } from '../helpers/process.js';
import { testContext } from '../helpers/test-context.js';

/** Whether express is in this process (it is CommonJS: loaded, it is in the require cache). */
const expressLoaded = () =>
  Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes('/express/'));

test('express is loaded at the first HTTPS request, and concurrent first requests are all answered', async (t) => {
  const tc = await testContext();
  t.after(() => tc.close());
  const server = await web.start(tc.ctx);
  t.after(() => server.close());
  assert.equal(expressLoaded(), false, 'express is not loaded before the first request');

  const paths = ['/', '/api/session', '/js/ui/main.js', '/api/session', '/', '/no-such-page'];
  const first = await run('curl', [
    '-sS',
    '--cacert',
    tc.moatCaFile,
    '--parallel',
    '--parallel-immediate',
    '-w',
    '%{http_code} %{url_effective}\\n',
    ...paths.flatMap((path) => ['-o', '/dev/null', `https://127.0.0.1:${server.httpsPort}${path}`]),
  ]);
  assert.equal(first.code, 0, first.stderr);
  const answers = first.stdout.trim().split('\n').sort();
  assert.equal(answers.length, paths.length, first.stdout);
  for (const answer of answers) {
    const [status, url] = answer.split(' ');
    assert.equal(status, url?.endsWith('/no-such-page') ? '404' : '200', answer);
  }
  assert.equal(expressLoaded(), true, 'the first request loaded express');
});

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
