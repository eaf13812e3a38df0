import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../../src/paths.js';

const hasShellcheck = spawnSync('shellcheck', ['--version']).status === 0;

function scripts(dir: string): string[] {
  const full = join(packageRoot, dir);
  if (!existsSync(full)) return [];
  // Top level only: os-image/work holds a whole root filesystem that is not ours to lint.
  return readdirSync(full)
    .filter((name) => name.endsWith('.sh'))
    .map((name) => join(full, name));
}

test('shellcheck passes on every script in appliance/, os-image/ and scripts/', {
  skip: hasShellcheck ? false : 'shellcheck is not installed (apt-get install shellcheck)',
}, () => {
  const files = [...scripts('appliance'), ...scripts('os-image'), ...scripts('scripts')];
  assert.ok(
    files.some((f) => f.endsWith('os-image/build.sh')),
    'the image build script is among the files checked',
  );
  const result = spawnSync('shellcheck', ['--external-sources', '--severity=style', ...files], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stdout + result.stderr);
});
