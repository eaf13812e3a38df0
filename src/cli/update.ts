import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { moatVersion } from '../paths.js';
import { checkBundle, installBundle, raucOptionsFromEnv, systemState } from '../update/rauc.js';
import { downgradeRefusal } from '../update/versions.js';
import { parseCommandArgs } from './common.js';
import { CliError } from './errors.js';

const installUsage = 'usage: moat update install FILE|URL [--download-dir DIR] [--allow-downgrade]';
const statusUsage = 'usage: moat update status [--json]';
/** A download larger than this is not a Moat bundle (they are a few hundred MiB). */
const maxDownloadBytes = 2 * 1024 ** 3;

/** Fetches an http(s) URL into `dir`, refusing anything past the size cap. */
async function download(url: URL, dir: string): Promise<string> {
  const response = await fetch(url).catch((error: Error) => {
    throw new CliError(`cannot fetch ${url.href}: ${(error.cause as Error | undefined)?.message ?? error.message}`);
  });
  if (!response.ok || !response.body) throw new CliError(`cannot fetch ${url.href}: HTTP ${response.status}`);
  const file = join(dir, 'bundle.raucb');
  let received = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      done(
        received > maxDownloadBytes ? new CliError(`${url.href} is larger than 2 GiB: not a Moat bundle`) : null,
        chunk,
      );
    },
  });
  await pipeline(
    Readable.fromWeb(response.body as import('node:stream/web').ReadableStream),
    cap,
    createWriteStream(file),
  );
  return file;
}

/** `moat update install FILE|URL`: RAUC checks the bundle (signature, compatible), then writes the other slot. */
export async function runInstall(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    { 'download-dir': { type: 'string' }, 'allow-downgrade': { type: 'boolean' } },
    installUsage,
  );
  const source = positionals[0];
  if (!source || positionals.length > 1) throw new CliError(installUsage);
  const rauc = raucOptionsFromEnv();
  let scratch: string | undefined;
  try {
    let file = source;
    if (/^https?:\/\//i.test(source)) {
      scratch = mkdtempSync(join(values['download-dir'] ?? tmpdir(), 'moat-update-'));
      console.log(`Downloading ${source}`);
      file = await download(new URL(source), scratch);
    } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
      throw new CliError(`only http:// and https:// URLs or a file can be installed, not ${source}`);
    }
    const bundle = await checkBundle(rauc, file).catch((error: Error) => {
      throw new CliError(error.message);
    });
    console.log(
      `Bundle: version ${bundle.version} for ${bundle.compatible}, signed by ${bundle.signer || 'the update key'}`,
    );
    const older = values['allow-downgrade'] ? undefined : downgradeRefusal(bundle.version, moatVersion());
    if (older) throw new CliError(`${older} Nothing was installed; add --allow-downgrade to install it anyway.`);
    let last = -1;
    await installBundle(rauc, file, ({ percent, message }) => {
      if (percent === last) return;
      last = percent;
      console.log(`${String(percent).padStart(3)}% ${message}`);
    }).catch((error: Error) => {
      throw new CliError(`install failed: ${error.message}`);
    });
    console.log(`Version ${bundle.version} is installed in the other slot; restart (systemctl reboot) to start it.`);
    return 0;
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

/** `moat update status`: which slot runs, which boots next, and what each holds. */
export async function runStatus(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean' } }, statusUsage);
  if (positionals.length > 0) throw new CliError(statusUsage);
  const state = await systemState(raucOptionsFromEnv()).catch((error: Error) => {
    throw new CliError(error.message);
  });
  if (values.json) {
    console.log(JSON.stringify(state, null, 2));
    return 0;
  }
  console.log(`Compatible: ${state.compatible}`);
  for (const slot of state.slots) {
    const marks = [slot.booted && 'running', slot.primary && 'boots next'].filter(Boolean).join(', ');
    console.log(
      `Slot ${slot.bootname}: ${slot.version ? `version ${slot.version}` : 'version from the image'}, ${slot.bootStatus}${marks ? ` (${marks})` : ''}`,
    );
  }
  return 0;
}
