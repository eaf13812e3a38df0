// Child process for the crash-safety test: saves configurations in a loop until killed.
import { parseConfig } from '../../src/config/schema.js';
import { statePaths } from '../../src/config/state-dir.js';
import { saveConfig } from '../../src/config/store.js';

const paths = statePaths(process.argv[2]);
for (let i = 0; ; i++) {
  // Varying size too, so a torn write would show up as truncated JSON.
  const config = parseConfig({
    hostname: `save-${i}`,
    lan: { addresses: Array.from({ length: i % 16 }, (_, k) => `198.51.100.${k + 1}`) },
  });
  saveConfig(paths, config);
  process.stdout.write(`${i}\n`);
}
