import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { readSecret } from '../../src/config/secrets.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { run } from '../helpers/process.js';
import { anonymousSession, apiRequest, claimAsOwner, curl, type FreshMoat, startFreshMoat } from './web-harness.js';

/** The setup page's guards, checked from outside with curl over real HTTPS. */

let moat: FreshMoat;
const password = 'correct horse battery';
let admin: { cookie: string; csrf: string };
let claimCode = '';

const anonymous = () => anonymousSession(moat);

function send(
  session: { cookie: string; csrf?: string },
  method: string,
  path: string,
  body?: unknown,
  extra: string[] = [],
) {
  return apiRequest(moat, session, method, path, body, extra);
}

const log = capturingLogger('debug');

before(async () => {
  moat = await startFreshMoat(undefined, log.logger);
  claimCode = moat.claimCode();
  admin = await claimAsOwner(moat, claimCode, password);
});
after(async () => {
  await moat?.close();
});

test('every /api route answers 401 without a logged-in session', async () => {
  const session = await anonymous();
  for (const path of ['/api/overview', '/api/setup', '/api/audit', '/api/ca.crt', '/api/events', '/api/network']) {
    const response = await curl(moat, path);
    assert.equal(response.status, 401, path);
    assert.equal((await send(session, 'GET', path)).status, 401, `${path} with an anonymous session`);
  }
  // A valid CSRF token of an anonymous session does not make up for the missing login.
  for (const [method, path] of [
    ['POST', '/api/access-codes'],
    ['PUT', '/api/segment'],
    ['PUT', '/api/printers'],
    ['DELETE', '/api/access-codes/abc'],
    ['PUT', '/api/firewall/cloud'],
    ['POST', '/api/wifi/connect'],
  ] as const) {
    assert.equal((await send(session, method, path, {})).status, 401, `${method} ${path}`);
  }
  // The logged-in session does get through.
  assert.equal((await send(admin, 'GET', '/api/overview')).status, 200);
});

test('a state-changing request without the right CSRF token is refused with 403 and changes nothing', async () => {
  const body = { label: 'csrf probe', role: 'viewer' };
  const noToken = await send({ cookie: admin.cookie }, 'POST', '/api/access-codes', body);
  assert.equal(noToken.status, 403);
  assert.match(noToken.body, /reload/);
  const wrongToken = await send(
    { cookie: admin.cookie, csrf: (await anonymous()).csrf },
    'POST',
    '/api/access-codes',
    body,
  );
  assert.equal(wrongToken.status, 403);
  assert.equal(moat.moat.context.config.get().accessCodes.length, 0, 'nothing was created');
  const ok = await send(admin, 'POST', '/api/access-codes', body);
  assert.equal(ok.status, 200, ok.body);
  assert.equal(moat.moat.context.config.get().accessCodes.length, 1);
  // The unauthenticated entry points are guarded too.
  assert.equal((await send({ cookie: (await anonymous()).cookie }, 'POST', '/api/login', { password })).status, 403);
});

test('the session cookie is HttpOnly, Secure, SameSite=Strict and host-only', async () => {
  const response = await curl(moat, '/api/session');
  const cookie = response.headers['set-cookie']?.[0] ?? '';
  assert.match(cookie, /^__Host-moat-session=/);
  for (const flag of [/;\s*HttpOnly/i, /;\s*Secure/i, /;\s*SameSite=Strict/i, /;\s*Path=\//])
    assert.match(cookie, flag);
  assert.doesNotMatch(cookie, /Domain=/i);
});

test('pages carry a strict Content-Security-Policy without inline script', async () => {
  for (const path of ['/', '/api/session']) {
    const csp = (await curl(moat, path)).headers['content-security-policy']?.[0] ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  }
  const page = await curl(moat, '/');
  assert.doesNotMatch(page.body, /<script(?![^>]*\bsrc=)[^>]*>/i, 'no inline <script> in the page');
  assert.doesNotMatch(page.body, /<style|\sstyle=|\son[a-z]+=/i, 'no inline styles or handlers');
});

test('the HTTP port only redirects to HTTPS', async () => {
  const redirect = await run('curl', ['-sS', '-i', `http://127.0.0.1:${moat.httpPort}/api/overview`]);
  assert.equal(redirect.code, 0, redirect.stderr);
  const output = redirect.stdout;
  assert.match(output, /^HTTP\/1\.1 301/);
  assert.match(output, new RegExp(`Location: https://127\\.0\\.0\\.1:${moat.moat.web.httpsPort}/\\r?\\n`));
  assert.doesNotMatch(output, /Please log in|csrf/i, 'no API answer over plain HTTP');
});

test('TLS below 1.2 is refused', async () => {
  const result = await run('curl', [
    ...['-sS', '-o', '/dev/null', '--tlsv1.1', '--tls-max', '1.1', '--cacert', moat.caFile, `${moat.baseUrl}/`],
  ]);
  assert.notEqual(result.code, 0);
});

test('bad input gets a clear 400 and the service keeps answering', async () => {
  const malformed = await curl(moat, '/api/segment', [
    '-X',
    'PUT',
    '-H',
    `Cookie: ${admin.cookie}`,
    '-H',
    `X-CSRF-Token: ${admin.csrf}`,
    '-H',
    'Content-Type: application/json',
    '--data',
    '{not json',
  ]);
  assert.equal(malformed.status, 400);
  assert.match(malformed.body, /malformed/);
  const badChannel = await send(admin, 'PUT', '/api/segment', {
    ssid: 'printers',
    passphrase: 'long enough pass',
    country: 'DE',
    channel: 999,
  });
  assert.equal(badChannel.status, 400);
  assert.equal((JSON.parse(badChannel.body) as { field: string }).field, 'channel');
  const unknownField = await send(admin, 'PUT', '/api/firewall/cloud', { mode: 'strict', extra: 1 });
  assert.equal(unknownField.status, 400);
  const badAudit = await send(admin, 'GET', '/api/audit?outcome=%3Cscript%3E');
  assert.equal(badAudit.status, 400);
  assert.equal(moat.moat.context.config.get().firewall.cloudAccess, 'off', 'nothing changed');
  assert.equal((await send(admin, 'GET', '/api/overview')).status, 200);
});

test('the segment step keeps the stored passphrase when the field is left empty, and asks for one when none is stored', async () => {
  const segment = (channel: number, passphrase?: string) =>
    send(admin, 'PUT', '/api/segment', {
      ssid: 'printers',
      country: 'DE',
      channel,
      ...(passphrase !== undefined && { passphrase }),
    });
  assert.equal(readSecret(moat.paths, 'segment-passphrase'), undefined, 'no passphrase stored yet');
  const none = await segment(1);
  assert.equal(none.status, 400);
  assert.equal((JSON.parse(none.body) as { field: string }).field, 'passphrase');
  assert.equal((await segment(6, 'first passphrase 1')).status, 200);
  assert.equal(readSecret(moat.paths, 'segment-passphrase'), 'first passphrase 1');
  for (const [channel, empty] of [
    [11, undefined],
    [1, ''],
  ] as const) {
    const kept = await segment(channel, empty);
    assert.equal(kept.status, 200, kept.body);
    assert.equal(moat.moat.context.config.get().segment.channel, channel);
    assert.equal(readSecret(moat.paths, 'segment-passphrase'), 'first passphrase 1', 'the stored passphrase is kept');
  }
});

test('no password, claim code, cookie, CSRF token or access code reaches the log', async () => {
  const created = await send(admin, 'POST', '/api/access-codes', { label: 'log probe', role: 'operator' });
  const code = (JSON.parse(created.body) as { code: string }).code;
  await send(admin, 'PUT', '/api/segment', {
    ssid: 'printers',
    passphrase: 'segment secret 123',
    country: 'DE',
    channel: 6,
  });
  await send(await anonymous(), 'POST', '/api/login', { password: 'a wrong password here' });
  const text = log.text();
  assert.match(text, /device claimed/, 'the log did capture the claim');
  assert.match(text, /login refused/, 'the log did capture the refused login');
  const cookieValue = admin.cookie.split('=')[1] ?? '';
  for (const secret of [
    password,
    claimCode,
    cookieValue,
    admin.csrf,
    code,
    'segment secret 123',
    'a wrong password here',
  ])
    assert.ok(!text.includes(secret), `a secret reached the log: ${secret.slice(0, 3)}…`);
});

test('changing the admin password needs the current one and logs every other session out', async () => {
  const other = await send(await anonymous(), 'POST', '/api/login', { password });
  const otherSession = { cookie: (other.headers['set-cookie']?.[0] ?? '').split(';')[0] ?? '' };
  assert.equal((await send(otherSession, 'GET', '/api/overview')).status, 200);
  const wrong = await send(admin, 'PUT', '/api/password', {
    current: 'not it at all',
    password: 'a brand new password',
  });
  assert.equal(wrong.status, 401);
  assert.equal(JSON.parse(wrong.body).field, 'current');
  const changed = await send(admin, 'PUT', '/api/password', { current: password, password: 'a brand new password' });
  assert.equal(changed.status, 200, changed.body);
  assert.equal((await send(otherSession, 'GET', '/api/overview')).status, 401, 'the other session is gone');
  assert.equal((await send(admin, 'GET', '/api/overview')).status, 200, 'the changing session continues');
});

test('wrong passwords are throttled; secrets are stored only as hashes', async () => {
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const stored = readFileSync(join(moat.paths.secrets, 'admin-password'), 'utf8');
  assert.match(stored, /^scrypt\$/);
  assert.ok(!stored.includes(password));
  const statuses: number[] = [];
  for (let i = 0; i < 7; i++) {
    const session = await anonymous();
    statuses.push((await send(session, 'POST', '/api/login', { password: `wrong ${i} password` })).status);
  }
  // Earlier tests may have used part of this address's allowance (5 failures per window).
  const refused = statuses.indexOf(429);
  assert.ok(refused >= 1 && refused <= 5, `throttled after ${refused} wrong passwords: ${statuses}`);
  assert.ok(statuses.slice(0, refused).every((s) => s === 401));
  assert.ok(statuses.slice(refused).every((s) => s === 429));
});
