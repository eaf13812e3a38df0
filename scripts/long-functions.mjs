// Lists every function in src/ longer than the limit (80 lines), using the TypeScript compiler's own parser.
// Usage: node scripts/long-functions.mjs [--json]   (exit code 1 when any function is too long)
//
// Counted: every function-like node (declarations, methods, accessors, constructors, arrows, function
// expressions), from its first token to its closing line. Not counted: the browser UI's render functions
// (functions in src/web/ui/ that build elements with `h(`), whose length is the page they draw.

import { fileURLToPath } from 'node:url';
import { isFunctionLikeDeclaration } from 'typescript/unstable/ast';
import { API } from 'typescript/unstable/sync';

export const maxFunctionLines = 80;
const root = fileURLToPath(new URL('..', import.meta.url));
const projects = ['tsconfig.json', 'src/web/ui/tsconfig.json'];

function isUiRenderFunction(file, text) {
  return file.startsWith('src/web/ui/') && /(^|[^\w.])h\(/.test(text);
}

/** @returns {{ file: string, line: number, lines: number, name: string }[]} */
export function longFunctions(limit = maxFunctionLines) {
  const api = new API({ cwd: root });
  try {
    const snapshot = api.updateSnapshot({ openProjects: projects.map((p) => `${root}${p}`) });
    const found = new Map();
    for (const project of snapshot.getProjects()) {
      for (const fileName of project.program.getSourceFileNames()) {
        const file = fileName.startsWith(root) ? fileName.slice(root.length) : fileName;
        if (!file.startsWith('src/') || file.endsWith('.d.ts')) continue;
        const source = project.program.getSourceFile(fileName);
        const visit = (node) => {
          if (isFunctionLikeDeclaration(node)) {
            const start = node.getStart(source);
            const first = source.getLineAndCharacterOfPosition(start).line;
            const lines = source.getLineAndCharacterOfPosition(node.end).line - first + 1;
            const text = source.text.slice(start, node.end);
            if (lines > limit && !isUiRenderFunction(file, text)) {
              const name = node.name?.text ?? '(anonymous)';
              found.set(`${file}:${first + 1}`, { file, line: first + 1, lines, name });
            }
          }
          node.forEachChild(visit);
        };
        source.forEachChild(visit);
      }
    }
    return [...found.values()].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  } finally {
    api.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const found = longFunctions();
  if (process.argv.includes('--json')) console.log(JSON.stringify(found));
  else for (const f of found) console.log(`${f.file}:${f.line} ${f.name}: ${f.lines} lines`);
  process.exitCode = found.length > 0 ? 1 : 0;
}
