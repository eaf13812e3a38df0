/**
 * bench/footprint: Moat's resident memory as the appliance runs it — `moat serve` in its own process with
 * the appliance's Node flags and environment (src/appliance/node-flags.ts), on a state directory prepared here, in
 * development mode (no firewall) like the other benchmarks — with simulated printers in another process
 * publishing reports at a printer's rate. Prints Moat's RSS:
 *   1. idle after start, one printer connected;
 *   2. one printer, 5 TLS subscribers receiving its reports (peak over the window);
 *   3. what the first FTPS client (a listing) adds (it loads ftp-srv), then during a 50 MB FTPS upload by curl
 *      (peak above the RSS just before it);
 *   4. eight printers idle, then eight printers with 40 subscribers (5 each);
 * and Mosquitto's RSS for the same MQTT load (a TLS listener with Moat's certificate, one publisher at the
 * same report rate and size per printer topic, the same subscribers). Moat's heap figures come from a
 * preloaded module that, on SIGUSR2, runs a full collection and prints process.memoryUsage() (live heap);
 * RSS is read from /proc just before. Ends with one JSON line; its `idleRssMb` is figure 1.
 *
 * Usage: npm run build && node dist/bench/footprint.js [--seconds 15] [--hz 1] [--bytes 4096] [--upload-mb 50]
 *        [--cli dist/src/cli.js] [--node-flags '--max-semi-space-size=1'] [--timeout-factor 1]
 *   --cli: measure another build of Moat (e.g. before a change); --node-flags: V8 flags to try on top;
 *   --timeout-factor: multiplies the benchmark's own time limits (for an emulated machine, os-image/footprint-arm64.sh).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

import { createAccessCode, generateAccessCode } from '../src/auth/access-codes.js';
import { loadServerIdentity } from '../src/certs/identity.js';
import { printerSecretName, writeSecret } from '../src/config/secrets.js';
import { type StatePaths, statePaths } from '../src/config/state-dir.js';
import { saveConfig } from '../src/config/store.js';
import { type SimulatedPrinter, startSimulatedPrinter } from '../src/simulator/index.js';
import { curlArgs, writeRandomFile } from '../test/helpers/ftp-clients.js';
import { residentBytes } from '../test/helpers/proc-memory.js';
import { run } from '../test/helpers/process.js';
import { isolatedPorts, loopbackConfig } from '../test/helpers/test-config.js';
import { freePort, moatEnvironment, moatNodeFlags, serveUntilStdinCloses, startMosquitto } from './helpers.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    hz: { type: 'string', default: '1' },
    bytes: { type: 'string', default: '4096' },
    'upload-mb': { type: 'string', default: '50' },
    settle: { type: 'string', default: '5' },
    cli: { type: 'string' },
    'node-flags': { type: 'string', default: '' },
    'timeout-factor': { type: 'string', default: '1' },
    child: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const hz = Number(values.hz);
const reportBytes = Number(values.bytes);
const uploadMb = Number(values['upload-mb']);
const settleSeconds = Number(values.settle);
const timeoutFactor = Number(values['timeout-factor']);
/** A time limit of the benchmark's, stretched by --timeout-factor (measurements are not timed by it). */
const limit = (ms: number) => ms * timeoutFactor;
const printerCount = 8;
const subscribersPerPrinter = 5;
const here = fileURLToPath(new URL('.', import.meta.url));
const moatCli = resolve(values.cli ?? join(here, '..', 'src', 'cli.js'));
/** The appliance's flags, plus any under trial (e.g. V8 heap sizes) given with --node-flags. */
const moatFlags = moatNodeFlags(values['node-flags']);

interface SimulatedPrinterInfo {
  serial: string;
  accessCode: string;
  mqttPort: number;
  ftpPort: number;
  caPem: string;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** A benchmark that stalls should fail and clean up, not hang. */
function withTimeout<T>(promise: Promise<T>, what: string, ms = limit(30_000)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_done, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}
const mb = (bytes: number) => bytes / (1024 * 1024);

/** A report of about `reportBytes`, the shape of a printer's push_status. */
function report(sequence: number): Buffer {
  const head = `{"print":{"command":"push_status","msg":1,"sequence_id":"${sequence}","pad":"`;
  const tail = '"}}';
  return Buffer.from(head + 'x'.repeat(Math.max(0, reportBytes - head.length - tail.length)) + tail);
}

/** Child mode: the simulated printers, each publishing a report at `hz`, until stdin closes. */
async function printersChild(dir: string): Promise<void> {
  const printers: SimulatedPrinter[] = [];
  for (let i = 0; i < printerCount; i++) {
    const serial = `01S00C00000090${i}`;
    printers.push(
      await startSimulatedPrinter({
        serial,
        model: 'P1S',
        accessCode: generateAccessCode(),
        mqtt: { transport: 'tls', connectionLimit: 8 },
        ftp: { transport: 'tls', rootDir: join(dir, serial) },
        statsPort: false,
      }),
    );
  }
  let sequence = 0;
  const ticker = setInterval(() => {
    sequence++;
    for (const printer of printers) printer.publishReport?.(report(sequence));
  }, 1000 / hz);
  const info: SimulatedPrinterInfo[] = printers.map((p) => ({
    serial: p.serial,
    accessCode: p.accessCode,
    mqttPort: p.ports.mqtt as number,
    ftpPort: p.ports.ftp as number,
    caPem: p.pki.ca.certPem,
  }));
  serveUntilStdinCloses(info, async () => {
    clearInterval(ticker);
    for (const printer of printers) await printer.close();
  });
}

/** Samples a process's RSS every `intervalMs` until stopped; returns the peak. */
function rssSampler(pid: number, intervalMs: number) {
  let peak = residentBytes(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, residentBytes(pid));
  }, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, residentBytes(pid));
    },
  };
}

interface RunningMoat {
  process: ChildProcess;
  paths: StatePaths;
  ports: { mqtt: number; ftps: number };
  /** Moat's own process.memoryUsage(), asked for with SIGUSR2. */
  memoryUsage(): Promise<NodeJS.MemoryUsage>;
  stop(): Promise<void>;
}

/** `moat serve` on a fresh state directory with the first `count` printers, once all of them are connected. */
async function startMoat(dir: string, printers: SimulatedPrinterInfo[], operatorEntry: unknown): Promise<RunningMoat> {
  const paths: StatePaths = statePaths(join(dir, `state-${printers.length}`));
  const ports = { mqtt: await freePort(), ftps: await freePort(), https: await freePort(), http: await freePort() };
  const caFiles = printers.map((p) => {
    const file = join(dir, `ca-${p.serial}.pem`);
    writeFileSync(file, p.caPem);
    return file;
  });
  const isolated = isolatedPorts(28000, 90);
  const config = loopbackConfig(dir, {
    ...isolated,
    ports: { ...ports, ...isolated.ports },
    accessCodes: [operatorEntry],
    web: { claimFile: join(dir, 'claim.txt') },
    printers: printers.map((p, i) => ({
      serial: p.serial,
      model: 'P1S',
      address: '127.0.0.1',
      // Several printers each get a LAN address of their own (a front each: listeners and a certificate).
      ...(printers.length > 1 && { lanAddress: lanAddressOf(i) }),
      mqtt: { transport: 'tls', port: p.mqttPort },
      ftp: { transport: 'tls', port: p.ftpPort },
      certificate: { policy: 'test-ca', caFile: caFiles[i] },
    })),
  });
  saveConfig(paths, config);
  for (const p of printers) writeSecret(paths, printerSecretName(p.serial), p.accessCode);
  // Made here, as a first start (or `moat init`) leaves them: figure 1 is a restart of a set-up Moat, which
  // makes no certificate (and so does not load what making one needs).
  await loadServerIdentity(paths, config);
  const probe = join(dir, 'memory-probe.mjs');
  writeFileSync(
    probe,
    [
      // The heap figure is the live heap after a full collection (what Moat holds, not garbage waiting);
      // the RSS figures are read from /proc before it is asked.
      "import { setFlagsFromString } from 'node:v8';",
      "import { runInNewContext } from 'node:vm';",
      "setFlagsFromString('--expose-gc');",
      "const gc = runInNewContext('gc');",
      "process.on('SIGUSR2', () => {",
      '  gc();',
      "  process.stderr.write('footprint-memory ' + JSON.stringify(process.memoryUsage()) + '\\n');",
      '});',
      '',
    ].join('\n'),
  );
  const child = spawn(
    process.execPath,
    [...moatFlags, `--import=${probe}`, moatCli, 'serve', '--state-dir', paths.root, '--development'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: moatEnvironment({ MOAT_LOG_LEVEL: 'info' }) },
  );
  const connected = new Set<string>();
  const memoryWaiters: ((usage: NodeJS.MemoryUsage) => void)[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    try {
      const entry = JSON.parse(line) as { msg?: string; serial?: string };
      if (entry.msg === 'printer connected' && entry.serial) connected.add(entry.serial);
    } catch {
      // Not a log line.
    }
  });
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => {
    const match = /^footprint-memory (.*)$/.exec(line);
    if (match) memoryWaiters.shift()?.(JSON.parse(match[1] as string) as NodeJS.MemoryUsage);
    else if (!/^Moat is not set up yet/.test(line)) process.stderr.write(`moat: ${line}\n`);
  });
  const deadline = Date.now() + limit(30_000);
  while (connected.size < printers.length) {
    if (child.exitCode !== null) throw new Error(`moat serve exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`only ${connected.size} of ${printers.length} printers connected`);
    await sleep(50);
  }
  return {
    process: child,
    paths,
    ports,
    memoryUsage: () =>
      withTimeout(
        new Promise((done) => {
          memoryWaiters.push(done);
          child.kill('SIGUSR2');
        }),
        'Moat to report its memory',
      ),
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** Moat's LAN address for printer `i` when there are several (each printer is served on its own). */
function lanAddressOf(i: number): string {
  return `127.0.1.${i + 1}`;
}

/** An MQTT client over TLS to Moat or Mosquitto (both present Moat's certificate, checked against its CA). */
function connectTls(host: string, port: number, ca: Buffer, credentials?: { username: string; password: string }) {
  const options: IClientOptions = {
    host,
    port,
    protocol: 'mqtts',
    ca,
    // Moat's certificate names moat.local and its addresses; the chain is what matters here.
    ...({ checkServerIdentity: () => undefined } as IClientOptions),
    reconnectPeriod: 0,
    connectTimeout: limit(30_000),
    ...credentials,
  };
  return mqtt.connectAsync(options);
}

/**
 * `subscribersPerPrinter` TLS clients per printer topic, each having received at least one report; each printer's
 * clients connect to `hostOf(its index)`.
 */
async function subscribe(
  port: number,
  ca: Buffer,
  serials: string[],
  credentials?: { username: string; password: string },
  hostOf: (i: number) => string = () => '127.0.0.1',
): Promise<MqttClient[]> {
  const clients: MqttClient[] = [];
  for (const [index, serial] of serials.entries()) {
    for (let i = 0; i < subscribersPerPrinter; i++) {
      const client = await connectTls(hostOf(index), port, ca, credentials);
      const first = new Promise<void>((done) => client.once('message', () => done()));
      await client.subscribeAsync(`device/${serial}/report`);
      clients.push(client);
      await withTimeout(first, `a report for subscriber ${clients.length}`);
    }
  }
  return clients;
}

async function main(): Promise<void> {
  if (values.child) return printersChild(values.child);
  if (!(seconds > 0 && hz > 0 && reportBytes > 0 && uploadMb > 0 && settleSeconds >= 0 && timeoutFactor >= 1))
    throw new Error('--seconds, --hz, --bytes and --upload-mb must be positive, --timeout-factor at least 1');
  const dir = mkdtempSync(join(tmpdir(), 'moat-bench-footprint-'));
  mkdirSync(join(dir, 'printers'));
  const printersProcess = spawn(process.execPath, [process.argv[1] as string, '--child', join(dir, 'printers')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const children: ChildProcess[] = [printersProcess];
  const clients: MqttClient[] = [];
  let moat: RunningMoat | undefined;
  try {
    const printers = JSON.parse(
      await new Promise<string>((done, reject) => {
        createInterface({ input: printersProcess.stdout as NodeJS.ReadableStream }).once('line', done);
        printersProcess.once('exit', () => reject(new Error('the simulated printers exited early')));
      }),
    ) as SimulatedPrinterInfo[];
    const { entry, code } = await createAccessCode('bench', 'operator');
    const credentials = { username: 'bblp', password: code };
    const windowMs = seconds * 1000;
    // RSS as it is, then (after the probe's full collection) without the garbage V8 had not yet collected.
    const memory = async (m: RunningMoat) => {
      if (m.process.exitCode !== null || m.process.signalCode !== null)
        throw new Error(`moat serve exited (${m.process.exitCode ?? m.process.signalCode}); its stderr is above`);
      const rss = residentBytes(m.process.pid as number);
      const usage = await m.memoryUsage();
      const rssAfterGc = residentBytes(m.process.pid as number);
      return { rss, rssAfterGc, heapUsed: usage.heapUsed, external: usage.external };
    };

    // 1. One printer: idle, then 5 subscribers, then an upload (subscribers gone).
    moat = await startMoat(dir, printers.slice(0, 1), entry);
    const pid1 = moat.process.pid as number;
    await sleep(settleSeconds * 1000);
    const idle = await memory(moat);
    const moatCa = readFileSync(moat.paths.caCert);
    let sampler = rssSampler(pid1, 100);
    clients.push(...(await subscribe(moat.ports.mqtt, moatCa, [printers[0]?.serial as string], credentials)));
    await sleep(windowMs);
    const oneFivePeak = sampler.stop();
    const oneFive = await memory(moat);
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));

    const source = join(dir, 'upload.3mf');
    writeRandomFile(source, uploadMb * 1024 * 1024);
    const target = { port: moat.ports.ftps, user: 'bblp', password: code, caFile: moat.paths.caCert, tls: true };
    // The first FTPS client loads ftp-srv (src/ftp/bridge.ts): a listing first, as a slicer's first contact, so
    // that cost is a figure of its own and the upload's is what the upload itself holds.
    const beforeFirstFtps = await memory(moat);
    const listing = await run('curl', [...curlArgs(target, ''), '--list-only'], limit(30_000));
    if (listing.code !== 0) throw new Error(`curl listing failed: ${listing.stderr}`);
    const afterFirstFtps = await memory(moat);
    const uploadStart = residentBytes(pid1);
    sampler = rssSampler(pid1, 50);
    const upload = await run(
      'curl',
      curlArgs(target, 'upload.3mf', ['-T', source, '--max-time', String(limit(300_000) / 1000)]),
      limit(310_000),
    );
    const uploadPeak = sampler.stop();
    if (upload.code !== 0) throw new Error(`curl upload failed: ${upload.stderr}`);
    await moat.stop();

    // 2. Eight printers: idle, then 40 subscribers.
    moat = await startMoat(dir, printers, entry);
    const pid8 = moat.process.pid as number;
    await sleep(settleSeconds * 1000);
    const idle8 = await memory(moat);
    const moatCa8 = readFileSync(moat.paths.caCert);
    const tls = moat.paths;
    sampler = rssSampler(pid8, 100);
    clients.push(
      ...(await subscribe(
        moat.ports.mqtt,
        moatCa8,
        printers.map((p) => p.serial),
        credentials,
        lanAddressOf,
      )),
    );
    await sleep(windowMs);
    const eightFortyPeak = sampler.stop();
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    await moat.stop();
    moat = undefined;

    // 3. Mosquitto with the same MQTT load: a publisher per printer topic at the same rate and size.
    const mosquittoPort = await freePort();
    const mosquitto = await startMosquitto(
      dir,
      mosquittoPort,
      [
        'user root',
        'persistence false',
        // The subscribers leave without a TLS close; Mosquitto would log each as an error.
        'log_type none',
        `listener ${mosquittoPort} 127.0.0.1`,
        'allow_anonymous true',
        `cafile ${tls.caCert}`,
        `certfile ${tls.serverCert}`,
        `keyfile ${tls.serverKey}`,
      ],
      limit(5000),
    );
    children.push(mosquitto);
    const mosquittoPid = mosquitto.pid as number;
    const mosquittoIdle = residentBytes(mosquittoPid);
    const publisher = await connectTls('127.0.0.1', mosquittoPort, moatCa8);
    clients.push(publisher);
    let sequence = 0;
    const publishing = (serials: string[]) =>
      setInterval(() => {
        sequence++;
        for (const serial of serials) publisher.publish(`device/${serial}/report`, report(sequence));
      }, 1000 / hz);
    const mosquittoLoad = async (serials: string[]) => {
      const ticker = publishing(serials);
      const peak = rssSampler(mosquittoPid, 100);
      const subscribers = await subscribe(mosquittoPort, moatCa8, serials);
      await sleep(windowMs);
      const result = peak.stop();
      clearInterval(ticker);
      await Promise.all(subscribers.map((c) => c.endAsync(true)));
      return result;
    };
    const mosquittoOneFive = await mosquittoLoad([printers[0]?.serial as string]);
    const mosquittoEightForty = await mosquittoLoad(printers.map((p) => p.serial));

    // After a full collection in both: the difference is what the seven printers hold, not garbage timing.
    const perPrinterIdle = (idle8.rssAfterGc - idle.rssAfterGc) / (printerCount - 1);
    const perPrinterLoaded = (eightFortyPeak - oneFivePeak) / (printerCount - 1);
    const figures = {
      idleRssMb: mb(idle.rss),
      idleRssAfterGcMb: mb(idle.rssAfterGc),
      idleHeapUsedMb: mb(idle.heapUsed),
      idleExternalMb: mb(idle.external),
      oneP5sPeakRssMb: mb(oneFivePeak),
      oneP5sHeapUsedMb: mb(oneFive.heapUsed),
      firstFtpsClientRssMb: mb(afterFirstFtps.rssAfterGc - beforeFirstFtps.rssAfterGc),
      firstFtpsClientHeapMb: mb(afterFirstFtps.heapUsed - beforeFirstFtps.heapUsed),
      uploadStartRssMb: mb(uploadStart),
      uploadPeakRssMb: mb(uploadPeak),
      uploadAboveStartMb: mb(uploadPeak - uploadStart),
      eightPIdleRssMb: mb(idle8.rss),
      eightPIdleRssAfterGcMb: mb(idle8.rssAfterGc),
      eightPIdleHeapUsedMb: mb(idle8.heapUsed),
      eightP40sPeakRssMb: mb(eightFortyPeak),
      perPrinterIdleMb: mb(perPrinterIdle),
      perPrinterWith5SubscribersMb: mb(perPrinterLoaded),
      mosquittoIdleRssMb: mb(mosquittoIdle),
      mosquitto1p5sPeakRssMb: mb(mosquittoOneFive),
      mosquitto8p40sPeakRssMb: mb(mosquittoEightForty),
    };
    const aims = {
      idle: figures.idleRssMb <= 64,
      oneP5s: figures.oneP5sPeakRssMb <= 80,
      perPrinter: figures.perPrinterIdleMb <= 4 && figures.perPrinterWith5SubscribersMb <= 4,
      upload: figures.uploadAboveStartMb <= 16,
    };
    const f = (n: number) => `${n.toFixed(1)} MB`;
    console.log(
      `Moat footprint: moat serve with ${moatFlags.join(' ')} (${moatCli}); reports of ${reportBytes} bytes at ${hz} Hz per printer; windows of ${seconds} s`,
    );
    console.log(
      `  idle, 1 printer            RSS ${f(figures.idleRssMb)}, ${f(figures.idleRssAfterGcMb)} after a full GC (heap used ${f(figures.idleHeapUsedMb)}, external ${f(figures.idleExternalMb)})   aim <= 64 MB: ${aims.idle ? 'met' : 'NOT met'}`,
    );
    console.log(
      `  1 printer, 5 subscribers   peak RSS ${f(figures.oneP5sPeakRssMb)} (heap used ${f(figures.oneP5sHeapUsedMb)})   aim <= 80 MB: ${aims.oneP5s ? 'met' : 'NOT met'}   Mosquitto ${f(figures.mosquitto1p5sPeakRssMb)}`,
    );
    console.log(
      `  first FTPS client (a list)  +${f(figures.firstFtpsClientRssMb)} RSS after a full GC, +${f(figures.firstFtpsClientHeapMb)} heap: loads ftp-srv`,
    );
    console.log(
      `  ${uploadMb} MB FTPS upload         start ${f(figures.uploadStartRssMb)}, peak ${f(figures.uploadPeakRssMb)}, +${f(figures.uploadAboveStartMb)}   aim <= +16 MB: ${aims.upload ? 'met' : 'NOT met'}`,
    );
    console.log(
      `  8 printers idle            RSS ${f(figures.eightPIdleRssMb)}, ${f(figures.eightPIdleRssAfterGcMb)} after a full GC (heap used ${f(figures.eightPIdleHeapUsedMb)}): ${f(figures.perPrinterIdleMb)} per further printer`,
    );
    console.log(
      `  8 printers, 40 subscribers peak RSS ${f(figures.eightP40sPeakRssMb)}: ${f(figures.perPrinterWith5SubscribersMb)} per further printer with its 5 subscribers   aim <= 4 MB: ${aims.perPrinter ? 'met' : 'NOT met'}   Mosquitto ${f(figures.mosquitto8p40sPeakRssMb)}`,
    );
    console.log(`  Mosquitto idle             RSS ${f(figures.mosquittoIdleRssMb)}`);
    const rounded = Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, Number(v.toFixed(1))]));
    console.log(
      JSON.stringify({
        bench: 'footprint',
        ...rounded,
        moatNodeFlags: moatFlags.join(' '),
        reportBytes,
        hz,
        seconds,
        uploadMb,
        aimsMet: aims,
      }),
    );
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
    await moat?.stop();
    printersProcess.stdin?.end();
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      if (child !== printersProcess) child.kill('SIGTERM');
      await once(child, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
