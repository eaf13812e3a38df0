import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/schema.js';
import { statePaths } from '../../src/config/state-dir.js';
import { ensureStateDir, saveConfig } from '../../src/config/store.js';
import { firewall } from '../../src/firewall/service.js';
import { packageRoot } from '../../src/paths.js';
import type { FirewallStatus } from '../../src/status.js';
import { ownNamespace } from '../helpers/namespaces.js';
import { firewallContext } from './firewall-context.js';

function stateWithFirewall() {
  const dir = mkdtempSync(join(tmpdir(), 'moat-fw-'));
  const paths = statePaths(join(dir, 'state'));
  ensureStateDir(paths);
  saveConfig(
    paths,
    parseConfig({
      lan: { interface: 'lan0', addresses: ['198.51.100.1'], subnets: ['198.51.100.0/24'] },
      segment: { interface: 'seg0' },
      firewall: { enabled: true, upstreamInterface: 'wan0' },
      printers: [
        { serial: '01S00C000000001', model: 'P1S', address: '192.0.2.10', mqtt: {}, ftp: {}, certificate: {} },
      ],
    }),
  );
  return { dir, paths };
}

test('the firewall fails closed when it cannot be applied, except in development mode', async (t) => {
  const { dir, paths } = stateWithFirewall();
  const path = process.env.PATH;
  // No nft on PATH: applying fails exactly as on a machine without nftables.
  const empty = join(dir, 'empty-bin');
  mkdirSync(empty);
  process.env.PATH = empty;
  t.after(() => {
    process.env.PATH = path;
    rmSync(dir, { recursive: true, force: true });
  });
  await assert.rejects(
    firewall.start(firewallContext(paths, false)),
    /firewall could not be applied, refusing to start/,
  );
  const development = await firewall.start(firewallContext(paths, true));
  const status = await development.status();
  assert.equal(status.applied, false);
  assert.ok(status.problems.length > 0, 'the dashboard is told why');
  await development.close();
});

test('the firewall service applies at start and re-applies on a configuration change (own namespace)', (t) => {
  const ns = ownNamespace(t, 'moat-fw', ['nft']);
  if (!ns) return;
  const { dir, paths } = stateWithFirewall();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const child = join(packageRoot, 'dist', 'test', 'net', 'firewall-reapply-child.js');
  const result = spawnSync('ip', ['netns', 'exec', ns, process.execPath, child, paths.root], {
    encoding: 'utf8',
    timeout: 60000,
  });
  assert.equal(result.status, 0, result.stderr);
  const steps = result.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { step: string; status: FirewallStatus });
  const [started, cloud] = steps;
  assert.ok(started && cloud, result.stdout);
  assert.deepEqual(started.status.problems, []);
  assert.equal(started.status.applied, true);
  assert.equal(started.status.cloudAccess, 'off');
  assert.ok('lan drop' in started.status.counters, 'drop counters are reported');
  assert.ok(!('cloud never to lan' in started.status.counters));
  assert.deepEqual(cloud.status.problems, [], 'after the change the live table matches the new configuration');
  assert.equal(cloud.status.applied, true);
  assert.equal(cloud.status.cloudAccess, 'strict');
  assert.ok('cloud never to lan' in cloud.status.counters, 'the cloud rules were applied');
  assert.ok('cloud strict drop by port' in cloud.status.counters, 'strict by default when cloud access is on');
  assert.deepEqual(cloud.status.droppedPorts, [], 'nothing dropped yet: the set is read back empty');

  // The CLI agrees, and `remove` takes the table away (and check says so).
  const cli = (...args: string[]) =>
    spawnSync('ip', ['netns', 'exec', ns, process.execPath, join(packageRoot, 'dist', 'src', 'cli.js'), ...args], {
      encoding: 'utf8',
      timeout: 30000,
    });
  const check = cli('firewall', 'check', '--state-dir', paths.root);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.equal(cli('firewall', 'remove').status, 0);
  const after = cli('firewall', 'check', '--state-dir', paths.root);
  assert.equal(after.status, 1);
  assert.match(after.stdout, /table inet moat is not loaded/);
  assert.match(cli('firewall', 'render', '--state-dir', paths.root).stdout, /^table inet moat$/m);
});
