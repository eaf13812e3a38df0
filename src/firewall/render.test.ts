import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type MoatConfig, parseConfig } from '../config/schema.js';
import { packageRoot } from '../paths.js';
import { compareRuleset } from './manager.js';
import { checkRulesetText, nftUsable } from './nft.js';
import { buildRuleset, type FirewallRuleset, renderFirewall } from './render.js';

/**
 * Golden texts of the rendered ruleset. A change to the renderer shows up as a diff against the files in
 * src/firewall/golden/; regenerate them on purpose with MOAT_UPDATE_GOLDEN=1 and review the diff. A missing
 * golden file is a failure, not a file to write: otherwise the test would compare the renderer with itself.
 */
const goldenDir = join(packageRoot, 'src', 'firewall', 'golden');
const facts = { lanSubnets: ['198.51.100.0/24'] };

function printer(overrides: Record<string, unknown> = {}) {
  return {
    serial: '01S00C000000001',
    model: 'P1S',
    address: '192.0.2.10',
    mqtt: {},
    ftp: {},
    certificate: {},
    ...overrides,
  };
}

/** `count` printers of mixed models, printer i on its own LAN address 198.51.100.(20+i). */
function printersOnOwnAddresses(count: number) {
  const models = ['P1S', 'X1C', 'A1', 'P2S', 'H2D', 'P1P', 'A1M'];
  return Array.from({ length: count }, (_, i) =>
    printer({
      serial: `01S00C0000000${String(i + 1).padStart(2, '0')}`,
      model: models[i % models.length],
      address: `192.0.2.${10 + i}`,
      lanAddress: `198.51.100.${21 + i}`,
    }),
  );
}

const configurations: Record<string, MoatConfig> = {
  'one-printer': parseConfig({ printers: [printer()] }),
  'cloud-strict': parseConfig({
    printers: [printer({ model: 'X1C' })],
    firewall: { cloudAccess: 'strict', upstreamInterface: 'eth1' },
  }),
  'cloud-unrestricted': parseConfig({
    printers: [printer({ model: 'X1C' })],
    firewall: { cloudAccess: 'unrestricted', upstreamInterface: 'eth1' },
  }),
  passthrough: parseConfig({ printers: [printer({ passthrough: true })] }),
  'printers-1': parseConfig({ lan: { addresses: ['198.51.100.2'] }, printers: printersOnOwnAddresses(1) }),
  'printers-3': parseConfig({ lan: { addresses: ['198.51.100.2'] }, printers: printersOnOwnAddresses(3) }),
  'printers-8': parseConfig({ lan: { addresses: ['198.51.100.2'] }, printers: printersOnOwnAddresses(8) }),
  'relays-off': parseConfig({
    printers: [printer({ relays: { camera: false, fileTunnel: false, bind: false } })],
  }),
};

for (const [name, config] of Object.entries(configurations)) {
  test(`firewall golden text: ${name}`, async (t) => {
    const text = renderFirewall(config, facts);
    const file = join(goldenDir, `${name}.nft`);
    if (process.env.MOAT_UPDATE_GOLDEN === '1') {
      mkdirSync(goldenDir, { recursive: true });
      writeFileSync(file, text);
    }
    // A missing golden file is a failure, not a new baseline: written here, it would pass whatever was rendered.
    assert.ok(existsSync(file), `${file} is missing: write it with MOAT_UPDATE_GOLDEN=1 and review it`);
    assert.equal(text, readFileSync(file, 'utf8'));
    if (!(await nftUsable())) {
      t.skip('nft cannot run here (not installed or not root): `nft -c -f` part skipped');
      return;
    }
    await checkRulesetText(text);
  });
}

test('the rendered table opens exactly what the configuration enables', () => {
  const rules = (config: MoatConfig) =>
    buildRuleset(config, facts)
      .chains.flatMap((c) => c.rules)
      .map((r) => `${r.comment}: ${r.text}`)
      .join('\n');
  const one = rules(configurations['one-printer'] as MoatConfig);
  assert.match(one, /lan setup page: tcp dport \{ 80, 443 \} accept/);
  assert.match(one, /lan printer relays: tcp dport \{ 3000, 3002, 6000 \} accept/, 'P1S: jpeg camera on 6000, bind');
  assert.doesNotMatch(one, /\b1883\b|dport 21\b/, 'never the plaintext ports');
  assert.doesNotMatch(one, /masquerade|cloud/, 'no forwarding without cloud access');
  assert.match(
    one,
    /segment not to moat segment address: fib daddr \. iif type != \{ local, broadcast, multicast \} counter drop\nsegment dhcp/,
    "the printer reaches only Moat's segment address, before anything is accepted from it",
  );
  const cloud = rules(configurations['cloud-unrestricted'] as MoatConfig);
  assert.match(cloud, /cloud never to lan: iifname "wlan0" ip daddr \{ 198\.51\.100\.0\/24, 10\.0\.0\.0\/8/);
  assert.match(cloud, /cloud printer to internet: iifname "wlan0" oifname "eth1" ip saddr 192\.0\.2\.0\/24 accept/);
  assert.match(cloud, /322/, 'X1C: RTSPS camera relay');
  const strict = rules(configurations['cloud-strict'] as MoatConfig);
  assert.doesNotMatch(strict, /cloud printer to internet/, 'strict: no rule lets every port out');
  assert.match(strict, /cloud printer tls: .* tcp dport \{ 443, 8883 \} accept/);
  assert.match(strict, /cloud printer ntp: .* udp dport 123 accept/);
  assert.match(
    strict,
    /cloud strict drop by port: .* add @cloud_dropped_ports \{ meta l4proto \. th dport \} counter drop/,
  );
  assert.doesNotMatch(strict, /^cloud.*\b53\b.*accept$/m, "DNS is never forwarded: only Moat's resolver answers");
  assert.deepEqual(
    buildRuleset(configurations['cloud-strict'] as MoatConfig, facts).sets.map((s) => s.name),
    ['cloud_dropped_ports'],
  );
  assert.deepEqual(buildRuleset(configurations['cloud-unrestricted'] as MoatConfig, facts).sets, []);
  assert.doesNotMatch(rules(configurations['relays-off'] as MoatConfig), /relays/);
});

/** A live table holding exactly the rendered chains and rules, without any set. */
function liveChainsOf(ruleset: FirewallRuleset) {
  return {
    sets: [],
    chains: ruleset.chains.map((c) => ({ name: c.name, policy: /policy (\w+)/.exec(c.base ?? '')?.[1] ?? 'accept' })),
    rules: ruleset.chains.flatMap((c) => c.rules.map((r) => ({ chain: c.name, comment: r.comment }))),
  };
}

test('compareRuleset names missing, unexpected and reordered rules, and missing sets', () => {
  const expected = buildRuleset(configurations['one-printer'] as MoatConfig, facts);
  const live = liveChainsOf(expected);
  assert.deepEqual(compareRuleset(expected, live), []);
  assert.deepEqual(compareRuleset(expected, undefined), ['table inet moat is not loaded']);
  const withoutDrop = { ...live, rules: live.rules.filter((r) => r.comment !== 'lan drop') };
  assert.deepEqual(compareRuleset(expected, withoutDrop), ['rule "lan drop" is missing from chain lan_in']);
  const extra = { ...live, rules: [...live.rules, { chain: 'lan_in', comment: 'sneaky' }] };
  assert.deepEqual(compareRuleset(expected, extra), ['unexpected rule "sneaky" in chain lan_in']);
  const policy = { ...live, chains: live.chains.map((c) => (c.name === 'forward' ? { ...c, policy: 'accept' } : c)) };
  assert.deepEqual(compareRuleset(expected, policy), ['chain forward has policy accept, expected drop']);
  const strict = buildRuleset(configurations['cloud-strict'] as MoatConfig, facts);
  assert.deepEqual(compareRuleset(strict, liveChainsOf(strict)), ['set cloud_dropped_ports is missing']);
});
