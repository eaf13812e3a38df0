import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest ancestor holding package.json: works from src/ (sources) and dist/src/ (compiled) alike. */
function findPackageRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

export const packageRoot = findPackageRoot(dirname(fileURLToPath(import.meta.url)));
export const fixturesDir = join(packageRoot, 'fixtures');
export const bambuReportsDir = join(fixturesDir, 'bambu-reports');
export const bblCaBundlePath = join(fixturesDir, 'bbl-ca-bundle.pem');

/** Moat's own version, from its package.json. */
export function moatVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
}
