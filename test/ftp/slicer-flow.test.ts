import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import {
  curlArgs,
  moatFtpTarget,
  moatPythonTarget,
  pythonFtps,
  sha256File,
  writeRandomFile,
} from '../helpers/ftp-clients.js';
import { type Harness, printerStorage, startHarness } from '../helpers/harness.js';
import { collectMessages, connectMqtt, moatEndpoint, waitForPrinterReady } from '../helpers/mqtt-clients.js';
import { run } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

type Report = Record<string, Record<string, unknown> | undefined>;

/**
 * A LAN print as the slicers do it on FTPS models, through Moat, with names as they send them: the
 * access-code probe `STOR /verify_job`, `STOR /<name>.gcode.3mf`, then MQTT `print.project_file` with
 * `ftp://<name>.gcode.3mf`. The FTP side is the Python client written as ha-bambulab and bambulabs_api write
 * theirs (data TLS after the 150), which sends `STOR <name>` literally.
 */
describe('slicer flow through Moat', () => {
  let h: Harness;
  let mqtt: MqttClient;
  let reports: Report[];
  const model = () => join(h.dir, 'benchy.gcode.3mf');
  const probe = () => join(h.dir, 'verify_job');

  before(async () => {
    h = await startHarness({ simulator: { mqtt: { transport: 'tls', printTickMs: 50 } } });
    writeRandomFile(model(), 256 * 1024);
    writeRandomFile(probe(), 16);
    await waitForPrinterReady(h);
    mqtt = await connectMqtt(moatEndpoint(h, 'operator'));
    const topic = `device/${h.serial}/report`;
    reports = collectMessages(mqtt, topic) as Report[];
    await mqtt.subscribeAsync(topic);
  });
  after(async () => {
    await mqtt?.endAsync(true).catch(() => {});
    await h.close();
  });

  const ftp = (role: 'viewer' | 'operator', ...args: string[]) => pythonFtps(moatPythonTarget(h, role), args);
  const projectFile = (sequenceId: string, url: string) =>
    mqtt.publishAsync(
      `device/${h.serial}/request`,
      JSON.stringify({
        print: {
          sequence_id: sequenceId,
          command: 'project_file',
          param: 'Metadata/plate_1.gcode',
          url,
          md5: 'from_sd_card',
          subtask_name: 'benchy',
          use_ams: false,
        },
      }),
    );
  const answer = (sequenceId: string) =>
    waitFor(() => reports.find((m) => m.print?.sequence_id === sequenceId)?.print, {
      what: `the printer's answer to ${sequenceId}`,
    });
  const running = () => reports.some((m) => m.print?.gcode_state === 'RUNNING');

  test('the access-code probe: STOR /verify_job is refused for a viewer', async () => {
    const result = await ftp('viewer', 'upload', probe(), '/verify_job');
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stdout, /550/);
    assert.ok(!existsSync(join(printerStorage(h), 'verify_job')));
  });

  test('the access-code probe: STOR /verify_job is accepted for an operator', async () => {
    const result = await ftp('operator', 'upload', probe(), '/verify_job');
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /226/);
    assert.deepEqual(readFileSync(join(printerStorage(h), 'verify_job')), readFileSync(probe()));
  });

  test('absolute names from curl (no CWD, STOR with the full path): inside the storage accepted, climbing out refused', async () => {
    mkdirSync(join(printerStorage(h), 'cache'), { recursive: true });
    const put = (path: string) =>
      run(
        'curl',
        curlArgs(moatFtpTarget(h, 'operator'), path, ['-v', '--path-as-is', '--ftp-method', 'nocwd', '-T', model()]),
      );
    const inCache = await put('/cache/part.3mf');
    assert.equal(inCache.code, 0, inCache.stderr);
    assert.match(inCache.stderr, /> STOR \/cache\/part\.3mf/);
    assert.equal(await sha256File(join(printerStorage(h), 'cache', 'part.3mf')), await sha256File(model()));
    const out = await put('/../part.3mf');
    assert.notEqual(out.code, 0);
    assert.match(out.stderr, /> STOR \/\.\.\/part\.3mf/);
    assert.match(out.stderr, /< 553 File name refused: path traversal/);
  });

  test('project_file for a file the printer does not have gets its error, and no print starts', async () => {
    await projectFile('s1', 'ftp://benchy.gcode.3mf');
    const reply = await answer('s1');
    assert.equal(reply.result, 'fail');
    assert.match(String(reply.reason), /not found/);
    await waitFor(() => reports.some((m) => m.print?.print_error === 0x05004002), {
      what: 'print_error in the report',
    });
    assert.ok(!running());
    assert.notEqual(h.moat?.mqtt.printers()[0]?.state?.gcode_state, 'RUNNING');
  });

  test('STOR /benchy.gcode.3mf, then project_file ftp://benchy.gcode.3mf starts the print', async () => {
    const result = await ftp('operator', 'upload', model(), '/benchy.gcode.3mf');
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(await sha256File(join(printerStorage(h), 'benchy.gcode.3mf')), await sha256File(model()));
    await projectFile('s2', 'ftp://benchy.gcode.3mf');
    assert.equal((await answer('s2')).result, 'success');
    await waitFor(() => reports.some((m) => m.print?.gcode_state === 'RUNNING' && Number(m.print.mc_percent) > 0), {
      what: 'the print to start and advance',
    });
    await waitFor(
      () => {
        const state = h.moat?.mqtt.printers()[0]?.state as Record<string, unknown> | undefined;
        return state?.gcode_state === 'RUNNING' && state.print_error === 0;
      },
      { what: "Moat's cached state to show the print" },
    );
    assert.ok(h.sim.stats.commands.some((c) => c.payload.includes('"ftp://benchy.gcode.3mf"')));
  });
});
