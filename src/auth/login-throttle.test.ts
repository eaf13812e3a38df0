import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LoginThrottle } from './login-throttle.js';

test('the delay grows with each failure from one address, capped; a success does not clear it', async () => {
  const throttle = new LoginThrottle(() => ({ baseDelayMs: 1, maxDelayMs: 8 }));
  assert.equal(throttle.delayFor('a'), 0);
  for (let i = 0; i < 6; i++) assert.equal(await throttle.attempt('a', async () => false), false);
  assert.equal(throttle.delayFor('a'), 8);
  assert.equal(throttle.delayFor('b'), 0, 'another address is not slowed');
  assert.equal(await throttle.attempt('a', async () => true), true);
  assert.equal(throttle.delayFor('a'), 8, 'a code that works buys no fresh guesses');
  assert.equal(throttle.failures('::ffff:a')?.failures, 6, 'an IPv4-mapped address is the same host');
});

test('the delays are read at each attempt, so a configuration change applies at once', async () => {
  const delays = { baseDelayMs: 1, maxDelayMs: 8 };
  const throttle = new LoginThrottle(() => delays);
  await throttle.attempt('a', async () => false);
  await throttle.attempt('a', async () => false);
  assert.equal(throttle.delayFor('a'), 2);
  delays.baseDelayMs = 3;
  assert.equal(throttle.delayFor('a'), 6);
});

test('attempts from one address are checked one at a time; after a failure, extras fail without a check', async () => {
  const throttle = new LoginThrottle(() => ({ baseDelayMs: 1, maxDelayMs: 1 }), { maxPendingPerAddress: 2 });
  let running = 0;
  let peak = 0;
  let checks = 0;
  const check = (ok: boolean) => async () => {
    checks++;
    running++;
    peak = Math.max(peak, running);
    await new Promise((resolve) => setImmediate(resolve));
    running--;
    return ok;
  };
  // A fresh address: all five wait their turn and are let in, one check at a time.
  const good = await Promise.all(Array.from({ length: 5 }, () => throttle.attempt('a', check(true))));
  assert.deepEqual(good, [true, true, true, true, true]);
  assert.equal(peak, 1);
  assert.equal(checks, 5);
  // After a failure only two may wait; the rest fail at once.
  await throttle.attempt('a', check(false));
  checks = 0;
  const bad = await Promise.all(Array.from({ length: 5 }, () => throttle.attempt('a', check(false))));
  assert.deepEqual(bad, [false, false, false, false, false]);
  assert.equal(checks, 2);
  assert.equal(peak, 1);
});

test('failures are forgotten after a while', () => {
  let now = 0;
  const throttle = new LoginThrottle(() => ({ baseDelayMs: 10, maxDelayMs: 100 }), {
    forgetAfterMs: 1000,
    now: () => now,
  });
  void throttle.attempt('a', async () => false);
  return new Promise<void>((resolve) =>
    setImmediate(() => {
      assert.equal(throttle.delayFor('a'), 10);
      now = 5000;
      assert.equal(throttle.delayFor('a'), 0);
      resolve();
    }),
  );
});

test('an abandoned attempt is dropped without waiting its turn out', async () => {
  const throttle = new LoginThrottle(() => ({ baseDelayMs: 60000, maxDelayMs: 60000 }));
  await throttle.attempt('a', async () => false);
  let checked = false;
  const result = await throttle.attempt(
    'a',
    async () => {
      checked = true;
      return true;
    },
    () => true,
  );
  assert.equal(result, false);
  assert.equal(checked, false);
});

test('a door with an allowance is locked for its window after that many failures from any door', async () => {
  let now = 0;
  const throttle = new LoginThrottle(() => ({ baseDelayMs: 0, maxDelayMs: 0 }), { now: () => now });
  assert.equal(throttle.lockedFor('a', 3, 1000), 0);
  for (let i = 0; i < 3; i++) await throttle.attempt('a', async () => false);
  assert.equal(throttle.lockedFor('a', 3, 1000), 1000);
  assert.equal(throttle.lockedFor('b', 3, 1000), 0, 'another address is not locked');
  now = 400;
  assert.equal(throttle.lockedFor('a', 3, 1000), 600);
  now = 1000;
  assert.equal(throttle.lockedFor('a', 3, 1000), 0, 'one more check once the window has passed');
  // Attempts still waiting count: two failures and one in flight reach an allowance of three.
  const fresh = new LoginThrottle(() => ({ baseDelayMs: 0, maxDelayMs: 0 }));
  await fresh.attempt('c', async () => false);
  await fresh.attempt('c', async () => false);
  let release = () => {};
  const inFlight = fresh.attempt('c', () => new Promise<boolean>((resolve) => (release = () => resolve(false))));
  assert.ok(fresh.lockedFor('c', 3, 60000) > 0);
  assert.equal(fresh.lockedFor('c', 4, 60000), 0);
  await new Promise((resolve) => setImmediate(resolve));
  release();
  await inFlight;
  assert.ok(fresh.lockedFor('c', 3, 60000) > 1000, 'then locked for the window after its failure');
});
