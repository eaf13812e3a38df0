import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateAccessCode } from '../auth/access-codes.js';
import { printerModelIds } from '../printer-models.js';
import { startSimulatedPrinter } from '../simulator/index.js';
import { ftpRateArg, parseCommandArgs } from './common.js';
import { CliError } from './errors.js';

const usage = `usage: moat simulate-printer [options]
  --serial S            printer serial (default 01S00C000000001)
  --model M             ${printerModelIds.join(' | ')} (default P1S)
  --host ADDR           address to listen on (default 127.0.0.1)
  --access-code CODE    the printer's access code (default: random, printed)
  --mqtt tls|plain|off  MQTT transport (default tls)   --mqtt-port N (default 8883 / 1883)
  --ftp tls|plain|off   FTP transport (default tls)    --ftp-port N (default 990 / 21)
  --ftp-dir DIR         the printer's storage (default ./printer-storage)
  --ftp-rate N          cap transfers at N bytes per second
  --notify HOST:PORT    send NOTIFY there every 5 s (e.g. 255.255.255.255:2021)
  --tcp-services        also serve the camera (322 RTSPS, 6000 JPEG) and bind (3000, 3002) stand-ins
  --stats-port N        stats JSON on http://127.0.0.1:N/stats (default any free port)
  --ca-out FILE         write the simulated printer's CA certificate there`;

function transportArg(value: unknown, name: string): 'tls' | 'plain' | false {
  if (value === undefined || value === 'tls') return 'tls';
  if (value === 'plain') return 'plain';
  if (value === 'off') return false;
  throw new CliError(`--${name} must be tls, plain or off\n${usage}`);
}

function portArg(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--${name} must be a port number`);
  return port;
}

/** Runs a simulated printer until SIGINT/SIGTERM. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    args,
    {
      serial: { type: 'string' },
      model: { type: 'string' },
      host: { type: 'string' },
      'access-code': { type: 'string' },
      mqtt: { type: 'string' },
      'mqtt-port': { type: 'string' },
      ftp: { type: 'string' },
      'ftp-port': { type: 'string' },
      'ftp-dir': { type: 'string' },
      'ftp-rate': { type: 'string' },
      notify: { type: 'string' },
      'tcp-services': { type: 'boolean' },
      'stats-port': { type: 'string' },
      'ca-out': { type: 'string' },
    },
    usage,
  );
  const mqtt = transportArg(values.mqtt, 'mqtt');
  const ftp = transportArg(values.ftp, 'ftp');
  const model = typeof values.model === 'string' ? values.model : 'P1S';
  if (!printerModelIds.includes(model)) throw new CliError(`--model must be one of ${printerModelIds.join(', ')}`);
  const accessCode = typeof values['access-code'] === 'string' ? values['access-code'] : generateAccessCode();
  let notify: { targetHost: string; targetPort: number; multicast: boolean } | false = false;
  if (typeof values.notify === 'string') {
    const match = /^([\d.]+):(\d+)$/.exec(values.notify);
    if (!match) throw new CliError('--notify takes HOST:PORT, e.g. 255.255.255.255:2021');
    notify = { targetHost: match[1] as string, targetPort: Number(match[2]), multicast: match[1] !== '127.0.0.1' };
  }
  const rate = ftpRateArg(values['ftp-rate']);
  const printer = await startSimulatedPrinter({
    serial: typeof values.serial === 'string' ? values.serial : '01S00C000000001',
    model,
    accessCode,
    host: typeof values.host === 'string' ? values.host : '127.0.0.1',
    mqtt: mqtt && {
      transport: mqtt,
      port: portArg(values['mqtt-port'], 'mqtt-port') ?? (mqtt === 'tls' ? 8883 : 1883),
    },
    ftp: ftp && {
      transport: ftp,
      port: portArg(values['ftp-port'], 'ftp-port') ?? (ftp === 'tls' ? 990 : 21),
      rootDir: resolve(typeof values['ftp-dir'] === 'string' ? values['ftp-dir'] : 'printer-storage'),
      ...(rate !== undefined && { bytesPerSecond: rate }),
    },
    notify,
    tcpServices: values['tcp-services'] === true && { ports: { rtsps: 322, tunnel: 6000, bind: 3000, bindTls: 3002 } },
    statsPort: portArg(values['stats-port'], 'stats-port') ?? 0,
  });
  const caOut = typeof values['ca-out'] === 'string' ? values['ca-out'] : join(process.cwd(), 'printer-ca.pem');
  writeFileSync(caOut, printer.pki.ca.certPem);
  console.log(
    JSON.stringify({
      serial: printer.serial,
      model: printer.model.id,
      host: printer.host,
      accessCode,
      ports: printer.ports,
      statsUrl: printer.statsUrl,
      caFile: caOut,
    }),
  );
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await printer.close();
  return 0;
}
