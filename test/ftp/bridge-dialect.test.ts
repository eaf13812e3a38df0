import assert from 'node:assert/strict';
import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loggedIn } from '../helpers/ftp-control.js';
import { type Harness, printerStorage, startHarness } from '../helpers/harness.js';
import { run } from '../helpers/process.js';

/** The printer's FTP dialect on the bridge: its commands, its refusals, its dates, its idle timeout. */
describe('FTPS bridge dialect', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({ mqtt: false, ftp: 'tls' });
  });
  after(() => harness?.close());

  const control = () => loggedIn(harness.moat?.ftp.port as number, harness.moatCaFile, harness.codes.operator);

  it('answers TYPE I, PBSZ 0 and PROT P as the printer does', async () => {
    const session = await control();
    try {
      assert.match(await session.send('TYPE I'), /^200/);
      assert.match(await session.send('PBSZ 0'), /^200/);
      assert.match(await session.send('PROT P'), /^200/);
    } finally {
      session.close();
    }
  });

  it('refuses PORT, EPRT, REST, APPE and MLSD with a reason', async () => {
    const session = await control();
    try {
      assert.match(await session.send('PORT 127,0,0,1,4,1'), /^502 Active mode is not supported/);
      assert.match(await session.send('EPRT |1|127.0.0.1|1025|'), /^502 Active mode is not supported/);
      assert.match(await session.send('REST 100'), /^502 Restarting transfers is not supported/);
      assert.match(await session.send('APPE part.gcode'), /^502 Appending is not supported/);
      assert.match(await session.send('MLSD'), /^502 .*MLSD/);
      // Still serving after all of them.
      assert.match(await session.send('PWD'), /^257/);
    } finally {
      session.close();
    }
  });

  it("shows the printer's file dates through MDTM and LIST, not the time of asking", async () => {
    const storage = printerStorage(harness);
    // Forty days back (a LIST shows the time of day) and two years back, both with seconds MDTM must keep.
    const recent = new Date(Math.floor((Date.now() - 40 * 86_400_000) / 60_000) * 60_000 + 17_000);
    const old = new Date('2024-03-05T10:20:33Z');
    for (const [name, date] of [
      ['recent.gcode', recent],
      ['old.gcode', old],
    ] as const) {
      writeFileSync(join(storage, name), 'G28\n');
      utimesSync(join(storage, name), date, date);
    }
    const mdtm = (date: Date) => `213 ${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}`;
    const session = await control();
    try {
      assert.equal(await session.send('MDTM recent.gcode'), mdtm(recent));
      assert.equal(await session.send('MDTM /old.gcode'), mdtm(old));
      assert.match(await session.send('MDTM missing.gcode'), /^550/);
    } finally {
      session.close();
    }
    const listing = await run('curl', [
      '--silent',
      '--show-error',
      '--ssl-reqd',
      '--cacert',
      harness.moatCaFile,
      '--user',
      `bblp:${harness.codes.viewer}`,
      `ftps://127.0.0.1:${harness.moat?.ftp.port}/`,
    ]);
    assert.equal(listing.code, 0, listing.stderr);
    const month = recent.toUTCString().split(' ')[2];
    const day = String(recent.getUTCDate()).padStart(2);
    const time = recent.toISOString().slice(11, 16);
    assert.match(listing.stdout, new RegExp(`${month} ${day} ${time} recent\\.gcode`));
  });
});

describe('FTPS bridge idle timeout', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({
      mqtt: false,
      ftp: 'tls',
      configure: (config) => ({ ...config, ftp: { ...config.ftp, idleTimeoutMs: 1000 } }),
    });
  });
  after(() => harness?.close());

  it('drops an idle control connection with 421 after ftp.idleTimeoutMs', async () => {
    const session = await loggedIn(harness.moat?.ftp.port as number, harness.moatCaFile, harness.codes.viewer);
    try {
      assert.match(await session.next(15_000), /^421/);
      await session.closed;
    } finally {
      session.close();
    }
  });
});
