/**
 * FTP throughput: a 200 MB upload via Moat (implicit FTPS on the LAN side, FTPS to the printer) against the
 * same upload straight to the simulated printer's FTPS and straight to its plain FTP, all in one run.
 * The simulator runs in a child process, so Moat (this process) and the printer do not share a thread;
 * the client is curl. Prints MB/s, ratios and Moat's peak resident memory, then one JSON line.
 *
 * Usage: npm run build && node dist/bench/ftp-throughput.js [--mb 200]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createAccessCode, generateAccessCode } from '../src/auth/access-codes.js';
import { parseConfig } from '../src/config/schema.js';
import { printerSecretName, writeSecret } from '../src/config/secrets.js';
import { statePaths } from '../src/config/state-dir.js';
import { saveConfig } from '../src/config/store.js';
import { silentLogger } from '../src/log.js';
import { startMoat } from '../src/service.js';
import { startSimulatedPrinter } from '../src/simulator/index.js';
import { curlArgs, run, writeRandomFile } from '../test/helpers/ftp-clients.js';

interface SimulatorPorts {
  tls: number;
  plain: number;
  caPem: string;
}

const serial = '01S00C000000777';

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
  process.stdout.write(`${JSON.stringify(ports)}\n`);
  process.stdin.resume();
  process.stdin.on('end', async () => {
    await tls.close();
    await plain.close();
    process.exit(0);
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { mb: { type: 'string', default: '200' }, child: { type: 'string' }, code: { type: 'string' } },
  });
  if (values.child) return simulatorChild(values.child, values.code ?? '');

  const megabytes = Number(values.mb);
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

    const directPlain = await upload({ port: sim.plain, user: 'bblp', password: printerCode, tls: false });
    const directTls = await upload({ port: sim.tls, user: 'bblp', password: printerCode, tls: true });
    let peakRss = process.memoryUsage.rss();
    const baselineRss = peakRss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
    }, 50);
    const cpuBefore = process.cpuUsage();
    const wallBefore = process.hrtime.bigint();
    const viaMoat = await upload({
      port: moat.ftp.port,
      user: 'bblp',
      password: code,
      caFile: paths.caCert,
      tls: true,
    });
    const cpu = process.cpuUsage(cpuBefore);
    // Moat's share of one core while relaying: near 100% means Moat itself is the bottleneck.
    const moatCpuShare = (cpu.user + cpu.system) / 1000 / (Number(process.hrtime.bigint() - wallBefore) / 1e6);
    clearInterval(sampler);

    const mb = (n: number) => n / (1024 * 1024);
    console.log(`upload of ${megabytes} MB, one run each, client curl, simulator in a child process`);
    console.log(`  direct plain FTP       ${directPlain.toFixed(1)} MB/s`);
    console.log(`  direct FTPS            ${directTls.toFixed(1)} MB/s`);
    console.log(`  via Moat FTPS->FTPS    ${viaMoat.toFixed(1)} MB/s`);
    console.log(`  ratio via Moat / direct FTPS  ${(viaMoat / directTls).toFixed(2)} (aim >= 0.8)`);
    console.log(`  ratio via Moat / direct plain ${(viaMoat / directPlain).toFixed(2)}`);
    console.log(`  Moat CPU while relaying ${(moatCpuShare * 100).toFixed(0)}% of one core`);
    console.log(`  Moat peak RSS ${mb(peakRss).toFixed(1)} MB (baseline ${mb(baselineRss).toFixed(1)} MB)`);
    console.log(
      JSON.stringify({
        bench: 'ftp-throughput',
        megabytes,
        directPlainMBps: Number(directPlain.toFixed(2)),
        directFtpsMBps: Number(directTls.toFixed(2)),
        viaMoatMBps: Number(viaMoat.toFixed(2)),
        ratioVsDirectFtps: Number((viaMoat / directTls).toFixed(3)),
        ratioVsDirectPlain: Number((viaMoat / directPlain).toFixed(3)),
        moatPeakRssMB: Number(mb(peakRss).toFixed(1)),
        moatBaselineRssMB: Number(mb(baselineRss).toFixed(1)),
        moatCpuShare: Number(moatCpuShare.toFixed(2)),
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
