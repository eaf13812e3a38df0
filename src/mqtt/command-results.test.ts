import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditEvent } from '../events.js';
import { CommandResults } from './command-results.js';

const event: AuditEvent = {
  at: 'now',
  serial: 'S',
  label: 'op',
  role: 'operator',
  address: '127.0.0.1',
  command: 'print.pause',
  outcome: 'allowed',
};

test('an answer with the same kind, command and sequence id completes the entry', () => {
  const recorded: AuditEvent[] = [];
  const results = new CommandResults((e) => recorded.push(e));
  results.expect(event, 'print', 'pause', '5');
  results.observe({ print: { command: 'pause', sequence_id: '4', result: 'success' } });
  results.observe({ print: { command: 'push_status', msg: 1 } });
  assert.equal(recorded.length, 0);
  results.observe({ print: { command: 'pause', sequence_id: '5', result: 'fail' } });
  assert.deepEqual(recorded, [{ ...event, result: 'fail' }]);
});

test('no sequence id: recorded at once; unanswered: recorded on flush without a result', () => {
  const recorded: AuditEvent[] = [];
  const results = new CommandResults((e) => recorded.push(e));
  results.expect(event, 'print', 'pause', undefined);
  results.expect({ ...event, command: 'print.stop' }, 'print', 'stop', '9');
  assert.equal(recorded.length, 1);
  results.flush();
  assert.deepEqual(recorded[1], { ...event, command: 'print.stop' });
});
