/**
 * bench/import-cost: what each module costs Moat's process to load. Imports the given modules one after
 * another in a fresh Node (with the appliance's flags and --expose-gc), and after each one runs a full
 * collection and prints the growth of the resident set, the live heap and external memory. Modules that an
 * earlier one already loaded cost nothing the second time, so the order matters: the default order is
 * roughly the order `moat serve` loads them in, which says what each step adds on top of the ones before.
 *
 * Usage: npm run build && node dist/bench/import-cost.js [module-or-dist-path ...] [--node-flags '...']
 *   A path relative to dist/ (e.g. src/mqtt/bridge.js) names one of Moat's own modules.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { moatNodeFlags } from './helpers.js';

const defaultOrder = [
  'pino',
  'express',
  'helmet',
  'aedes',
  'mqtt-packet',
  'mqtt',
  'basic-ftp',
  'ftp-srv',
  'prom-client',
  'src/service.js',
  'src/cli/serve.js',
];

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'node-flags': { type: 'string', default: '' }, child: { type: 'boolean', default: false } },
});
const dist = resolve(fileURLToPath(new URL('..', import.meta.url)));

const mb = (bytes: number) => (bytes / 1048576).toFixed(1);

if (values.child) {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  const measure = () => {
    gc();
    const usage = process.memoryUsage();
    return { rss: usage.rss, heap: usage.heapUsed, external: usage.external };
  };
  let before = measure();
  console.log(`${'node itself'.padEnd(22)} RSS ${mb(before.rss).padStart(6)}  heap ${mb(before.heap).padStart(5)}`);
  for (const specifier of positionals) {
    const target = specifier.startsWith('src/') ? pathToFileURL(join(dist, specifier)).href : specifier;
    await import(target);
    const after = measure();
    console.log(
      `${specifier.padEnd(22)} RSS ${mb(after.rss).padStart(6)} (+${mb(after.rss - before.rss)})` +
        `  heap ${mb(after.heap).padStart(5)} (+${mb(after.heap - before.heap)})` +
        `  external +${mb(after.external - before.external)}`,
    );
    before = after;
  }
} else {
  const flags = moatNodeFlags(values['node-flags']);
  const modules = positionals.length > 0 ? positionals : defaultOrder;
  console.log(`Node ${process.version}, flags: ${flags.join(' ')} --expose-gc (figures after a full collection)`);
  const child = spawnSync(
    process.execPath,
    [...flags, '--expose-gc', fileURLToPath(import.meta.url), '--child', ...modules],
    { stdio: 'inherit' },
  );
  process.exitCode = child.status ?? 1;
}
