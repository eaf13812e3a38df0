import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { statePaths } from '../../src/config/state-dir.js';
import { loadConfig } from '../../src/config/store.js';

const saver = fileURLToPath(new URL('./save-forever.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'moat-crash-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Resolves after the child reports `count` completed saves (it prints one line per save). */
function afterSaves(child: ChildProcess, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString().split('\n').length - 1;
      if (seen >= count) resolve();
    });
    child.once('exit', (code) => reject(new Error(`saver exited early (${code})`)));
  });
}

test('SIGKILL at random moments during 200 saves never leaves a broken configuration', async () => {
  const paths = statePaths(join(dir, 'state'));
  const kills = 200;
  const hostnames = new Set<string>();
  for (let i = 0; i < kills; i++) {
    const child = spawn(process.execPath, [saver, paths.root], { stdio: ['ignore', 'pipe', 'inherit'] });
    // At least one save done, so there is a file to check; then kill at a random point of a later save: after a
    // random number of saves and a random 0-3 ms more (a save takes about a millisecond), so the kill lands
    // anywhere in the write, fsync and rename of one.
    await afterSaves(child, 1 + randomInt(5));
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const config = loadConfig(paths);
    assert.match(config.hostname, /^save-\d+$/);
    hostnames.add(config.hostname);
  }
  // The kills really landed at different points of the save sequence.
  assert.ok(hostnames.size > 1, `kills landed at ${hostnames.size} distinct points`);
  // Temp files from interrupted saves may remain; they are never the config itself.
  for (const name of readdirSync(paths.root))
    assert.ok(name === 'config.json' || name.startsWith('.') || ['secrets', 'tls'].includes(name));
});
