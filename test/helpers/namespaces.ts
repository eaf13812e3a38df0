import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';

/**
 * Why a test that builds network namespaces cannot run here (a reason to skip with), or false when it can:
 * root, the tools it names, and a namespace that can really be created (a container may refuse it).
 */
export function namespacesUnavailable(tools: string[]): string | false {
  if (process.getuid?.() !== 0) return 'needs root for network namespaces (CI runs as root)';
  for (const tool of ['ip', ...tools]) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed`;
  }
  const probe = `moat-probe-${process.pid}`;
  const added = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (added.status !== 0) return `network namespaces unavailable: ${added.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return false;
}

/**
 * A network namespace of the test's own, deleted after it; or undefined, with the test skipped and the
 * reason given, when namespaces (or one of `tools`) are not available here.
 */
export function ownNamespace(t: TestContext, prefix: string, tools: string[]): string | undefined {
  const skip = namespacesUnavailable(tools);
  if (skip) {
    t.skip(skip);
    return undefined;
  }
  const ns = `${prefix}-${process.pid}`;
  const added = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' });
  if (added.status !== 0) throw new Error(`namespace ${ns} not created: ${added.stderr.trim()}`);
  t.after(() => spawnSync('ip', ['netns', 'del', ns]));
  return ns;
}
