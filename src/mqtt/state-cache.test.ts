import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StateCache } from './state-cache.js';

test('deltas merge into the full state; a new full state replaces it', () => {
  const cache = new StateCache();
  cache.apply({ print: { command: 'push_status', msg: 1, mc_percent: 5 } });
  assert.equal(cache.complete, false);
  cache.apply({
    print: {
      command: 'push_status',
      msg: 0,
      sequence_id: '3',
      mc_percent: 10,
      lights: [1, 2],
      net: { conf: 1, info: [] },
    },
  });
  assert.equal(cache.complete, true);
  cache.apply({ print: { command: 'push_status', msg: 1, mc_percent: 12, net: { conf: 2 }, lights: [3] } });
  assert.deepEqual(cache.snapshot(), { mc_percent: 12, lights: [3], net: { conf: 2, info: [] } });
  const full = JSON.parse(cache.fullReport('42').toString()) as { print: Record<string, unknown> };
  assert.equal(full.print.sequence_id, '42');
  assert.equal(full.print.msg, 0);
  assert.equal(full.print.mc_percent, 12);
});

test('command replies and other kinds do not touch the state', () => {
  const cache = new StateCache();
  cache.apply({ print: { command: 'pause', result: 'success', sequence_id: '1' } });
  cache.apply({ info: { command: 'get_version' } });
  cache.apply('garbage');
  cache.apply({ print: { command: 'push_status', msg: 1, ['__proto__' as string]: { polluted: true } } });
  assert.deepEqual(cache.snapshot(), {});
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
