import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/** Issue 15: no function in src/ longer than 80 lines, the browser UI's render functions excepted. */

const root = fileURLToPath(new URL('../../../', import.meta.url));
const script = fileURLToPath(new URL('../../../scripts/long-functions.mjs', import.meta.url));

interface LongFunction {
  file: string;
  line: number;
  lines: number;
  name: string;
}

function longFunctions(): LongFunction[] {
  try {
    return JSON.parse(execFileSync(process.execPath, [script, '--json'], { cwd: root, encoding: 'utf8' }));
  } catch (error) {
    // Exit code 1 means "found some"; the list is still on stdout.
    const stdout = (error as { stdout?: string }).stdout;
    if (!stdout) throw error;
    return JSON.parse(stdout);
  }
}

test('no function in src/ is longer than 80 lines', () => {
  const found = longFunctions();
  const tooLong = found;
  assert.deepEqual(
    tooLong.map((f) => `${f.file}:${f.line} ${f.name} (${f.lines} lines)`),
    [],
    'split these functions',
  );
});

test('the scan sees the functions it is meant to judge', () => {
  // A check that cannot fail is no check: a limit of 1 line must find functions everywhere in src/.
  const everyFunction = JSON.parse(
    execFileSync(
      process.execPath,
      ['--input-type=module', '-e', `import('${script}').then((m) => console.log(JSON.stringify(m.longFunctions(1))))`],
      { cwd: root, encoding: 'utf8' },
    ),
  ) as LongFunction[];
  const files = new Set(everyFunction.map((f) => f.file));
  for (const file of ['src/web/server.ts', 'src/ftp/bridge.ts', 'src/web/ui/api.ts'])
    assert.ok(files.has(file), `${file} was not scanned`);
  // The browser's render functions are the one exception, and only they are.
  const names = new Set(everyFunction.map((f) => `${f.file} ${f.name}`));
  assert.ok(names.has('src/web/ui/api.ts api'));
  assert.ok(!names.has('src/web/ui/dashboard.ts showDashboard'));
});
