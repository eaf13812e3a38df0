import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commandAllowed, neverForwarded, parseCommand, requiredRole } from './command-policy.js';

const parse = (value: unknown) => parseCommand(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)));

test('commands are named kind.command, signed payloads included', () => {
  assert.deepEqual(parse({ print: { command: 'pause', sequence_id: 5 } }), {
    ok: true,
    name: 'print.pause',
    kind: 'print',
    command: 'pause',
    sequenceId: '5',
  });
  const signed = parse({ header: { sign_ver: 'v1.0' }, print: { command: 'stop' } });
  assert.ok(signed.ok && signed.name === 'print.stop');
});

test('malformed payloads are not commands', () => {
  for (const bad of [
    '{nope',
    '[1]',
    '"x"',
    { a: { command: 'x' }, b: { command: 'y' } },
    { print: { param: 1 } },
    {},
  ]) {
    assert.equal(parse(bad).ok, false, JSON.stringify(bad));
  }
});

test('viewer: pushall and get_version only; operator: print control; admin: everything', () => {
  assert.ok(commandAllowed('viewer', 'pushing.pushall', 'admin'));
  assert.ok(commandAllowed('viewer', 'info.get_version', 'admin'));
  assert.ok(!commandAllowed('viewer', 'print.pause', 'admin'));
  assert.ok(!commandAllowed('viewer', 'print.gcode_line', 'admin'));
  assert.ok(commandAllowed('operator', 'print.pause', 'admin'));
  assert.ok(commandAllowed('operator', 'print.project_file', 'admin'));
  assert.ok(commandAllowed('operator', 'system.ledctrl', 'admin'));
  assert.ok(!commandAllowed('operator', 'print.gcode_line', 'admin'));
  assert.ok(!commandAllowed('operator', 'system.reboot', 'admin'));
  assert.ok(commandAllowed('admin', 'print.gcode_line', 'admin'));
  assert.ok(commandAllowed('admin', 'anything.at_all', 'admin'));
});

test('unknown commands need the configured role', () => {
  assert.equal(requiredRole('print.new_feature', 'admin'), 'admin');
  assert.equal(requiredRole('print.new_feature', 'operator'), 'operator');
  assert.ok(commandAllowed('operator', 'print.new_feature', 'operator'));
  assert.equal(requiredRole('print.gcode_line', 'viewer'), 'admin', 'a listed command keeps its role');
});

test('get_access_code is never forwarded, whatever the role: Moat answers it', () => {
  assert.match(neverForwarded('system.get_access_code') ?? '', /never leaves Moat/);
  assert.equal(neverForwarded('system.ledctrl'), undefined);
  assert.equal(neverForwarded('constructor'), undefined);
});
