import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '../../test/helpers/wait.js';
import type { DrainOutcome } from '../ftp/spool/drain-queue.js';
import type { SpoolEntry } from '../ftp/spool/spool-files.js';
import { silentLogger } from '../log.js';
import { type DrainingUploads, PrintGate, uploadWait } from './print-gate.js';

const print = (fields: Record<string, unknown>) =>
  Buffer.from(JSON.stringify({ print: { command: 'project_file', sequence_id: '1', ...fields } }));

test('uploadWait: the file a project_file names, every upload for url_enc, nothing for other URLs or commands', () => {
  assert.deepEqual(uploadWait(print({ url: 'ftp://a.gcode.3mf' })), { file: '/a.gcode.3mf' });
  assert.deepEqual(uploadWait(print({ url: 'ftp:///cache/a.3mf' })), { file: '/cache/a.3mf' });
  assert.deepEqual(uploadWait(print({ url: 'file:///sdcard/a.3mf' })), { file: '/a.3mf' });
  assert.deepEqual(uploadWait(print({ url: 'file:///mnt/sdcard/x/../a.3mf' })), { file: '/a.3mf' });
  assert.deepEqual(uploadWait(print({ url_enc: 'b64…' })), { every: true });
  assert.equal(uploadWait(print({ url: 'brtc://emmc/a.3mf' })), undefined);
  assert.equal(uploadWait(print({ url: 'file:///usb/a.3mf' })), undefined);
  assert.equal(uploadWait(Buffer.from('{"print":{"command":"pause"}}')), undefined);
  assert.equal(uploadWait(Buffer.from('not json')), undefined);
  assert.equal(uploadWait(Buffer.from('null')), undefined);
});

/** A spool with `/a.3mf` and `/b.3mf` pending, whose drains the test settles. */
function fakeUploads() {
  const entries = ['/a.3mf', '/b.3mf'].map((target, i) => ({ id: String(i), target }) as SpoolEntry);
  const settle: ((outcome: DrainOutcome) => void)[] = [];
  const uploads: DrainingUploads = {
    pending: () => entries,
    delivered: (_serial, match) =>
      entries.some(match) ? new Promise((resolve) => settle.push(resolve)) : Promise.resolve({ ok: true }),
  };
  return { uploads, settle };
}

function holdOne(gate: PrintGate, payload: Buffer) {
  const ends: string[] = [];
  gate.hold('S1', payload, { forward: () => ends.push('forward'), drop: (reason) => ends.push(`drop: ${reason}`) });
  return ends;
}

test('PrintGate: awaiting names the pending file or every upload; nothing for a file not pending', () => {
  const gate = new PrintGate(fakeUploads().uploads, () => 1000, silentLogger());
  assert.equal(gate.awaiting('S1', print({ url: 'ftp://a.3mf' })), '/a.3mf');
  assert.equal(gate.awaiting('S1', print({ url_enc: 'x' })), 'every upload in flight');
  assert.equal(gate.awaiting('S1', print({ url: 'ftp://c.3mf' })), undefined);
});

test('PrintGate: a drain that succeeds forwards once; one that fails drops with its reason', async () => {
  const { uploads, settle } = fakeUploads();
  const gate = new PrintGate(uploads, () => 60_000, silentLogger());
  const ok = holdOne(gate, print({ url: 'ftp://a.3mf' }));
  const failed = holdOne(gate, print({ url: 'ftp://b.3mf' }));
  assert.deepEqual([ok, failed], [[], []]);
  settle[0]?.({ ok: true });
  settle[1]?.({ ok: false, reason: 'the printer refused it' });
  await waitFor(() => ok.length + failed.length === 2);
  assert.deepEqual(ok, ['forward']);
  assert.deepEqual(failed, ['drop: the upload did not reach the printer: the printer refused it']);
  gate.close();
  assert.deepEqual([ok.length, failed.length], [1, 1], 'an ended command is not dropped again');
});

test('PrintGate: past the hold limit a command is dropped, and a drain ending later does not send it', async () => {
  const { uploads, settle } = fakeUploads();
  const gate = new PrintGate(uploads, () => 100, silentLogger());
  const ends = holdOne(gate, print({ url: 'ftp://a.3mf' }));
  await waitFor(() => ends.length === 1);
  assert.match(ends[0] as string, /^drop: held 100 ms while the file was still draining/);
  settle[0]?.({ ok: true });
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(ends.length, 1);
});

test('PrintGate: close drops every held command', () => {
  const gate = new PrintGate(fakeUploads().uploads, () => 60_000, silentLogger());
  const ends = holdOne(gate, print({ url_enc: 'x' }));
  gate.close();
  assert.deepEqual(ends, ['drop: Moat stopped while the command was held']);
});
