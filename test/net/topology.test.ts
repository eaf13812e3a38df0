import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MoatConfig, Role } from '../../src/config/schema.js';
import { statePaths } from '../../src/config/state-dir.js';
import { loadConfig, updateConfig } from '../../src/config/store.js';
import { parseNotify } from '../../src/discovery/notify-message.js';
import { lanTcpPorts } from '../../src/firewall/render.js';
import { packageRoot } from '../../src/paths.js';
import { namespacesUnavailable } from '../helpers/namespaces.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The network-isolation promises, proven on a real topology of network namespaces built by
 * scripts/topology.sh: Moat with its nftables firewall between `lan`, the printer segment and `wan`.
 * Needs root, iproute2, nftables and nmap (CI has them); otherwise skips with the reason.
 */
const script = join(packageRoot, 'scripts', 'topology.sh');
const agent = join(packageRoot, 'dist', 'test', 'net', 'agent.js');
const cli = join(packageRoot, 'dist', 'src', 'cli.js');
const dir = join(tmpdir(), 'moat-topology-test');
const env = { ...process.env, MOAT_TOPOLOGY_DIR: dir };
const moatLan = '198.51.100.1';
const moatSegment = '192.0.2.1';
const printer = '192.0.2.10';

function run(command: string, args: string[], timeoutMs = 30000) {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: timeoutMs, env });
  return { status: result.status, out: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

function inNs(ns: string, command: string, args: string[], timeoutMs = 30000) {
  return run('ip', ['netns', 'exec', ns, command, ...args], timeoutMs);
}

/** A long-running process inside a namespace whose output lines the test reads. */
class NsProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: string[] = [];
  constructor(ns: string, command: string, args: string[]) {
    this.child = spawn('ip', ['netns', 'exec', ns, command, ...args], { env });
    let rest = '';
    const onData = (chunk: Buffer) => {
      rest += chunk.toString('utf8');
      const parts = rest.split('\n');
      rest = parts.pop() ?? '';
      this.lines.push(...parts);
    };
    this.child.stdout.on('data', onData);
    this.child.stderr.on('data', onData);
  }
  static async agent(ns: string, ...args: string[]): Promise<NsProcess> {
    const p = new NsProcess(ns, process.execPath, [agent, ...args]);
    await waitFor(() => p.lines.includes('ready'), { what: `agent ${args.join(' ')} in ${ns}` });
    return p;
  }
  datagrams(): { from: string; text: string }[] {
    return this.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { from: string; text: string });
  }
  stop(): void {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
  }
}

function nmapXml(ns: string, args: string[]): string {
  const result = inNs(
    ns,
    'nmap',
    ['-Pn', '-n', '--max-retries', '1', '--host-timeout', '120s', '-oX', '-', ...args],
    150000,
  );
  assert.equal(result.status, 0, result.out);
  return result.out;
}

/** Port states nmap listed one by one, and the counts of ports it summarised by state ("Ignored State"). */
function parseNmap(xml: string): { states: Map<number, string>; filtered: number } {
  const states = new Map<number, string>();
  for (const m of xml.matchAll(/<port protocol="\w+" portid="(\d+)"><state state="([\w|]+)"/g)) {
    states.set(Number(m[1]), m[2] as string);
  }
  const summarised = [...xml.matchAll(/<extraports state="filtered" count="(\d+)"/g)].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );
  const listed = [...states.values()].filter((s) => s === 'filtered').length;
  return { states, filtered: summarised + listed };
}

function curlFrom(ns: string, url: string) {
  return inNs(ns, 'curl', ['-sS', '--max-time', '2', url], 10000);
}

const skip = namespacesUnavailable(['nft', 'nmap', 'mosquitto_sub', 'curl', 'openssl']);

describe('network isolation on a real namespace topology', { skip }, () => {
  let info: {
    stateDir: string;
    moatCaFile: string;
    printerCaFile: string;
    serial: string;
    codes: Record<Role, string>;
  };
  const processes: NsProcess[] = [];
  const paths = () => statePaths(info.stateDir);
  const config = (): MoatConfig => loadConfig(paths());
  const moatCli = (...args: string[]) => inNs('moat', process.execPath, [cli, ...args, '--state-dir', info.stateDir]);

  before(async () => {
    run('bash', [script, 'down']);
    const up = run('bash', [script, 'up'], 180000);
    assert.equal(up.status, 0, `topology up failed:\n${up.out}`);
    info = JSON.parse(readFileSync(join(dir, 'topology.json'), 'utf8'));
  });

  after(() => {
    for (const p of processes) p.stop();
    const down = run('bash', [script, 'down'], 60000);
    assert.equal(down.status, 0, down.out);
    for (const ns of ['lan', 'moat', 'printer', 'wan']) {
      assert.doesNotMatch(run('ip', ['netns', 'list']).out, new RegExp(`^${ns}\\b`, 'm'), `${ns} removed`);
    }
  });

  it('from lan, mosquitto_sub and curl over TLS reach the printer through Moat', async () => {
    const sub = new NsProcess('lan', 'mosquitto_sub', [
      ...['-h', moatLan, '-p', '8883', '--cafile', info.moatCaFile, '-u', 'bblp', '-P', info.codes.viewer],
      ...['-t', `device/${info.serial}/report`, '-C', '1', '-W', '20'],
    ]);
    processes.push(sub);
    await waitFor(() => sub.lines.find((l) => l.includes('"print"')), { timeoutMs: 20000, what: 'a report via Moat' });

    const body = randomBytes(64 * 1024);
    const local = join(dir, 'upload.3mf');
    writeFileSync(local, body);
    const ftps = `ftps://${moatLan}:990`;
    const tlsArgs = ['--ssl-reqd', '--cacert', info.moatCaFile, '--max-time', '30', '-sS'];
    const upload = inNs('lan', 'curl', [
      ...tlsArgs,
      '-u',
      `bblp:${info.codes.operator}`,
      '-T',
      local,
      `${ftps}/topology.3mf`,
    ]);
    assert.equal(upload.status, 0, upload.out);
    assert.deepEqual(readFileSync(join(dir, 'printer-storage', 'topology.3mf')), body, 'the printer stored the upload');
    const list = inNs('lan', 'curl', [...tlsArgs, '-u', `bblp:${info.codes.viewer}`, `${ftps}/`]);
    assert.equal(list.status, 0, list.out);
    assert.match(list.out, /topology\.3mf/);
  });

  it("Moat's LAN address shows exactly the ports the configuration allows (nmap against the rendered list)", () => {
    const current = config();
    const allowed = new Set(lanTcpPorts(current).flatMap((e) => e.ports));
    for (let p = current.ports.passiveMin; p <= current.ports.passiveMax; p++) allowed.add(p);
    const all = parseNmap(nmapXml('lan', ['-sS', '-p-', '--min-rate', '20000', moatLan]));
    const reachable = [...all.states].filter(([, s]) => s === 'open' || s === 'closed').map(([p]) => p);
    for (const port of reachable)
      assert.ok(allowed.has(port), `port ${port} answers but the configuration does not allow it`);
    assert.equal(all.filtered, 65535 - allowed.size, 'every port the configuration does not allow is filtered');
    for (const port of [8883, 990, 6000, 3000, 3002]) assert.equal(all.states.get(port), 'open', `${port} open`);

    // And every allowed port passes the firewall (open, or closed when nothing listens), while 21 and 1883 do not.
    const targeted = parseNmap(nmapXml('lan', ['-sS', '-p', [...allowed, 21, 1883].join(','), moatLan]));
    assert.equal(targeted.filtered, 2, 'only 21 and 1883 are filtered');
    for (const port of [21, 1883]) assert.doesNotMatch(targeted.states.get(port) ?? 'filtered', /^(open|closed)$/);
  });

  it('a bounded scan of the printer from lan finds nothing; 1883 and 21 are closed everywhere', async () => {
    const scan = parseNmap(nmapXml('lan', ['-sS', '-p-', '--min-rate', '20000', printer]));
    const answered = [...scan.states].filter(([, s]) => s !== 'filtered');
    assert.deepEqual(answered, [], 'no TCP port of the printer answers from lan');
    // The printer does serve plaintext 1883 and 21 on its own segment: the scan above is not vacuous.
    const inside = parseNmap(nmapXml('printer', ['-sS', '-p', '21,1883,8883,990', printer]));
    for (const port of [21, 1883, 8883, 990]) assert.equal(inside.states.get(port), 'open', `printer serves ${port}`);
    const listening = inNs('moat', 'ss', ['-ltnH']).out;
    assert.doesNotMatch(listening, /:(1883|21)\s/, 'Moat never listens on 1883 or 21');

    // UDP 2021 and 1990 of the printer, from lan: a listener there sees nothing from the LAN.
    const udp = [
      await NsProcess.agent('printer', 'udp-listen', '2021'),
      await NsProcess.agent('printer', 'udp-listen', '1990'),
    ];
    processes.push(...udp);
    for (const port of ['2021', '1990']) {
      inNs('lan', process.execPath, [agent, 'udp-junk', printer, port, '20']);
      inNs('printer', process.execPath, [agent, 'udp-junk', '127.0.0.1', port, '1']); // the listener works
    }
    await waitFor(() => udp.every((u) => u.datagrams().some((d) => d.from === '127.0.0.1')), {
      what: 'control datagrams',
    });
    for (const listener of udp) {
      assert.deepEqual(
        listener.datagrams().filter((d) => d.from.startsWith('198.51.100.')),
        [],
        'nothing from lan',
      );
      listener.stop();
    }
  });

  it('from printer: lan is unreachable; wan only with cloud access, and lan still not', async () => {
    processes.push(await NsProcess.agent('lan', 'tcp-listen', '198.51.100.10', '8080'));
    processes.push(await NsProcess.agent('wan', 'tcp-listen', '203.0.113.2', '8080'));
    // Both listeners answer Moat itself: a failure from the printer is the firewall, not a dead listener.
    assert.match(curlFrom('moat', 'http://198.51.100.10:8080/').out, /hello/);
    assert.match(curlFrom('moat', 'http://203.0.113.2:8080/').out, /hello/);
    const blocked = (url: string) =>
      assert.notEqual(curlFrom('printer', url).status, 0, `${url} reachable from printer`);
    blocked('http://198.51.100.10:8080/');
    blocked(`http://${moatLan}:8883/`);
    blocked('http://203.0.113.2:8080/');

    updateConfig(paths(), (c) => ({ ...c, firewall: { ...c.firewall, cloudAccess: true } }));
    try {
      const applied = moatCli('firewall', 'apply');
      assert.equal(applied.status, 0, applied.out);
      assert.equal(
        readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(),
        '0',
        "the host's forwarding untouched",
      );
      assert.match(curlFrom('printer', 'http://203.0.113.2:8080/').out, /hello from 203\.0\.113\.2/);
      blocked('http://198.51.100.10:8080/');
    } finally {
      updateConfig(paths(), (c) => ({ ...c, firewall: { ...c.firewall, cloudAccess: false } }));
      const restored = moatCli('firewall', 'apply');
      assert.equal(restored.status, 0, restored.out);
    }
    blocked('http://203.0.113.2:8080/');
  });

  it("a rule deleted behind Moat's back is reported by moat firewall check and restored by apply", () => {
    assert.equal(moatCli('firewall', 'check').status, 0);
    const listing = inNs('moat', 'nft', ['-a', 'list', 'chain', 'inet', 'moat', 'lan_in']).out;
    const handle = /comment "lan drop" # handle (\d+)/.exec(listing)?.[1];
    assert.ok(handle, listing);
    assert.equal(inNs('moat', 'nft', ['delete', 'rule', 'inet', 'moat', 'lan_in', 'handle', handle]).status, 0);
    const check = moatCli('firewall', 'check');
    assert.equal(check.status, 1);
    assert.match(check.out, /rule "lan drop" is missing from chain lan_in/);
    assert.equal(moatCli('firewall', 'apply').status, 0);
    const again = moatCli('firewall', 'check');
    assert.equal(again.status, 0, again.out);
  });

  it('the printer NOTIFY reaches lan with Location 198.51.100.1 within 10 s, never leaks into printer, survives 1,000 junk datagrams', async () => {
    const lanBroadcast = await NsProcess.agent('lan', 'udp-listen', '2021');
    const lanMulticast = await NsProcess.agent('lan', 'udp-listen', '1990', '239.255.255.250');
    const printerSide = [
      await NsProcess.agent('printer', 'udp-listen', '2021'),
      await NsProcess.agent('printer', 'udp-listen', '1990', '239.255.255.250'),
    ];
    processes.push(lanBroadcast, lanMulticast, ...printerSide);
    const relayed = (p: NsProcess) =>
      p.datagrams().map((d) => ({ from: d.from, parsed: parseNotify(Buffer.from(d.text, 'latin1')) }));
    // The printer announces every 5 s; its next NOTIFY must be on the LAN well within 10 s.
    const first = await waitFor(() => relayed(lanBroadcast)[0], { timeoutMs: 10000, what: 'a NOTIFY in lan' });
    assert.equal(first.from, moatLan);
    assert.ok(first.parsed.ok);
    assert.equal(first.parsed.notify.location, moatLan);
    assert.equal(first.parsed.notify.serial, info.serial);
    await waitFor(() => relayed(lanMulticast)[0], { timeoutMs: 10000, what: 'the multicast NOTIFY in lan' });

    const junk = inNs('printer', process.execPath, [agent, 'udp-junk', moatSegment, '2021', '1000'], 60000);
    assert.match(junk.out, /sent 1000/);
    const countBefore = relayed(lanBroadcast).length;
    await waitFor(() => relayed(lanBroadcast).length > countBefore, {
      timeoutMs: 10000,
      what: 'a NOTIFY after the junk',
    });
    for (const { from, parsed } of [...relayed(lanBroadcast), ...relayed(lanMulticast)]) {
      assert.equal(from, moatLan);
      assert.ok(parsed.ok && parsed.notify.location === moatLan, 'only well-formed NOTIFYs with Moat as Location');
    }
    for (const listener of printerSide) {
      const foreign = listener.datagrams().filter((d) => d.from !== printer);
      assert.deepEqual(foreign, [], 'no NOTIFY announced into the printer segment');
    }
    assert.ok(existsSync(join(dir, 'moat.log')));
    assert.doesNotMatch(readFileSync(join(dir, 'moat.log'), 'utf8'), /"level":(50|60)/, 'no error logged by Moat');
  });

  it('the camera relay from lan accepts two connections and refuses the third (openssl s_client)', async () => {
    const client = () =>
      new NsProcess('lan', 'openssl', [
        's_client',
        '-connect',
        `${moatLan}:6000`,
        '-CAfile',
        info.printerCaFile,
        '-brief',
      ]);
    const first = client();
    const second = client();
    processes.push(first, second);
    for (const c of [first, second]) {
      await waitFor(() => c.lines.some((l) => /Verification: OK/.test(l)), { timeoutMs: 10000, what: 'camera TLS' });
      assert.ok(
        c.lines.some((l) => l.includes(info.serial)),
        "the printer's own certificate",
      );
    }
    const third = client();
    processes.push(third);
    const code = await new Promise<number | null>((resolve) => third.child.once('exit', resolve));
    assert.notEqual(code, 0, 'the third connection is refused');
    assert.ok(!third.lines.some((l) => /Verification: OK/.test(l)));
    first.stop();
    second.stop();
  });
});
