import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { useNmcliStandin } from '../../test/helpers/nmcli-standin.js';
import { WifiControl, WifiError } from './wifi.js';

const dir = mkdtempSync(join(tmpdir(), 'moat-wifi-'));
const log = join(dir, 'nmcli.log');
const passphrase = 'correct horse battery 42';
let restoreEnvironment = () => {};

before(() => {
  restoreEnvironment = useNmcliStandin(log, passphrase);
});
after(() => {
  restoreEnvironment();
  rmSync(dir, { recursive: true, force: true });
});

/** Each nmcli invocation's argument list, as the stand-in recorded it. */
function invocations(): string[][] {
  const calls: string[][] = [];
  let current: string[] = [];
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (line.startsWith('ARG ')) current.push(line.slice(4));
    else if (line === '--') {
      calls.push(current);
      current = [];
    }
  }
  return calls;
}

test('scan lists each network once, strongest first, hidden ones left out, escaped colons kept', async () => {
  const networks = await new WifiControl().scan();
  assert.deepEqual(
    networks.map((n) => n.ssid),
    ['Moat Upstream', 'Cafe: guest', 'Neighbour 5G'],
  );
  assert.deepEqual(networks[0], { ssid: 'Moat Upstream', signal: 74, channel: 36, security: 'WPA2' });
  assert.equal(networks[1]?.security, 'none');
});

test('status reports the connected network of the interface', async () => {
  const status = await new WifiControl({ iface: 'wlan1' }).status();
  assert.equal(status.available, true);
  assert.equal(status.connected?.ssid, 'Moat Upstream');
  assert.equal(status.connected?.signal, 74);
  assert.ok(invocations().some((args) => args.includes('ifname') && args.includes('wlan1')));
});

test('connect hands the passphrase over stdin only: in no spawned process arguments', async () => {
  writeFileSync(log, '');
  await new WifiControl({ iface: 'wlan1' }).connect('Moat Upstream', passphrase);
  const text = readFileSync(log, 'utf8');
  // The stand-in did receive it (on stdin), so the connect really happened with it…
  assert.match(text, new RegExp(`STDIN-LENGTH ${passphrase.length}\\n`));
  const calls = invocations();
  assert.ok(calls.some((args) => args.includes('connect') && args.includes('--ask')));
  // …yet it is in no recorded argument list, nor in any process command line seen during the connect.
  for (const args of calls) for (const arg of args) assert.ok(!arg.includes(passphrase), `found in ${arg}`);
  const table = text.slice(text.indexOf('PS-BEGIN'), text.indexOf('PS-END'));
  assert.ok(table.includes('nmcli'), 'the process table was taken while nmcli ran');
  assert.ok(!table.includes(passphrase));
  assert.ok(!table.includes('correct horse'));
});

test('connect failures are explained in the owner’s words', async () => {
  const wifi = new WifiControl();
  await assert.rejects(wifi.connect('Moat Upstream', 'wrong passphrase'), /passphrase .* was not accepted/);
  await assert.rejects(wifi.connect('Nowhere', passphrase), /No Wi-Fi network named "Nowhere"/);
  await assert.rejects(wifi.connect('Moat Upstream', 'short'), /8 to 63 characters/);
  await assert.rejects(wifi.connect('', passphrase), WifiError);
  await assert.rejects(wifi.connect('x'.repeat(33), passphrase), /at most 32 bytes/);
});

test('without NetworkManager the module says so instead of failing obscurely', async () => {
  const path = process.env.PATH;
  process.env.PATH = dir; // no nmcli here
  try {
    const status = await new WifiControl().status();
    assert.equal(status.available, false);
    assert.match(status.problem ?? '', /NetworkManager \(nmcli\) is not installed/);
    await assert.rejects(new WifiControl().scan(), /not installed/);
    await assert.rejects(new WifiControl().connect('Moat Upstream', passphrase), /not installed/);
  } finally {
    process.env.PATH = path;
  }
});
