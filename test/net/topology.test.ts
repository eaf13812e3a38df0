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
import { dropCounters, droppedPorts } from '../../src/firewall/manager.js';
import { parseTableJson } from '../../src/firewall/nft.js';
import { droppedPortsSet, lanTcpPorts } from '../../src/firewall/render.js';
import { packageRoot } from '../../src/paths.js';
import { namespacesUnavailable } from '../helpers/namespaces.js';
import { waitFor } from '../helpers/wait.js';
import { launchBrowser, unexpectedErrors } from '../web/web-harness.js';

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
const moatUpstream = '203.0.113.1';
const lanHost = '198.51.100.10';
const wanHost = '203.0.113.2';
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

/** The part of nmap's XML report about one scanned address. */
function nmapHost(xml: string, address: string): string {
  const hosts = [...xml.matchAll(/<host\b[^>]*>[\s\S]*?<\/host>/g)].map((m) => m[0]);
  const host = hosts.find((h) => h.includes(`<address addr="${address}"`));
  assert.ok(host, `nmap reported on ${address}`);
  return host;
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

/** Moat's table as read back by `nft -j` inside the `moat` namespace. */
function liveTable() {
  const listed = inNs('moat', 'nft', ['-j', 'list', 'table', 'inet', 'moat']);
  assert.equal(listed.status, 0, listed.out);
  return parseTableJson(listed.out);
}

/**
 * The owner's browser in `lan`, as curl: claims Moat with the claim code from moat-claim.txt, then calls the
 * setup and dashboard API with the session cookie and the CSRF token, as the wizard's pages do.
 */
const ownerPassword = 'topology owner password';

/** Chromium, run inside `lan` (playwright talks to it over inherited pipes, which cross namespaces). */
function chromiumInLan(): string {
  const file = join(dir, 'chromium-in-lan.sh');
  writeFileSync(file, '#!/bin/sh\nexec ip netns exec lan /usr/bin/chromium "$@"\n', { mode: 0o755 });
  return file;
}

class Owner {
  private csrf = '';
  private readonly jar = join(dir, 'owner-cookies.txt');
  constructor(private readonly caFile: string) {
    const session = this.request('GET', '/api/session');
    this.csrf = (session.json as { csrfToken: string }).csrfToken;
    const code = /claim code:\s*(\S+)/i.exec(readFileSync(join(dir, 'moat-claim.txt'), 'utf8'))?.[1];
    const claimed = this.request('POST', '/api/claim', { code, password: ownerPassword });
    assert.equal(claimed.status, 200, JSON.stringify(claimed.json));
    this.csrf = (claimed.json as { csrfToken: string }).csrfToken;
  }
  request(method: string, path: string, body?: unknown): { status: number; json: unknown } {
    const args = ['-sS', '--max-time', '20', '--cacert', this.caFile, '-b', this.jar, '-c', this.jar];
    args.push('-X', method, '-H', `X-CSRF-Token: ${this.csrf}`, '-w', '\n%{http_code}');
    if (body !== undefined) args.push('-H', 'Content-Type: application/json', '--data', JSON.stringify(body));
    const result = inNs('lan', 'curl', [...args, `https://${moatLan}${path}`]);
    assert.equal(result.status, 0, result.out);
    const split = result.out.lastIndexOf('\n');
    return { status: Number(result.out.slice(split + 1)), json: JSON.parse(result.out.slice(0, split)) };
  }
}

const skip = namespacesUnavailable(['nft', 'nmap', 'mosquitto_sub', 'curl', 'openssl', 'chromium']);

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
    // Store-and-forward (on for FTPS printers): the 226 comes once Moat has the file; the drain follows.
    const stored = join(dir, 'printer-storage', 'topology.3mf');
    await waitFor(() => existsSync(stored), { what: 'the drained upload on the printer', timeoutMs: 30_000 });
    assert.deepEqual(readFileSync(stored), body, 'the printer stored the upload');
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

  it('from printer: lan is unreachable; wan (any port) only with unrestricted cloud access, and lan still not', async () => {
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

    updateConfig(paths(), (c) => ({ ...c, firewall: { ...c.firewall, cloudAccess: 'unrestricted' } }));
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
      updateConfig(paths(), (c) => ({ ...c, firewall: { ...c.firewall, cloudAccess: 'off' } }));
      const restored = moatCli('firewall', 'apply');
      assert.equal(restored.status, 0, restored.out);
    }
    blocked('http://203.0.113.2:8080/');
  });

  it('strict cloud access, chosen through the setup API: from printer, TCP 443 to wan connects, 80, 21 and 1883 do not, DNS only through Moat; drops counted by port and reported', async () => {
    const tcp = await NsProcess.agent('wan', 'tcp-listen', wanHost, '443', '80', '21', '1883');
    const ntp = await NsProcess.agent('wan', 'udp-listen', '123');
    const dns = await NsProcess.agent('wan', 'udp-listen', '53');
    processes.push(tcp, ntp, dns);
    // Every listener answers Moat itself: a failure from the printer is the firewall, not a dead listener.
    for (const port of [443, 80, 21, 1883])
      assert.match(curlFrom('moat', `http://${wanHost}:${port}/`).out, /hello/, `wan listens on ${port}`);

    const owner = new Owner(info.moatCaFile);
    const hasDropSet = () => liveTable().sets.some((set) => set.name === droppedPortsSet);
    assert.equal(owner.request('PUT', '/api/firewall/cloud', { mode: 'strict' }).status, 200);
    try {
      // The running Moat re-applies on the configuration change.
      await waitFor(hasDropSet, { timeoutMs: 15000, what: 'the strict table applied by Moat' });
      assert.deepEqual(droppedPorts(liveTable()), [], 'nothing counted before the printer tries');
      const ruleBefore = dropCounters(liveTable())['cloud strict drop by port']?.packets;
      assert.equal(ruleBefore, 0);

      assert.match(curlFrom('printer', `http://${wanHost}:443/`).out, new RegExp(`hello from ${wanHost}`), 'TCP 443');
      for (const port of [80, 21, 1883])
        assert.notEqual(curlFrom('printer', `http://${wanHost}:${port}/`).status, 0, `TCP ${port} must not connect`);
      // DNS straight to the internet is refused (the printer asks Moat's resolver); time (UDP 123) passes.
      assert.match(inNs('printer', process.execPath, [agent, 'udp-junk', wanHost, '53', '4']).out, /sent 4/);
      assert.match(inNs('printer', process.execPath, [agent, 'udp-junk', wanHost, '123', '4']).out, /sent 4/);
      await waitFor(() => ntp.datagrams().length > 0, { what: 'UDP 123 from the printer in wan' });

      const counted = await waitFor(
        () => {
          const ports = droppedPorts(liveTable());
          return ports.some((d) => d.protocol === 'udp' && d.port === 53) && ports;
        },
        { what: 'the DNS drops counted' },
      );
      for (const [protocol, port] of [
        ['tcp', 80],
        ['tcp', 21],
        ['tcp', 1883],
        ['udp', 53],
      ] as const) {
        const entry = counted.find((d) => d.protocol === protocol && d.port === port);
        assert.ok(
          entry && entry.packets > 0 && entry.bytes > 0,
          `${protocol}/${port} counted: ${JSON.stringify(counted)}`,
        );
      }
      assert.deepEqual(
        counted.filter((d) => [443, 123].includes(d.port)),
        [],
        'what strict lets through is not counted as dropped',
      );
      const ruleAfter = dropCounters(liveTable())['cloud strict drop by port']?.packets ?? 0;
      assert.ok(ruleAfter >= counted.reduce((n, d) => n + d.packets, 0) && ruleAfter > 0, 'the rule counter rose');
      assert.deepEqual(dns.datagrams(), [], 'no DNS from the printer reached the internet');

      // The dashboard's API reports the same per-port counts, read from nft by the running Moat.
      const overview = owner.request('GET', '/api/overview').json as {
        firewall: { cloudAccess: string; applied: boolean; droppedPorts: { protocol: string; port: number }[] };
      };
      assert.equal(overview.firewall.cloudAccess, 'strict');
      assert.equal(overview.firewall.applied, true);
      for (const port of [80, 21, 1883])
        assert.ok(
          overview.firewall.droppedPorts.some((d) => d.protocol === 'tcp' && d.port === port),
          `${port}`,
        );

      // And the dashboard shows them to the owner, in a browser in `lan`.
      const browser = await launchBrowser(readFileSync(paths().serverCert, 'utf8'), {
        executablePath: chromiumInLan(),
      });
      try {
        const { page } = browser;
        await page.goto(`https://${moatLan}/#/`);
        await page.fill('#password', ownerPassword);
        await page.click('#login-form button[type=submit]');
        const shown = page.locator('#firewall-dropped-ports');
        await shown.locator('tr', { hasText: 'TCP 1883' }).waitFor({ timeout: 15000 });
        const rows = await shown
          .locator('tbody tr')
          .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent ?? '')));
        for (const port of ['TCP 80', 'TCP 21', 'TCP 1883', 'UDP 53'])
          assert.ok(
            rows.some(([shownPort, packets]) => shownPort === port && Number(packets) > 0),
            `${port} shown with its packet count: ${JSON.stringify(rows)}`,
          );
        assert.match((await page.locator('#firewall-status').textContent()) ?? '', /cloud access strict/);
        assert.deepEqual(unexpectedErrors(browser.errors), [], 'no console errors');
      } finally {
        await browser.close();
      }
    } finally {
      assert.equal(owner.request('PUT', '/api/firewall/cloud', { mode: 'off' }).status, 200);
      await waitFor(() => !hasDropSet(), { timeoutMs: 15000, what: 'cloud access off again' });
    }
    assert.notEqual(
      curlFrom('printer', `http://${wanHost}:443/`).status,
      0,
      'nothing reaches wan with cloud access off',
    );
  });

  it("a compromised printer reaches only DHCP, DNS and the NOTIFY ports on Moat's segment address: not the setup page, SSH, the LAN listeners, Moat's other addresses nor the LAN", () => {
    // Moat's listeners are on every address, so a port filtered from the printer is the firewall's doing.
    const listening = inNs('moat', 'ss', ['-ltnH']).out;
    for (const port of [443, 80, 8883, 990])
      assert.match(listening, new RegExp(`(0\\.0\\.0\\.0|\\*):${port}\\s`), `Moat listens on every address on ${port}`);

    const targets = [moatSegment, moatLan, moatUpstream, lanHost];
    const xml = nmapXml('printer', ['-sS', '-p-', '--min-rate', '20000', ...targets]);
    const scans = new Map(targets.map((t) => [t, parseNmap(nmapHost(xml, t))]));
    const answering = (t: string) => [...(scans.get(t)?.states ?? [])].filter(([, state]) => state !== 'filtered');
    // DNS (53) on the segment address passes the firewall (closed: no resolver runs in the topology).
    assert.deepEqual(answering(moatSegment), [[53, 'closed']], "only DNS on Moat's segment address answers");
    assert.equal(scans.get(moatSegment)?.filtered, 65534);
    for (const t of [moatLan, moatUpstream, lanHost]) {
      assert.deepEqual(answering(t), [], `no TCP port of ${t} answers the printer`);
      assert.equal(scans.get(t)?.filtered, 65535, `every TCP port of ${t} is filtered`);
    }

    // UDP: DNS and DHCP (from the client port 68) reach the segment address and are answered "closed" by
    // the kernel; to Moat's LAN or upstream address they are dropped, as is anything else.
    const udp = (source: string[], ports: string, t: string) =>
      parseNmap(nmapXml('printer', ['-sU', ...source, '-p', ports, t])).states;
    const segmentUdp = udp([], '53,123,161,5353', moatSegment);
    assert.equal(segmentUdp.get(53), 'closed', 'DNS passes');
    for (const port of [123, 161, 5353]) assert.equal(segmentUdp.get(port), 'open|filtered', `udp ${port} dropped`);
    assert.equal(udp(['-g', '68'], '67', moatSegment).get(67), 'closed', 'DHCP passes');
    for (const t of [moatLan, moatUpstream]) {
      assert.equal(udp([], '53', t).get(53), 'open|filtered', `DNS to ${t} dropped`);
      assert.equal(udp(['-g', '68'], '67', t).get(67), 'open|filtered', `DHCP to ${t} dropped`);
    }
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

  it("the port-6000 relay from lan carries the printer's TLS, and the camera cap does not hold back a third session (openssl s_client)", async () => {
    // Port 6000 is the camera of a P1 and the file tunnel of a P2S/H2: it is under the relay cap, not the
    // camera cap of two, so a print upload is never refused because two camera views are open.
    const clients = [0, 1, 2].map(
      () =>
        new NsProcess('lan', 'openssl', [
          's_client',
          '-connect',
          `${moatLan}:6000`,
          '-CAfile',
          info.printerCaFile,
          '-brief',
        ]),
    );
    processes.push(...clients);
    for (const c of clients) {
      await waitFor(() => c.lines.some((l) => /Verification: OK/.test(l)), { timeoutMs: 10000, what: 'TLS on 6000' });
      assert.ok(
        c.lines.some((l) => l.includes(info.serial)),
        "the printer's own certificate",
      );
    }
    for (const c of clients) c.stop();
  });
});
