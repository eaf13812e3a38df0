// Copies non-TypeScript assets that the compiled service needs next to it in dist/.
import { cpSync, existsSync } from 'node:fs';

for (const [from, to] of [['src/web/public', 'dist/src/web/public']]) {
  if (existsSync(from)) cpSync(from, to, { recursive: true });
}
