import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { curlArgs, moatFtpTarget } from '../helpers/ftp-clients.js';
import { loggedIn } from '../helpers/ftp-control.js';
import { type Harness, printerStorage, startHarness } from '../helpers/harness.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { run } from '../helpers/process.js';

/**
 * The LAN data channel failing before it is ready: the printer must not see the transfer, and the operator must
 * see why. The printer speaks plain FTP here behind a recording relay, so the test reads every command Moat
 * sends to it.
 */
describe('FTPS bridge data channel failures', () => {
  let harness: Harness;
  let relay: Server;
  const { logger, lines } = capturingLogger();
  const printerCommands: string[] = [];

  before(async () => {
    let printerPort = 0;
    relay = createServer((lan) => {
      const printer = connect(printerPort, '127.0.0.1');
      let text = '';
      lan.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        const parts = text.split('\r\n');
        text = parts.pop() ?? '';
        printerCommands.push(...parts);
      });
      lan.pipe(printer).pipe(lan);
      lan.on('error', () => printer.destroy());
      printer.on('error', () => lan.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const relayPort = (relay.address() as { port: number }).port;
    harness = await startHarness({
      mqtt: false,
      ftp: 'plain',
      logger,
      configure: (config, sim) => {
        printerPort = sim.ports.ftp as number;
        const [printer] = config.printers;
        if (!printer) throw new Error('no printer');
        return { ...config, printers: [{ ...printer, ftp: { ...printer.ftp, port: relayPort } }] };
      },
    });
    writeFileSync(join(printerStorage(harness), 'model.gcode.3mf'), 'x'.repeat(50_000));
  });
  after(async () => {
    await harness?.close();
    relay?.close();
  });

  const retrievals = () => printerCommands.filter((line) => line.startsWith('RETR '));
  const refusals = (code: number) =>
    lines.filter((line) => line.msg === 'FTP data connection refused' && line.reply === code);

  it('a download whose data connection never comes sends no RETR to the printer, gets 425 and is logged', async () => {
    const control = await loggedIn(harness.moat?.ftp.port as number, harness.moatCaFile, harness.codes.viewer);
    try {
      assert.match(await control.send('TYPE I'), /^200/);
      assert.match(await control.send('PBSZ 0'), /^200/);
      assert.match(await control.send('PROT P'), /^200/);
      assert.match(await control.send('PASV'), /^227/);
      assert.match(await control.send('RETR model.gcode.3mf', 30_000), /^425 No data connection established/);
    } finally {
      control.close();
    }
    assert.ok(
      printerCommands.some((line) => line.startsWith('SIZE ')),
      'the relay sees what Moat asks the printer',
    );
    assert.deepEqual(retrievals(), []);
    const [logged] = refusals(425);
    assert.equal(logged?.component, 'ftp');
    assert.equal(logged?.address, '127.0.0.1');
    assert.equal(logged?.command, 'RETR');
    assert.equal(logged?.reason, 'No data connection established');
  });

  it('a download refused with 522 (no session reuse) sends no RETR to the printer and is logged', async () => {
    const target = moatFtpTarget(harness, 'viewer');
    const refused = await run('curl', [...curlArgs(target, 'model.gcode.3mf'), '--no-sessionid', '--verbose']);
    // curl reads the data connection's close before the 522 on the control connection: the log names it.
    assert.notEqual(refused.code, 0);
    assert.deepEqual(retrievals(), []);
    const [logged] = refusals(522);
    assert.equal(logged?.address, '127.0.0.1');
    assert.equal(logged?.command, 'RETR');
    assert.equal(logged?.reason, 'SSL connection failed: session reuse required');

    // The same download with a resumed session reaches the printer: the relay does see a RETR.
    const good = await run('curl', curlArgs(target, 'model.gcode.3mf'));
    assert.equal(good.code, 0, good.stderr);
    assert.equal(good.stdout.length, 50_000);
    assert.deepEqual(retrievals(), ['RETR /model.gcode.3mf']);
  });

  it('logs no access code', () => {
    const log = JSON.stringify(lines);
    for (const secret of [...Object.values(harness.codes), harness.printerAccessCode])
      assert.equal(log.includes(secret), false, 'an access code reached the log');
  });
});
