import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { demoSummary, startDemo } from '../demo.js';
import { createLogger } from '../log.js';
import { ftpRateArg, parseCommandArgs } from './common.js';

export async function run(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    args,
    {
      dir: { type: 'string' },
      model: { type: 'string' },
      printers: { type: 'string' },
      'ftp-rate': { type: 'string' },
    },
    'usage: moat demo [--dir DIR] [--model MODEL] [--printers N] [--ftp-rate BYTES_PER_S]   (default DIR .moat-demo, N 1; N from 1 to 8)\n' +
      "  --ftp-rate caps the simulated printers' FTP (a printer on Wi-Fi takes ~150000): watch store-and-forward",
  );
  const ftpRate = ftpRateArg(values['ftp-rate']);
  const printers = typeof values.printers === 'string' ? Number(values.printers) : 1;
  const dir = resolve(typeof values.dir === 'string' ? values.dir : '.moat-demo');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Logs go to a file so the terminal keeps the summary readable.
  const logger = createLogger({ destination: pino.destination({ dest: join(dir, 'moat.log'), sync: false }) });
  const demo = await startDemo({
    dir,
    logger,
    printers,
    ...(typeof values.model === 'string' && { model: values.model }),
    ...(ftpRate !== undefined && { ftpBytesPerSecond: ftpRate }),
  });
  console.log(demoSummary(demo.info, join(dir, 'demo.json')));
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  console.log('\nstopping…');
  await demo.close();
  logger.flush();
  return 0;
}
