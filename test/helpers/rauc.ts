import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { runSync } from './process.js';

/** Real RAUC bundles for tests: a tiny ext4 "root filesystem", keys, and the appliance's system.conf. */

export const raucMissing =
  spawnSync('rauc', ['--version']).status === 0 && spawnSync('mksquashfs', ['-version']).status === 0
    ? false
    : 'the rauc host tool is not installed (apt-get install rauc squashfs-tools)';

export const bundleScript = join(packageRoot, 'os-image', 'bundle.sh');

function must(command: string, args: string[]): string {
  const result = runSync(command, args);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** An ext4 image with a marker file and some incompressible bytes (RAUC refuses a payload of one block). */
export function fakeRootfs(dir: string, marker: string): string {
  const tree = join(dir, `tree-${marker}`);
  mkdirSync(join(tree, 'etc'), { recursive: true });
  writeFileSync(join(tree, 'etc', 'moat-release'), `${marker}\n`);
  writeFileSync(join(tree, 'etc', 'noise'), must('openssl', ['rand', '-base64', '49152']));
  const image = join(dir, `rootfs-${marker}.ext4`);
  must('mkfs.ext4', ['-q', '-F', '-d', tree, image, '4M']);
  return image;
}

/** A self-signed signing key, as bundle.sh makes: DIR/key.pem and DIR/keyring.pem. */
export function signingKey(dir: string): { key: string; cert: string } {
  mkdirSync(dir, { recursive: true });
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'keyring.pem');
  must('openssl', [
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2'],
    ...['-subj', '/CN=Someone else', '-keyout', key, '-out', cert],
  ]);
  return { key, cert };
}

/** The appliance's system.conf with its keyring and RAUC's data directory moved under `dir`. */
export function testSystemConf(dir: string, keyring: string): string {
  const conf = readFileSync(join(packageRoot, 'appliance', 'rauc', 'system.conf'), 'utf8')
    .replace(/^path=.*$/m, `path=${keyring}`)
    .replace(/^data-directory=.*$/m, `data-directory=${join(dir, 'rauc-data')}`);
  const file = join(dir, 'system.conf');
  writeFileSync(file, conf);
  return file;
}

/** A bundle made with rauc directly, as a third party would: any compatible, any key. */
export function handMadeBundle(
  dir: string,
  rootfs: string,
  opts: { compatible: string; version: string; key: string; cert: string; format?: string; slotClass?: string },
): string {
  const content = join(
    dir,
    `content-${opts.compatible}-${opts.version}-${opts.format ?? 'verity'}-${opts.slotClass ?? 'rootfs'}`,
  );
  mkdirSync(content, { recursive: true });
  writeFileSync(join(content, 'rootfs.ext4'), readFileSync(rootfs));
  writeFileSync(
    join(content, 'manifest.raucm'),
    `[update]\ncompatible=${opts.compatible}\nversion=${opts.version}\n\n[bundle]\nformat=${opts.format ?? 'verity'}\n\n[image.${opts.slotClass ?? 'rootfs'}]\nfilename=rootfs.ext4\n`,
  );
  const bundle = join(dir, `${basename(content)}.raucb`);
  must('rauc', ['bundle', `--cert=${opts.cert}`, `--key=${opts.key}`, content, bundle]);
  return bundle;
}

/** Runs os-image/bundle.sh with its keys in `keysDir`; returns the bundle's path. */
export function buildBundle(rootfs: string, version: string, out: string, keysDir: string) {
  return runSync('bash', [bundleScript, rootfs, version, out], 60_000, undefined, { MOAT_KEYS_DIR: keysDir });
}

/**
 * A stand-in `rauc` in `bin` for what needs a real system slot: `status` answers two slots (A running, B
 * holding 0.0.9), `install` reports progress, then waits until the file `fake/go` exists and copies the bundle
 * to `fake/installed.raucb` (or, when `fake/fail` exists, fails as RAUC does). `info` is the real rauc, so bundle checks stay real.
 */
export function fakeRauc(fake: string, bin: string): void {
  mkdirSync(fake, { recursive: true });
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(fake, 'status.json'),
    JSON.stringify({
      compatible: 'moat-rpi-arm64',
      booted: 'A',
      boot_primary: 'rootfs.0',
      slots: [
        { 'rootfs.0': { class: 'rootfs', bootname: 'A', state: 'booted', boot_status: 'good' } },
        {
          'rootfs.1': {
            class: 'rootfs',
            bootname: 'B',
            state: 'inactive',
            boot_status: 'good',
            slot_status: { bundle: { version: '0.0.9' } },
          },
        },
      ],
    }),
  );
  writeFileSync(
    join(bin, 'rauc'),
    [
      '#!/bin/sh',
      `d='${fake}'`,
      'case "$1" in',
      '  info) exec /usr/bin/rauc "$@" ;;',
      '  status) cat "$d/status.json" ;;',
      '  install)',
      '    echo "  0% Installing"',
      '    echo " 40% Copying image to rootfs.1"',
      '    while [ ! -e "$d/go" ]; do sleep 0.05; done',
      '    if [ -e "$d/fail" ]; then echo "100% Installing failed."; echo "LastError: Failed writing slot rootfs.1: No space left on device"; echo "Installing \\`$2\\` failed" >&2; exit 1; fi',
      '    cp "$2" "$d/installed.raucb"',
      '    echo "100% Installing done."',
      '    echo "Installing `$2` succeeded"',
      '    ;;',
      '  *) echo "fake rauc: $*" >&2; exit 2 ;;',
      'esac',
      '',
    ].join('\n'),
  );
  chmodSync(join(bin, 'rauc'), 0o755);
}

export interface UpdateFixture {
  /** The stand-in rauc's directory (`go`, `fail`, `installed.raucb`) and the bin directory to put on PATH. */
  fake: string;
  bin: string;
  /** A bundle from bundle.sh, signed with the development key `system.conf`'s keyring trusts. */
  good: string;
  /** The same root filesystem signed by someone else's key. */
  foreign: string;
  keys: string;
  rootfs: string;
  systemConf: string;
}

/** What the CLI and API tests share: the stand-in rauc, a good and a foreign bundle, the system.conf. */
export function updateFixture(dir: string, version: string): UpdateFixture {
  const fake = join(dir, 'fake');
  const bin = join(dir, 'bin');
  fakeRauc(fake, bin);
  const keys = join(dir, 'keys');
  const rootfs = fakeRootfs(dir, version);
  const built = buildBundle(rootfs, version, join(dir, 'out'), keys);
  if (built.code !== 0) throw new Error(`bundle.sh failed: ${built.stderr}`);
  return {
    fake,
    bin,
    good: join(dir, 'out', `moat-${version}-arm64.raucb`),
    foreign: handMadeBundle(dir, rootfs, {
      compatible: 'moat-rpi-arm64',
      version: '6.6.6',
      ...signingKey(join(dir, 'f')),
    }),
    keys,
    rootfs,
    systemConf: testSystemConf(dir, join(keys, 'keyring.pem')),
  };
}
