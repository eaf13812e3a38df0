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

const closed = 'printer connection closed before the printer acknowledged it';

test('an answer with the same kind, command and sequence id completes the entry', () => {
  const recorded: AuditEvent[] = [];
  const results = new CommandResults((e) => recorded.push(e));
  results.expect(event, 'print', 'pause', '5')(undefined);
  results.observe({ print: { command: 'pause', sequence_id: '4', result: 'success' } });
  results.observe({ print: { command: 'push_status', msg: 1 } });
  assert.equal(recorded.length, 0);
  results.observe({ print: { command: 'pause', sequence_id: '5', result: 'fail' } });
  assert.deepEqual(recorded, [{ ...event, result: 'fail' }]);
});

test('nothing is recorded before the publish ended; an answer that came first is kept', () => {
  const recorded: AuditEvent[] = [];
  const results = new CommandResults((e) => recorded.push(e));
  const sent = results.expect(event, 'print', 'pause', '5');
  results.observe({ print: { command: 'pause', sequence_id: '5', result: 'success' } });
  assert.equal(recorded.length, 0);
  sent(undefined);
  assert.deepEqual(recorded, [{ ...event, result: 'success' }]);
});

test('a failed publish is recorded dropped with the reason, unless the printer had answered it', () => {
  const recorded: AuditEvent[] = [];
  const results = new CommandResults((e) => recorded.push(e));
  results.expect(event, 'print', 'pause', '1')(closed);
  results.observe({ print: { command: 'pause', sequence_id: '1', result: 'success' } });
  const answered = results.expect({ ...event, command: 'print.stop' }, 'print', 'stop', '2');
  results.observe({ print: { command: 'stop', sequence_id: '2', result: 'success' } });
  answered(closed);
  results.expect({ ...event, command: 'print.resume' }, 'print', 'resume', undefined)(closed);
  assert.deepEqual(recorded, [
    { ...event, outcome: 'dropped', reason: closed },
    { ...event, command: 'print.stop', result: 'success' },
    { ...event, command: 'print.resume', outcome: 'dropped', reason: closed },
  ]);
});

test('no sequence id: recorded when sent; unanswered: recorded on flush, dropped if never confirmed sent', () => {
  const recorded: AuditEvent[] = [];
  const results = new CommandResults((e) => recorded.push(e));
  const noSequence = results.expect(event, 'print', 'pause', undefined);
  results.expect({ ...event, command: 'print.stop' }, 'print', 'stop', '9')(undefined);
  const unsent = results.expect({ ...event, command: 'print.resume' }, 'print', 'resume', '10');
  assert.equal(recorded.length, 0);
  noSequence(undefined);
  assert.deepEqual(recorded, [event]);
  results.flush();
  unsent(undefined);
  assert.deepEqual(recorded.slice(1), [
    { ...event, command: 'print.stop' },
    {
      ...event,
      command: 'print.resume',
      outcome: 'dropped',
      reason: 'Moat stopped before the command was confirmed sent',
    },
  ]);
});

test('the answer timeout runs from the end of the publish', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const recorded: AuditEvent[] = [];
  const results = new CommandResults((e) => recorded.push(e), 1000);
  const sent = results.expect(event, 'print', 'pause', '3');
  t.mock.timers.tick(5000);
  assert.equal(recorded.length, 0, 'recorded before its publish ended');
  sent(undefined);
  t.mock.timers.tick(999);
  assert.equal(recorded.length, 0);
  t.mock.timers.tick(1);
  assert.deepEqual(recorded, [event]);
});
