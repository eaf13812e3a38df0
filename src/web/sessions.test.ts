import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { readCookie, SessionStore, sessionCookie } from './sessions.js';

test('a session is found only through its signed cookie value', () => {
  const store = new SessionStore(randomBytes(32), () => 60_000);
  const session = store.create(true);
  const value = store.cookieValue(session);
  assert.equal(store.fromCookie(value), session);
  assert.equal(store.fromCookie(`${session.id}.AAAA`), undefined);
  assert.equal(store.fromCookie(session.id), undefined);
  const other = new SessionStore(randomBytes(32), () => 60_000);
  assert.equal(other.fromCookie(value), undefined, 'another key does not accept it');
});

test('an idle session expires; activity keeps it alive', () => {
  let idle = 60_000;
  const store = new SessionStore(randomBytes(32), () => idle);
  const session = store.create(true);
  const value = store.cookieValue(session);
  session.lastSeen -= 30_000;
  assert.ok(store.fromCookie(value), 'within the idle time');
  idle = 10;
  session.lastSeen -= 1000;
  assert.equal(store.fromCookie(value), undefined);
  idle = 60_000;
  assert.equal(store.fromCookie(value), undefined, 'gone for good once expired');
});

test('CSRF tokens are per session and compared exactly', () => {
  const store = new SessionStore(randomBytes(32), () => 60_000);
  const a = store.create(false);
  const b = store.create(false);
  assert.ok(store.checkCsrf(a, a.csrfToken));
  assert.equal(store.checkCsrf(a, b.csrfToken), false);
  assert.equal(store.checkCsrf(a, undefined), false);
  assert.equal(store.checkCsrf(undefined, a.csrfToken), false);
});

test('the cookie carries HttpOnly, Secure and SameSite=Strict and parses back', () => {
  const header = sessionCookie('abc.def');
  assert.match(header, /HttpOnly/);
  assert.match(header, /Secure/);
  assert.match(header, /SameSite=Strict/);
  assert.equal(readCookie('x=1; __Host-moat-session=abc.def; y=2', '__Host-moat-session'), 'abc.def');
  assert.equal(readCookie(undefined, 'x'), undefined);
});

test('a password change ends every other authenticated session, not the one that made it', () => {
  const store = new SessionStore(randomBytes(32), () => 60_000);
  const mine = store.create(true);
  const other = store.create(true);
  const anonymous = store.create(false);
  store.destroyOtherAuthenticated(mine);
  assert.equal(store.fromCookie(store.cookieValue(mine)), mine);
  assert.equal(store.fromCookie(store.cookieValue(other)), undefined);
  assert.equal(store.fromCookie(store.cookieValue(anonymous)), anonymous);
});
