import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay } from './backoff.js';

test('grows exponentially, is capped, and is jittered within [ceiling/2, ceiling]', () => {
  assert.equal(
    backoffDelay(0, 100, 1000, () => 1),
    100,
  );
  assert.equal(
    backoffDelay(0, 100, 1000, () => 0),
    50,
  );
  assert.equal(
    backoffDelay(3, 100, 1000, () => 1),
    800,
  );
  assert.equal(
    backoffDelay(4, 100, 1000, () => 1),
    1000,
  );
  assert.equal(
    backoffDelay(100, 100, 1000, () => 0.5),
    750,
  );
});
