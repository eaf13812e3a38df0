import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { generateAccessCode } from '../../src/auth/access-codes.js';
import { printerSecretName, writeSecret } from '../../src/config/secrets.js';
import type { StatePaths } from '../../src/config/state-dir.js';
import { packageRoot } from '../../src/paths.js';
import { ownNamespace } from '../helpers/namespaces.js';
import { waitFor } from '../helpers/wait.js';

/** What the several-printers namespace tests share: commands in a namespace, and the simulated printers. */

export const cli = join(packageRoot, 'dist', 'src', 'cli.js');

interface PlannedPrinter {
  serial: string;
  model: string;
  /** Its address on the printer segment. */
  address: string;
}

export function sh(ns: string, command: string, args: string[], timeoutMs = 30_000, input?: string) {
  const result = spawnSync('ip', ['netns', 'exec', ns, command, ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
    ...(input !== undefined && { input }),
  });
  return { status: result.status, out: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

export function must(ns: string, command: string, ...args: string[]): string {
  const result = sh(ns, command, args);
  assert.equal(result.status, 0, `${ns}: ${command} ${args.join(' ')}: ${result.out}`);
  return result.out;
}

/** A process in a namespace, its output collected; the caller stops it. */
export function spawnIn(ns: string, args: string[], output: string[]): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', ns, ...args]);
  const collect = (chunk: Buffer) => output.push(chunk.toString('utf8'));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  return child;
}

/** A veth pair from `ns` (link `name`) to `peerNs` (link `peerName`), both up, with their addresses. */
function wire(ns: string, name: string, address: string, peerNs: string, peerName: string, peerAddress?: string): void {
  must(ns, 'ip', 'link', 'add', name, 'type', 'veth', 'peer', 'name', peerName, 'netns', peerNs);
  must(ns, 'ip', 'addr', 'add', address, 'dev', name);
  if (peerAddress) must(peerNs, 'ip', 'addr', 'add', peerAddress, 'dev', peerName);
  must(ns, 'ip', 'link', 'set', name, 'up');
  must(peerNs, 'ip', 'link', 'set', peerName, 'up');
}

export interface PrinterTopology {
  lan: string;
  moat: string;
  segment: string;
  /** A directory of the test's own, removed after it. */
  dir: string;
  /** Processes the test starts; killed after it. */
  children: ChildProcess[];
}

/**
 * Three namespaces of the test's own (names from `prefix`): `lan` (eth0 198.51.100.10, default route via Moat),
 * Moat's (lan0 198.51.100.1, seg0 192.0.2.1) and the printer segment (wlan0, addresses added with the
 * printers); or undefined, the test skipped, when namespaces or `tools` are not available.
 */
export function printerTopology(t: TestContext, prefix: string, tools: string[]): PrinterTopology | undefined {
  const lan = ownNamespace(t, `${prefix}-lan`, ['nft', 'openssl', 'mosquitto_sub', ...tools]);
  if (!lan) return undefined;
  const moat = ownNamespace(t, `${prefix}-moat`, []) as string;
  const segment = ownNamespace(t, `${prefix}-seg`, []) as string;
  const dir = mkdtempSync(join(tmpdir(), `moat-${prefix}-`));
  const children: ChildProcess[] = [];
  t.after(() => {
    for (const child of children) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  for (const ns of [lan, moat, segment]) must(ns, 'ip', 'link', 'set', 'lo', 'up');
  wire(moat, 'lan0', '198.51.100.1/24', lan, 'eth0', '198.51.100.10/24');
  wire(moat, 'seg0', '192.0.2.1/24', segment, 'wlan0');
  must(lan, 'ip', 'route', 'add', 'default', 'via', '198.51.100.1');
  return { lan, moat, segment, dir, children };
}

/**
 * One `moat simulate-printer` per printer in the segment namespace, on its segment address (added to
 * `link` there, the segment's default route via Moat), with the camera and bind services; each one's access
 * code goes into Moat's secrets. Returns
 * the configuration entries for them (the simulator's test CA as their certificate policy).
 */
export async function startSimulatedPrinters(
  segment: string,
  link: string,
  printers: PlannedPrinter[],
  dir: string,
  paths: StatePaths,
  children: ChildProcess[],
): Promise<Record<string, unknown>[]> {
  const entries = [];
  for (const p of printers) {
    must(segment, 'ip', 'addr', 'add', `${p.address}/24`, 'dev', link);
    const accessCode = generateAccessCode();
    const caFile = join(dir, `printer-ca-${p.serial}.pem`);
    const output: string[] = [];
    children.push(
      spawnIn(
        segment,
        [
          process.execPath,
          cli,
          'simulate-printer',
          ...['--serial', p.serial, '--model', p.model, '--host', p.address, '--access-code', accessCode],
          ...['--ftp-dir', join(dir, `storage-${p.serial}`), '--tcp-services', '--ca-out', caFile],
        ],
        output,
      ),
    );
    await waitFor(() => output.join('').includes('"serial"'), {
      what: `simulated printer ${p.serial}`,
      timeoutMs: 30_000,
    });
    writeSecret(paths, printerSecretName(p.serial), accessCode);
    entries.push({
      serial: p.serial,
      model: p.model,
      address: p.address,
      mqtt: {},
      ftp: {},
      certificate: { policy: 'test-ca', caFile },
    });
  }
  must(segment, 'ip', 'route', 'add', 'default', 'via', '192.0.2.1');
  return entries;
}

/** The certificate a printer's LAN address presents, verified against Moat's CA for that address. */
export function assertPrinterCertificate(lan: string, caCert: string, serial: string, lanAddress: string): void {
  const tls = sh(
    lan,
    'openssl',
    ['s_client', '-connect', `${lanAddress}:8883`, '-CAfile', caCert, '-verify_ip', lanAddress],
    20_000,
    '',
  );
  assert.match(tls.out, /Verify return code: 0 \(ok\)/, tls.out);
  assert.match(tls.out, new RegExp(`subject=CN ?= ?${serial}`), tls.out);
}

/** One report of the printer, by mosquitto_sub from `lan` on the printer's LAN address. */
export function assertPrinterReport(lan: string, caCert: string, code: string, serial: string, lanAddress: string) {
  const report = sh(
    lan,
    'mosquitto_sub',
    [
      ...['-h', lanAddress, '-p', '8883', '--cafile', caCert, '-u', 'bblp', '-P', code],
      ...['-t', `device/${serial}/report`, '-C', '1', '-W', '20'],
    ],
    30_000,
  );
  assert.equal(report.status, 0, report.out);
  assert.ok(JSON.parse(report.out).print, report.out);
}
