import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { packageRoot } from '../../src/paths.js';
import { runSync } from '../helpers/process.js';

/**
 * The boot-state machine, run by the real thing: Debian's U-Boot for QEMU's `virt` board (the same U-Boot
 * source and hush shell as Debian's Raspberry Pi build) executes boot.scr compiled from the committed
 * appliance/boot/boot.cmd, from a FAT partition, against moat-boot.env; RAUC's side is the committed backend
 * script editing that same file. Nothing re-implements the script for the test. The disk has no system
 * partitions, so every boot "fails" after the slot choice: each QEMU run is one boot attempt, and the
 * script's own `reset` ends it (QEMU runs with -no-reboot).
 */

const uboot = '/usr/lib/u-boot/qemu_arm64/u-boot.bin';
const tools = ['qemu-system-aarch64', 'mkimage', 'mkfs.vfat', 'mcopy', 'mkfs.ext4'];
const missingTool = tools.find((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
const skip = missingTool
  ? `${missingTool} is not installed (apt-get install qemu-system-arm u-boot-qemu u-boot-tools dosfstools mtools)`
  : !existsSync(uboot)
    ? `${uboot} is missing (apt-get install u-boot-qemu)`
    : false;

const backend = join(packageRoot, 'appliance', 'rauc', 'boot-state.sh');
const dir = mkdtempSync(join(tmpdir(), 'moat-boot-'));
const disk = join(dir, 'disk.img');
/** mtools addresses the FAT partition by its offset: 1 MiB, where the MBR below puts it. */
const fat = `${disk}@@1M`;
after(() => rmSync(dir, { recursive: true, force: true }));

function must(command: string, args: string[], env?: NodeJS.ProcessEnv): string {
  const result = runSync(command, args, 60_000, undefined, env);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

/**
 * A disk like the image's first and last partitions: an MBR with a bootable FAT32 partition (type 0x0c) from
 * sector 2048 holding boot.scr, and, when given its machine-ID file, a small ext4 data partition as number 4
 * (the image's /var), made from a directory with mkfs.ext4 -d as the image build makes it.
 */
function makeDisk(path: string, machineIdEnv?: string): void {
  const dataStart = 69632; // sectors: after the FAT's 2048 + 65536
  const dataSectors = 16384;
  writeFileSync(path, Buffer.alloc((dataStart + dataSectors) * 512));
  const mbr = Buffer.alloc(512);
  mbr[446] = 0x80;
  mbr[446 + 4] = 0x0c;
  mbr.writeUInt32LE(2048, 446 + 8);
  mbr.writeUInt32LE(65536, 446 + 12);
  if (machineIdEnv !== undefined) {
    mbr[446 + 48 + 4] = 0x83;
    mbr.writeUInt32LE(dataStart, 446 + 48 + 8);
    mbr.writeUInt32LE(dataSectors, 446 + 48 + 12);
  }
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  const fd = openSync(path, 'r+');
  writeSync(fd, mbr, 0, 512, 0);
  closeSync(fd);
  must('mkfs.vfat', ['--offset=2048', '-n', 'BOOT', path, '32768']);
  const script = join(dir, 'boot.scr');
  must('mkimage', [
    '-A',
    'arm64',
    '-T',
    'script',
    '-C',
    'none',
    '-d',
    join(packageRoot, 'appliance', 'boot', 'boot.cmd'),
    script,
  ]);
  must('mcopy', ['-i', `${path}@@1M`, script, '::boot.scr']);
  if (machineIdEnv === undefined) return;
  const data = join(dir, 'data');
  mkdirSync(join(data, 'lib', 'moat-host'), { recursive: true });
  writeFileSync(join(data, 'lib', 'moat-host', 'machine-id.env'), machineIdEnv);
  must('mkfs.ext4', ['-q', '-F', '-L', 'MOATDATA', '-E', `offset=${dataStart * 512}`, '-d', data, path, '8M']);
}

/** One power-on: U-Boot runs boot.scr, which picks a slot, saves the state, finds no kernel and resets. */
function boot(path = disk): Promise<{ slot: string; console: string }> {
  return new Promise((resolve, reject) => {
    const qemu = spawn(
      'qemu-system-aarch64',
      [
        ...['-M', 'virt', '-cpu', 'cortex-a53', '-m', '256', '-display', 'none', '-serial', 'stdio'],
        ...['-monitor', 'none', '-nic', 'none', '-no-reboot', '-bios', uboot],
        ...['-drive', `file=${path},format=raw,if=virtio`],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let console = '';
    qemu.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      console += chunk;
    });
    qemu.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      console += chunk;
    });
    // A bound on a hung U-Boot, not a timing assertion: the run ends by itself at the script's reset.
    const guard = setTimeout(() => qemu.kill('SIGKILL'), 180_000);
    qemu.on('error', reject);
    qemu.on('close', () => {
      clearTimeout(guard);
      const slot = /moat-boot: booting slot ([AB])/.exec(console)?.[1];
      if (!console.includes('resetting')) reject(new Error(`U-Boot did not reach the script's reset:\n${console}`));
      else resolve({ slot: slot ?? 'none', console });
    });
  });
}

function readState(): Record<string, string> {
  const text = must('mcopy', ['-i', fat, '::moat-boot.env', '-']).replaceAll('\0', '');
  return Object.fromEntries(
    text
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

/** RAUC's side: the backend script edits the boot partition's file (copied out and back, as mtools needs). */
function rauc(...args: string[]): string {
  const local = join(dir, 'moat-boot.env');
  rmSync(local, { force: true });
  const copied = runSync('mcopy', ['-i', fat, '::moat-boot.env', local]);
  const out = must('sh', [backend, ...args], { MOAT_BOOT_STATE: local });
  if (copied.code === 0 || existsSync(local)) must('mcopy', ['-o', '-i', fat, local, '::moat-boot.env']);
  return out.trim();
}

function counts(): string {
  const state = readState();
  return `${state.BOOT_ORDER} A=${state.BOOT_A_LEFT} B=${state.BOOT_B_LEFT}`;
}

before(() => {
  if (!skip) makeDisk(disk);
});

test('U-Boot and the RAUC backend run the A/B state machine over moat-boot.env', {
  skip,
  timeout: 15 * 60_000,
}, async () => {
  // A fresh card has no state file: slot A, one attempt spent. No data partition, no machine ID passed on.
  const first = await boot();
  assert.equal(first.slot, 'A');
  assert.match(first.console, /moat-boot: kernel command line: .* rauc\.slot=A\r?\n/);
  assert.doesNotMatch(first.console, /systemd\.machine_id/);
  assert.equal(counts(), 'A B A=2 B=3');
  assert.equal(rauc('get-primary'), 'A');

  // Linux came up and Moat was healthy: RAUC marks A good, which gives it its attempts back.
  rauc('set-state', 'A', 'good');
  assert.equal(counts(), 'A B A=3 B=3');

  // An update: RAUC marks the slot it writes bad first, so a half-written slot is never started ...
  rauc('set-state', 'B', 'bad');
  assert.equal(rauc('get-state', 'B'), 'bad');
  assert.equal((await boot()).slot, 'A', 'a slot marked bad is skipped');
  assert.equal(counts(), 'A B A=2 B=0');
  // ... then, once written, makes it the primary.
  rauc('set-primary', 'B');
  assert.equal(counts(), 'B A A=2 B=3');
  assert.equal(rauc('get-primary'), 'B');

  // The new slot never becomes good (its Moat fails the health check): three attempts, then back to A.
  const tried = [(await boot()).slot, (await boot()).slot, (await boot()).slot];
  assert.deepEqual(tried, ['B', 'B', 'B']);
  assert.equal(counts(), 'B A A=2 B=0');
  assert.equal(rauc('get-state', 'B'), 'bad');
  assert.equal(rauc('get-primary'), 'A', 'RAUC sees the fallback U-Boot will make');
  assert.equal((await boot()).slot, 'A', 'fell back to the last good slot');
  assert.equal(counts(), 'B A A=1 B=0');

  // Neither slot has attempts left (A failing too): both get their attempts back rather than no boot at all.
  rauc('set-state', 'A', 'bad');
  const exhausted = await boot();
  assert.equal(exhausted.slot, 'none');
  assert.match(exhausted.console, /no slot has attempts left; both get 3 again/);
  assert.equal(counts(), 'A B A=3 B=3');
  assert.equal((await boot()).slot, 'A');

  // A damaged state file (an order naming no slot, counts that are not numbers) heals on the next boot.
  const damaged = join(dir, 'damaged.env');
  writeFileSync(damaged, 'BOOT_ORDER=C D\nBOOT_A_LEFT=x\nBOOT_B_LEFT=\n');
  must('mcopy', ['-o', '-i', fat, damaged, '::moat-boot.env']);
  assert.equal((await boot()).slot, 'none');
  assert.equal(counts(), 'A B A=3 B=3');
  assert.equal((await boot()).slot, 'A');
});

test('boot.scr passes on the machine ID the first boot kept on the data partition, and nothing else of that file', {
  skip,
  timeout: 5 * 60_000,
}, async () => {
  const withData = join(dir, 'with-data.img');
  const id = '0123456789abcdef0123456789abcdef';
  // A line the script must not take: only moat_machine_id is imported.
  makeDisk(withData, `moat_machine_id=${id}\nmoat_console=init=/bin/sh\n`);
  const { slot, console } = await boot(withData);
  assert.equal(slot, 'A');
  assert.match(
    console,
    new RegExp(
      `moat-boot: kernel command line: console=serial0,115200 console=tty1 .* systemd\\.machine_id=${id}\\r?\\n`,
    ),
  );
  assert.doesNotMatch(console, /init=\/bin\/sh/);
});

test('the backend refuses bad arguments and keeps lines it does not own', () => {
  const file = join(dir, 'unit.env');
  writeFileSync(file, 'moat_console=console=ttyAMA0\nBOOT_ORDER=A B\nBOOT_A_LEFT=1\nBOOT_B_LEFT=3\n\0');
  const env = { MOAT_BOOT_STATE: file };
  for (const args of [['set-primary', 'C'], ['set-state', 'A', 'maybe'], ['get-state'], ['frobnicate']]) {
    const result = runSync('sh', [backend, ...args], 10_000, undefined, env);
    assert.equal(result.code, 1, args.join(' '));
    assert.match(result.stderr, /rauc-boot-state: /);
  }
  assert.equal(must('sh', [backend, 'get-state', 'A'], env).trim(), 'good');
  must('sh', [backend, 'set-primary', 'B'], env);
  assert.equal(
    readFileSync(file, 'utf8'),
    'moat_console=console=ttyAMA0\nBOOT_ORDER=B A\nBOOT_A_LEFT=1\nBOOT_B_LEFT=3\n',
  );
  // No file yet (a card from before updates): the same start as boot.cmd's.
  const fresh = { MOAT_BOOT_STATE: join(dir, 'none.env') };
  assert.equal(must('sh', [backend, 'get-primary'], fresh).trim(), 'A');
  assert.equal(must('sh', [backend, 'get-state', 'B'], fresh).trim(), 'good');
});
