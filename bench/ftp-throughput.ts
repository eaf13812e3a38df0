/**
 * FTP throughput: a 200 MB upload via Moat (implicit FTPS on the LAN side, FTPS to the printer) against the
 * same upload straight to the simulated printer's FTPS and straight to its plain FTP, all in one run; and the
 * same upload through Moat with store-and-forward on: the LAN-side time (until the client's 226) against the
 * streaming path, and the time until the drain has put the file on the printer.
 * The simulator runs in a child process, so Moat (this process) and the printer do not share a thread;
 * the client is curl. Moat runs with the appliance's Node flags (src/appliance/node-flags.ts). Prints MB/s
 * per round, medians, ratios, Moat's CPU per relayed megabyte and its peak resident memory, then one JSON line.
 *
 * Usage: npm run build && node dist/bench/ftp-throughput.js [--mb 200] [--rounds 5] [--warmup 1]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { serviceNodeFlags } from '../src/appliance/node-flags.js';
import { createAccessCode, generateAccessCode } from '../src/auth/access-codes.js';
import { parseConfig } from '../src/config/schema.js';
import { printerSecretName, writeSecret } from '../src/config/secrets.js';
import { statePaths } from '../src/config/state-dir.js';
import { saveConfig } from '../src/config/store.js';
import { silentLogger } from '../src/log.js';
import { startMoat } from '../src/service.js';
import { startSimulatedPrinter } from '../src/simulator/index.js';
import { curlArgs, writeRandomFile } from '../test/helpers/ftp-clients.js';
import { run } from '../test/helpers/process.js';
import { serveUntilStdinCloses } from './helpers.js';

interface SimulatorPorts {
  tls: number;
  plain: number;
  caPem: string;
}

const serial = '01S00C000000777';

interface Round {
  directPlain: number;
  directTls: number;
  viaMoat: number;
  moatCpuMsPerMB: number;
  /** Store-and-forward: MB/s until the client's 226, and until the file was on the printer. */
  spooled: number;
  spooledDelivered: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Child mode: two simulated printers' FTP servers (TLS demanding session reuse, and plain) until stdin closes. */
async function simulatorChild(dir: string, accessCode: string): Promise<void> {
  const common = { serial, model: 'P1S', accessCode, mqtt: false, statsPort: false } as const;
  const tls = await startSimulatedPrinter({ ...common, ftp: { transport: 'tls', rootDir: join(dir, 'tls') } });
  const plain = await startSimulatedPrinter({
    ...common,
    pki: tls.pki,
    ftp: { transport: 'plain', rootDir: join(dir, 'plain') },
  });
  const ports: SimulatorPorts = {
    tls: tls.ports.ftp as number,
    plain: plain.ports.ftp as number,
    caPem: tls.pki.ca.certPem,
  };
  serveUntilStdinCloses(ports, async () => {
    await tls.close();
    await plain.close();
  });
}

/**
 * Moat runs in this process, so this process must run with the appliance's Node flags (the simulator, a
 * child started without them, stays as it is): without them, starts a copy of itself that has them.
 */
function relaunchedWithServiceFlags(): boolean {
  const missing = serviceNodeFlags.filter((flag) => !process.execArgv.includes(flag));
  if (missing.length === 0) return false;
  const copy = spawnSync(process.execPath, [...process.execArgv, ...missing, ...process.argv.slice(1)], {
    stdio: 'inherit',
  });
  process.exitCode = copy.status ?? 1;
  return true;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mb: { type: 'string', default: '200' },
      rounds: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      child: { type: 'string' },
      code: { type: 'string' },
    },
  });
  if (values.child) return simulatorChild(values.child, values.code ?? '');
  if (relaunchedWithServiceFlags()) return;

  const megabytes = Number(values.mb);
  const rounds = Number(values.rounds);
  const warmupRounds = Number(values.warmup);
  if (!(megabytes > 0 && Number.isInteger(rounds) && rounds > 0 && Number.isInteger(warmupRounds) && warmupRounds >= 0))
    throw new Error('--mb and --rounds must be positive, --warmup a count');
  const bytes = megabytes * 1024 * 1024;
  const dir = mkdtempSync(join(tmpdir(), 'moat-bench-ftp-'));
  const printerCode = generateAccessCode();
  const child = spawn(
    process.execPath,
    [process.argv[1] as string, '--child', join(dir, 'printer'), '--code', printerCode],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  let moat: Awaited<ReturnType<typeof startMoat>> | undefined;
  try {
    const firstLine = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', () => reject(new Error('simulator exited early')));
    });
    const sim = JSON.parse(firstLine) as SimulatorPorts;
    const caFile = join(dir, 'printer-ca.pem');
    writeFileSync(caFile, sim.caPem);

    const paths = statePaths(join(dir, 'state'));
    const { entry, code } = await createAccessCode('bench', 'operator');
    saveConfig(
      paths,
      parseConfig({
        lan: { interface: 'lo', bindAddress: '127.0.0.1', addresses: ['127.0.0.1'] },
        ports: { mqtt: 0, ftps: 0, https: 0, http: 0, passiveMin: 41000, passiveMax: 41099 },
        accessCodes: [entry],
        firewall: { enabled: false },
        web: { claimFile: join(dir, 'claim.txt') },
        printers: [
          {
            serial,
            model: 'P1S',
            address: '127.0.0.1',
            mqtt: { transport: 'tls', port: 1 },
            ftp: { transport: 'tls', port: sim.tls },
            storeAndForward: false,
            certificate: { policy: 'test-ca', caFile },
          },
        ],
      }),
    );
    writeSecret(paths, printerSecretName(serial), printerCode);
    moat = await startMoat({ paths, developmentMode: true, logger: silentLogger() });

    const source = join(dir, 'upload.3mf');
    writeRandomFile(source, bytes);
    const upload = async (target: Parameters<typeof curlArgs>[0]) => {
      const started = process.hrtime.bigint();
      const result = await run('curl', curlArgs(target, 'upload.3mf', ['-T', source]), 600_000);
      if (result.code !== 0) throw new Error(`curl failed: ${result.stderr}`);
      return megabytes / (Number(process.hrtime.bigint() - started) / 1e9);
    };

    const running = moat;
    const moatTarget = () => ({
      port: running.ftp.port,
      user: 'bblp',
      password: code,
      caFile: paths.caCert,
      tls: true,
    });
    // The setting is per printer: changing it restarts the bridges (a new FTPS port, as configured 0).
    const storeAndForward = async (on: boolean) => {
      const before = running.ftp.port;
      running.context.config.update((c) => ({
        ...c,
        printers: c.printers.map((p) => ({ ...p, storeAndForward: on })),
      }));
      while (running.ftp.port === 0 || running.ftp.port === before) await new Promise((r) => setTimeout(r, 20));
    };
    const drained = async () => {
      while (running.context.spool.pending(serial).length > 0) await new Promise((r) => setTimeout(r, 5));
    };
    const printerTarget = { port: sim.tls, user: 'bblp', password: printerCode, tls: true };
    const plainTarget = { port: sim.plain, user: 'bblp', password: printerCode, tls: false };
    let peakRss = process.memoryUsage.rss();
    const baselineRss = peakRss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
    }, 50);
    // Rounds interleave the three paths, so a burst of other load on the machine hits all of them alike.
    // The warm-up rounds are not counted: the first upload through a cold process measures its start
    // (JIT compilation, TLS and socket buffers, the page cache for the source file), not the relay.
    const rows: Round[] = [];
    for (let round = -warmupRounds; round < rounds; round++) {
      const directPlain = await upload(plainTarget);
      const directTls = await upload(printerTarget);
      const cpuBefore = process.cpuUsage();
      const viaMoat = await upload(moatTarget());
      const cpu = process.cpuUsage(cpuBefore);
      await storeAndForward(true);
      const spoolStarted = process.hrtime.bigint();
      const spooled = await upload(moatTarget());
      await drained();
      const spooledDelivered = megabytes / (Number(process.hrtime.bigint() - spoolStarted) / 1e9);
      await storeAndForward(false);
      // CPU milliseconds Moat (this process) spent per relayed megabyte: the cost the relay itself adds.
      if (round >= 0)
        rows.push({
          directPlain,
          directTls,
          viaMoat,
          moatCpuMsPerMB: (cpu.user + cpu.system) / 1000 / megabytes,
          spooled,
          spooledDelivered,
        });
    }
    clearInterval(sampler);

    const mb = (n: number) => n / (1024 * 1024);
    const summary = {
      directPlain: median(rows.map((row) => row.directPlain)),
      directTls: median(rows.map((row) => row.directTls)),
      viaMoat: median(rows.map((row) => row.viaMoat)),
      ratio: median(rows.map((row) => row.viaMoat / row.directTls)),
      ratioPlain: median(rows.map((row) => row.viaMoat / row.directPlain)),
      moatCpuMsPerMB: median(rows.map((row) => row.moatCpuMsPerMB)),
      spooled: median(rows.map((row) => row.spooled)),
      spooledDelivered: median(rows.map((row) => row.spooledDelivered)),
      lanTimeRatio: median(rows.map((row) => row.viaMoat / row.spooled)),
    };
    console.log(
      `upload of ${megabytes} MB, ${rounds} interleaved rounds after ${warmupRounds} uncounted, client curl, simulator in a child process`,
    );
    console.log(`Moat runs with the appliance's Node flags: ${serviceNodeFlags.join(' ')}`);
    console.log('  round  direct plain  direct FTPS  via Moat  ratio  Moat CPU ms/MB');
    rows.forEach((row, index) => {
      console.log(
        `  ${String(index + 1).padStart(5)}  ${row.directPlain.toFixed(1).padStart(12)}  ${row.directTls.toFixed(1).padStart(11)}  ${row.viaMoat.toFixed(1).padStart(8)}  ${(row.viaMoat / row.directTls).toFixed(2).padStart(5)}  ${row.moatCpuMsPerMB.toFixed(2).padStart(14)}`,
      );
    });
    console.log(`  median direct plain FTP       ${summary.directPlain.toFixed(1)} MB/s`);
    console.log(`  median direct FTPS            ${summary.directTls.toFixed(1)} MB/s`);
    console.log(`  median via Moat FTPS->FTPS    ${summary.viaMoat.toFixed(1)} MB/s`);
    console.log(`  median ratio via Moat / direct FTPS  ${summary.ratio.toFixed(2)} (aim >= 0.8)`);
    console.log(`  median ratio via Moat / direct plain ${summary.ratioPlain.toFixed(2)}`);
    console.log(`  Moat CPU per relayed MB ${summary.moatCpuMsPerMB.toFixed(2)} ms`);
    console.log(`  median store-and-forward, LAN side (to 226)  ${summary.spooled.toFixed(1)} MB/s`);
    console.log(`  median store-and-forward, until on the printer ${summary.spooledDelivered.toFixed(1)} MB/s`);
    console.log(`  median LAN-side time, store-and-forward / streaming ${summary.lanTimeRatio.toFixed(2)}`);
    console.log(`  Moat peak RSS ${mb(peakRss).toFixed(1)} MB (baseline ${mb(baselineRss).toFixed(1)} MB)`);
    console.log(
      JSON.stringify({
        bench: 'ftp-throughput',
        megabytes,
        rounds,
        warmupRounds,
        moatNodeFlags: serviceNodeFlags.join(' '),
        directPlainMBps: Number(summary.directPlain.toFixed(2)),
        directFtpsMBps: Number(summary.directTls.toFixed(2)),
        viaMoatMBps: Number(summary.viaMoat.toFixed(2)),
        ratioVsDirectFtps: Number(summary.ratio.toFixed(3)),
        ratioVsDirectPlain: Number(summary.ratioPlain.toFixed(3)),
        moatCpuMsPerMB: Number(summary.moatCpuMsPerMB.toFixed(2)),
        storeAndForwardLanMBps: Number(summary.spooled.toFixed(2)),
        storeAndForwardDeliveredMBps: Number(summary.spooledDelivered.toFixed(2)),
        lanTimeRatioSpooledVsStreaming: Number(summary.lanTimeRatio.toFixed(3)),
        moatPeakRssMB: Number(mb(peakRss).toFixed(1)),
        moatBaselineRssMB: Number(mb(baselineRss).toFixed(1)),
      }),
    );
  } finally {
    await moat?.close();
    child.stdin?.end();
    await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
