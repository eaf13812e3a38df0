import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Role } from '../config/schema.js';
import { type CommandSender, type CommandTarget, decide } from './command-decision.js';
import { parseCommand } from './command-policy.js';

const command = (kind: string, name: string, sequenceId?: string) =>
  parseCommand(Buffer.from(JSON.stringify({ [kind]: { command: name, sequence_id: sequenceId } })));
const sender = (role: Role, withinRate = true): CommandSender => ({ role, withinRate });
const online: CommandTarget = { online: true, fullState: true };
const offline: CommandTarget = { online: false, fullState: true };
const adminForUnknown = { unknownCommandRole: 'admin' as const };
const refused = (reason: string) => ({ action: 'refuse', reason });
/** A command with no sequence id, decided under the default rules. */
const decideFor = (role: Role, printer: CommandTarget, kind: string, name: string) =>
  decide(sender(role), printer, command(kind, name), adminForUnknown);

test('decide: each role forwards what it may and is refused the rest, naming the role it needs', () => {
  const cases: [Role, string, string, 'forward' | 'refuse'][] = [
    ['viewer', 'info', 'get_version', 'forward'],
    ['viewer', 'print', 'pause', 'refuse'],
    ['viewer', 'print', 'gcode_line', 'refuse'],
    ['operator', 'print', 'pause', 'forward'],
    ['operator', 'system', 'ledctrl', 'forward'],
    ['operator', 'print', 'gcode_line', 'refuse'],
    ['admin', 'print', 'gcode_line', 'forward'],
    ['admin', 'upgrade', 'start', 'forward'],
  ];
  for (const [role, kind, name, action] of cases) {
    const decision = decide(sender(role), online, command(kind, name), adminForUnknown);
    assert.equal(decision.action, action, `${role} ${kind}.${name}`);
  }
  assert.deepEqual(
    decideFor('viewer', online, 'print', 'pause'),
    refused('role viewer may not send print.pause (needs operator)'),
  );
  assert.deepEqual(
    decideFor('operator', online, 'print', 'gcode_line'),
    refused('role operator may not send print.gcode_line (needs admin)'),
  );
});

test('decide: a forwarded command carries what the audit matches the printer’s answer by', () => {
  const decision = decide(sender('operator'), online, command('print', 'pause', '42'), adminForUnknown);
  assert.equal(decision.action, 'forward');
  assert.deepEqual(decision.command, {
    ok: true,
    name: 'print.pause',
    kind: 'print',
    command: 'pause',
    sequenceId: '42',
  });
});

test('decide: over the rate limit everything is refused, before anything else is looked at', () => {
  for (const parsed of [
    command('pushing', 'pushall'),
    command('system', 'get_access_code'),
    parseCommand(Buffer.from('{')),
  ]) {
    assert.deepEqual(decide(sender('admin', false), offline, parsed, adminForUnknown), refused('publish rate limit'));
  }
});

test('decide: a malformed payload is refused with what is wrong with it', () => {
  assert.deepEqual(
    decide(sender('admin'), online, parseCommand(Buffer.from('not json')), adminForUnknown),
    refused('payload is not JSON'),
  );
  const twoCommands = parseCommand(Buffer.from('{"print":{"command":"pause"},"system":{"command":"ledctrl"}}'));
  assert.deepEqual(
    decide(sender('admin'), online, twoCommands, adminForUnknown),
    refused('payload must hold exactly one command'),
  );
  assert.deepEqual(
    decide(sender('admin'), online, parseCommand(Buffer.from('{"print":{}}')), adminForUnknown),
    refused('command has no name'),
  );
});

test('decide: an unknown command needs mqtt.unknownCommandRole; a listed one keeps its role', () => {
  const unknown = command('print', 'new_feature');
  assert.equal(decide(sender('operator'), online, unknown, adminForUnknown).action, 'refuse');
  assert.equal(decide(sender('admin'), online, unknown, adminForUnknown).action, 'forward');
  assert.equal(decide(sender('operator'), online, unknown, { unknownCommandRole: 'operator' }).action, 'forward');
  assert.deepEqual(
    decide(sender('viewer'), online, unknown, { unknownCommandRole: 'operator' }),
    refused('role viewer may not send print.new_feature (needs operator)'),
  );
  const listed = decide(sender('viewer'), online, command('print', 'gcode_line'), { unknownCommandRole: 'viewer' });
  assert.equal(listed.action, 'refuse');
});

test('decide: get_access_code is answered by Moat for every role, online or not, in the printer’s shape', () => {
  for (const role of ['viewer', 'operator', 'admin'] as const) {
    for (const printer of [online, offline]) {
      const decision = decide(sender(role), printer, command('system', 'get_access_code', '7'), adminForUnknown);
      assert.equal(decision.action, 'answer', role);
      if (decision.action !== 'answer') continue;
      assert.match(decision.reason, /never leaves Moat/);
      assert.deepEqual(decision.reply, {
        system: { command: 'get_access_code', sequence_id: '7', result: 'fail', reason: decision.reason },
      });
    }
  }
  const noSequence = decideFor('admin', online, 'system', 'get_access_code');
  assert.equal(noSequence.action === 'answer' && (noSequence.reply.system as { sequence_id: string }).sequence_id, '0');
});

test('decide: with the printer offline an allowed command is refused, pushall included; a forbidden one names the role', () => {
  assert.deepEqual(decideFor('admin', offline, 'print', 'gcode_line'), refused('printer offline'));
  assert.deepEqual(decideFor('viewer', offline, 'pushing', 'pushall'), refused('printer offline'));
  const forbidden = decideFor('viewer', offline, 'print', 'pause');
  assert.equal(
    forbidden.action === 'refuse' && forbidden.reason,
    'role viewer may not send print.pause (needs operator)',
  );
});

test('decide: pushall is answered from the cache, with the state when Moat holds it all', () => {
  const full = decide(sender('viewer'), online, command('pushing', 'pushall', '9'), adminForUnknown);
  assert.equal(full.action, 'answer-from-cache');
  assert.ok(full.action === 'answer-from-cache' && full.fullState && full.command.sequenceId === '9');
  const partial = decide(
    sender('viewer'),
    { online: true, fullState: false },
    command('pushing', 'pushall'),
    adminForUnknown,
  );
  assert.ok(partial.action === 'answer-from-cache' && !partial.fullState);
});

test('decide: a project_file whose upload is still draining is held (after the role and online checks)', () => {
  const draining: CommandTarget = { ...online, awaitingUpload: '/a.3mf' };
  assert.deepEqual(decide(sender('operator'), draining, command('print', 'project_file', '3'), adminForUnknown), {
    action: 'hold',
    command: command('print', 'project_file', '3'),
    awaiting: '/a.3mf',
  });
  assert.equal(decide(sender('viewer'), draining, command('print', 'project_file'), adminForUnknown).action, 'refuse');
  assert.equal(
    decide(sender('operator'), { ...draining, online: false }, command('print', 'project_file'), adminForUnknown)
      .action,
    'refuse',
  );
  assert.equal(decide(sender('operator'), draining, command('print', 'pause'), adminForUnknown).action, 'forward');
  assert.equal(decide(sender('operator'), online, command('print', 'project_file'), adminForUnknown).action, 'forward');
});
