import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { renderPrinterKeyfile } from '../../src/appliance/printer-addresses.js';
import { renderSysctl } from '../../src/appliance/sysctl.js';
import { parseConfig } from '../../src/config/schema.js';
import { parseKeyfile } from '../helpers/keyfile.js';
import { ownNamespace } from '../helpers/namespaces.js';

/**
 * A printer's LAN address as the appliance puts it on the wire: the rendered keyfile's macvlan (its name and
 * MAC) on Moat's LAN interface, in the subnet of Moat's own address, with the kernel settings Moat renders.
 * A client on the LAN must reach the printer's services there, and must learn the printer's MAC for that
 * address (the home router keeps one client per printer, and a DHCP lease by that MAC means that address).
 * With the kernel's defaults the parent interface answers ARP for it instead, with Moat's own MAC.
 */
test("a printer's macvlan address is reached on the LAN and answers ARP with its own MAC", (t) => {
  const moat = ownNamespace(t, 'moat-arp-m', ['python3', 'sysctl']);
  if (!moat) return;
  const lan = ownNamespace(t, 'moat-arp-l', ['python3']);
  if (!lan) return;
  const inNs = (ns: string, ...args: string[]) => {
    const result = spawnSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(result.status, 0, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
    return result.stdout;
  };
  inNs(moat, 'ip', 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'client0', 'netns', lan);
  inNs(moat, 'ip', 'addr', 'add', '192.0.2.2/24', 'dev', 'lan0');
  inNs(moat, 'ip', 'link', 'set', 'lan0', 'up');
  inNs(lan, 'ip', 'addr', 'add', '192.0.2.50/24', 'dev', 'client0');
  inNs(lan, 'ip', 'link', 'set', 'client0', 'up');

  const config = parseConfig({
    lan: { interface: 'lan0', subnets: ['192.0.2.0/24'] },
    printers: [
      { serial: '01P00A000000011', model: 'P1S', address: '198.51.100.10', lanAddress: '192.0.2.21' },
      { serial: '01P00A000000012', model: 'X1C', address: '198.51.100.11', lanAddress: '192.0.2.22' },
    ],
  });
  const keyfile = parseKeyfile(renderPrinterKeyfile(config, 0) ?? '');
  const name = keyfile.connection?.['interface-name'] ?? assert.fail('no interface name');
  const mac = keyfile.ethernet?.['cloned-mac-address'] ?? assert.fail('no MAC');
  inNs(moat, 'ip', 'link', 'add', 'link', 'lan0', 'name', name, 'address', mac, 'type', 'macvlan', 'mode', 'bridge');
  inNs(moat, 'ip', 'addr', 'add', '192.0.2.21/24', 'dev', name);
  inNs(moat, 'ip', 'link', 'set', name, 'up');
  const parentMac = /link\/ether (\S+)/.exec(inNs(moat, 'ip', 'link', 'show', 'lan0'))?.[1];

  /** One TCP exchange from the LAN to the printer's address; then the MAC the LAN client learned for it. */
  const connectFromLan = (): string | undefined => {
    inNs(lan, 'ip', 'neigh', 'flush', 'all');
    const server = [
      'import socket',
      's = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
      "s.bind(('192.0.2.21', 8883)); s.listen(); s.settimeout(8)",
      "c, _ = s.accept(); c.sendall(b'moat'); c.close()",
    ].join('\n');
    const client = [
      'import socket, sys, time',
      'for attempt in range(40):',
      '    try:',
      "        s = socket.create_connection(('192.0.2.21', 8883), timeout=2); break",
      '    except ConnectionRefusedError: time.sleep(0.1)',
      'print(s.recv(10).decode())',
    ].join('\n');
    const both = spawnSync(
      'sh',
      [
        '-c',
        'ip netns exec "$1" python3 -c "$2" & server=$!; ip netns exec "$3" python3 -c "$4"; status=$?; wait $server || exit 1; exit $status',
        'sh',
        moat,
        server,
        lan,
        client,
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    assert.equal(both.status, 0, `the LAN client could not reach 192.0.2.21:8883: ${both.stdout}${both.stderr}`);
    assert.equal(both.stdout.trim(), 'moat');
    return /lladdr (\S+)/.exec(inNs(lan, 'ip', 'neigh', 'show', '192.0.2.21'))?.[1];
  };

  // The kernel's defaults, strict reverse-path filtering as Moat renders it without printer addresses: the
  // parent interface answers for the printer's address.
  for (const [key, value] of [
    ['arp_ignore', '0'],
    ['arp_announce', '0'],
    ['rp_filter', '1'],
  ])
    inNs(moat, 'sysctl', '-qw', `net.ipv4.conf.all.${key}=${value}`);
  assert.equal(connectFromLan(), parentMac, 'with the defaults, Moat answers ARP for the printer with its own MAC');

  // What Moat renders for printers with LAN addresses of their own.
  const rendered = renderSysctl(config)
    .split('\n')
    .filter((line) => /^net\.ipv4\.conf\.all\.(arp_ignore|arp_announce|rp_filter) = /.test(line));
  assert.equal(rendered.length, 3, renderSysctl(config));
  for (const line of rendered) inNs(moat, 'sysctl', '-qw', line.replace(' = ', '='));
  assert.equal(connectFromLan(), mac, "the printer's address answers with the printer's MAC");
});
