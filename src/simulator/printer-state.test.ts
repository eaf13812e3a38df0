import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { printerModel } from '../printer-models.js';
import { PrinterState, printFileError } from './printer-state.js';

const storageDir = mkdtempSync(join(tmpdir(), 'moat-sim-storage-'));
after(() => rmSync(storageDir, { recursive: true, force: true }));
mkdirSync(join(storageDir, 'cache'));
writeFileSync(join(storageDir, 'x.gcode.3mf'), 'x');
writeFileSync(join(storageDir, 'cache', 'y.3mf'), 'y');

const identity = { serial: '01S00C000000001', ownAddress: '127.0.0.1', accessCode: 'K7PX3QMA', storageDir };
const send = (state: PrinterState, message: unknown) => state.handle(Buffer.from(JSON.stringify(message)));
/** The `print` object of the first reply. */
const firstReply = (outcome: { replies: Record<string, unknown>[] }) =>
  (outcome.replies[0]?.print ?? {}) as { result?: string; reason?: string; sequence_id?: string };
const projectFile = (url: unknown) => ({
  print: { sequence_id: '5', command: 'project_file', param: 'Metadata/plate_1.gcode', url, md5: 'from_sd_card' },
});

describe('simulated printer: project_file', () => {
  for (const url of [
    'ftp://x.gcode.3mf',
    'ftp:///x.gcode.3mf',
    'ftp://cache/y.3mf',
    'file:///sdcard/x.gcode.3mf',
    'file:///mnt/sdcard/cache/y.3mf',
    'file:///x.gcode.3mf',
    'brtc://emmc/anything.gcode.3mf',
  ]) {
    test(`${url} starts the print`, () => {
      const state = new PrinterState(printerModel('P1S'), identity);
      const outcome = send(state, projectFile(url));
      assert.equal(firstReply(outcome).result, 'success');
      assert.equal(outcome.changed?.gcode_state, 'RUNNING');
      assert.equal(outcome.changed?.print_error, 0);
      assert.equal(state.gcodeState, 'RUNNING');
    });
  }

  for (const url of [
    'ftp://missing.3mf',
    'ftp:///missing.3mf',
    'file:///sdcard/missing.3mf',
    'ftp://cache',
    'ftp://../x.gcode.3mf',
    'ftp://cache/../x.gcode.3mf',
    'http://x.gcode.3mf',
    42,
  ]) {
    test(`${JSON.stringify(url)} fails as the printer reports it, and no print starts`, () => {
      const state = new PrinterState(printerModel('P1S'), identity);
      const before = state.gcodeState;
      const outcome = send(state, projectFile(url));
      const reply = firstReply(outcome);
      assert.equal(reply.result, 'fail');
      assert.equal(reply.sequence_id, '5');
      assert.ok((reply.reason ?? '').length > 0);
      assert.deepEqual(outcome.changed, { print_error: printFileError });
      assert.equal(state.gcodeState, before);
      assert.equal((state.fullReport().print as { print_error: number }).print_error, printFileError);
    });
  }

  test('without storage no ftp:// file exists', () => {
    const state = new PrinterState(printerModel('P1S'), { ...identity, storageDir: undefined });
    assert.equal(firstReply(send(state, projectFile('ftp://x.gcode.3mf'))).result, 'fail');
  });
});

test('simulated printer: get_access_code answers with the access code, as printers do', () => {
  const state = new PrinterState(printerModel('A1'), identity);
  const outcome = send(state, { system: { sequence_id: '9', command: 'get_access_code' } });
  assert.deepEqual(outcome.replies, [
    {
      system: {
        command: 'get_access_code',
        sequence_id: '9',
        access_code: 'K7PX3QMA',
        result: 'success',
        reason: 'success',
      },
    },
  ]);
});
