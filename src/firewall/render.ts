import { printerLinkName } from '../appliance/printer-addresses.js';
import { cloudAccessOn, type MoatConfig, type PrinterConfig, servedOnEveryAddress } from '../config/schema.js';
import { networkOf } from '../net/lan-addresses.js';
import { printerModel } from '../printer-models.js';

/**
 * Moat's own nftables table (`inet moat`), rendered from the configuration by a pure function: the same
 * configuration always gives the same text, which golden tests pin and `nft -c` checks. Every rule carries
 * a unique comment: `moat firewall check` compares the live table with the rendered one rule by rule through
 * these comments, and drop counters are reported under them on the dashboard.
 */
export const tableFamily = 'inet';
export const tableName = 'moat';

export interface FirewallRule {
  /** The rule without its comment, in nft syntax. */
  text: string;
  /** Unique within the table; the rule's name in checks and counters. */
  comment: string;
}

export interface FirewallChain {
  name: string;
  /** Base chain declaration (`type filter hook input priority filter; policy drop;`), absent for regular chains. */
  base?: string;
  rules: FirewallRule[];
}

/** A named set: its declaration lines (`type …;`, `flags …;`), as nft prints them inside `set NAME { }`. */
export interface FirewallSet {
  name: string;
  declaration: string[];
}

export interface FirewallRuleset {
  sets: FirewallSet[];
  chains: FirewallChain[];
}

/**
 * Strict cloud access: what the printer may open towards the internet. TLS to the cloud's HTTPS and MQTT
 * endpoints and NTP; DNS only through Moat's resolver (allowed in `segment_in`, never forwarded).
 */
export const strictCloudPorts = { tcp: [443, 8883], udp: [123] } as const;

/** The set where strict cloud access counts what it dropped, one element (protocol . port) per destination port. */
export const droppedPortsSet = 'cloud_dropped_ports';
/** Bounded so a printer scanning every port cannot grow kernel memory; drops beyond it are still counted by rule. */
const droppedPortsSetSize = 1024;

/** What the renderer needs beyond the configuration, found at start (so the function stays pure). */
export interface FirewallFacts {
  /** LAN networks the printer must never reach; `config.lan.subnets` when set, else derived from the interface. */
  lanSubnets: string[];
}

/** Networks a printer with cloud access may still never reach: private, link-local and the LAN's own. */
const neverForwardTo = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16'];

export interface RelayPlan {
  service: 'rtsps' | 'tunnel' | 'bind' | 'bindTls';
  /** LAN port Moat listens on (0 = any, tests). */
  listenPort: number;
  /** The printer's port the relay connects to. */
  printerPort: number;
  maxConnections: number;
  label: string;
}

/**
 * Which LAN → printer TCP relays run for a printer: 322 for RTSPS cameras, 6000 for the JPEG camera
 * (P1/A1) or the file tunnel (P2S/H2), 3000/3002 for bind/detect. Shared by the relays and the firewall,
 * so a port is open exactly when something listens on it.
 */
export function relayPlan(config: Pick<MoatConfig, 'relays'>, printer: PrinterConfig): RelayPlan[] {
  const model = printerModel(printer.model);
  const { relays } = config;
  const plan: RelayPlan[] = [];
  if (printer.relays.camera && model.camera === 'rtsps') {
    plan.push({
      service: 'rtsps',
      listenPort: relays.ports.rtsps,
      printerPort: printer.relayPorts.rtsps,
      maxConnections: relays.cameraMaxConnections,
      label: 'camera rtsps',
    });
  }
  const tunnelIsCamera = model.camera === 'jpeg';
  if (tunnelIsCamera ? printer.relays.camera : printer.relays.fileTunnel) {
    plan.push({
      service: 'tunnel',
      listenPort: relays.ports.tunnel,
      printerPort: printer.relayPorts.tunnel,
      // 6000 carries print files as well as camera frames: a camera cap here could block a print upload.
      maxConnections: relays.maxConnections,
      label: tunnelIsCamera ? 'camera jpeg' : 'file tunnel',
    });
  }
  if (printer.relays.bind) {
    plan.push(
      {
        service: 'bind',
        listenPort: relays.ports.bind,
        printerPort: printer.relayPorts.bind,
        maxConnections: relays.maxConnections,
        label: 'bind',
      },
      {
        service: 'bindTls',
        listenPort: relays.ports.bindTls,
        printerPort: printer.relayPorts.bindTls,
        maxConnections: relays.maxConnections,
        label: 'bind tls',
      },
    );
  }
  return plan;
}

/** A printer served on a LAN address of its own (every printer, once there are several). */
type AddressedPrinter = PrinterConfig & { lanAddress: string };

function addressedPrinters(config: MoatConfig): AddressedPrinter[] {
  return config.printers.filter((p): p is AddressedPrinter => p.lanAddress !== undefined);
}

function quote(name: string): string {
  return `"${name}"`;
}

function portSet(ports: number[]): string {
  const unique = [...new Set(ports.filter((p) => p > 0))].sort((a, b) => a - b);
  return unique.length === 1 ? String(unique[0]) : `{ ${unique.join(', ')} }`;
}

/**
 * The TCP ports the LAN may reach on Moat, with the comment that names each rule; `address` when only on
 * that destination address (a printer's own). A printer with an address of its own gets its services there
 * and nowhere else; the wildcard listeners (no printer yet, or a lone printer without an address) stay open
 * on every address as before. A printer still waiting for its DHCP lease gets nothing.
 */
export function lanTcpPorts(config: MoatConfig): { ports: number[]; comment: string; address?: string }[] {
  const wildcard = config.printers.filter(servedOnEveryAddress);
  const passthrough = wildcard.some((p) => p.passthrough);
  const entries: { ports: number[]; comment: string; address?: string }[] = [
    { ports: [config.ports.https, config.ports.http], comment: 'lan setup page' },
  ];
  if (config.printers.length === 0 || wildcard.length > 0) {
    entries.push(
      { ports: [config.ports.mqtt], comment: passthrough ? 'lan mqtt passthrough' : 'lan mqtt bridge' },
      { ports: [config.ports.ftps], comment: passthrough ? 'lan ftps passthrough' : 'lan ftps bridge' },
    );
    const relays = wildcard.flatMap((p) => relayPlan(config, p)).filter((relay) => relay.listenPort > 0);
    if (relays.length > 0)
      entries.push({ ports: relays.map((relay) => relay.listenPort), comment: 'lan printer relays' });
  }
  for (const printer of addressedPrinters(config)) {
    const relays = relayPlan(config, printer).map((relay) => relay.listenPort);
    entries.push({
      ports: [config.ports.mqtt, config.ports.ftps, ...relays],
      comment: `lan printer ${printer.serial}`,
      address: printer.lanAddress,
    });
  }
  return entries.filter((e) => e.ports.some((p) => p > 0));
}

const quoteInterfaces = (config: MoatConfig) => ({
  lan: quote(config.lan.interface),
  segment: quote(config.segment.interface),
  upstream: quote(config.firewall.upstreamInterface ?? config.lan.interface),
});

function inputChain(config: MoatConfig): FirewallChain {
  const { lan, segment, upstream } = quoteInterfaces(config);
  const input: FirewallChain = {
    name: 'input',
    base: 'type filter hook input priority filter; policy drop;',
    rules: [
      { text: 'iif "lo" accept', comment: 'loopback' },
      { text: 'ct state established,related accept', comment: 'established' },
      { text: 'ct state invalid counter drop', comment: 'invalid drop' },
      { text: `iifname ${lan} jump lan_in`, comment: 'from lan' },
      // A packet to a printer's own address arrives on its macvlan (printer-addresses.ts), not on the LAN
      // interface: the same LAN rules apply to it.
      ...config.printers
        .filter((printer) => !servedOnEveryAddress(printer))
        .map((printer) => ({
          text: `iifname ${quote(printerLinkName(printer.serial))} jump lan_in`,
          comment: `from lan printer ${printer.serial}`,
        })),
      { text: `iifname ${segment} jump segment_in`, comment: 'from segment' },
      { text: 'counter drop', comment: 'other drop' },
    ],
  };
  if (config.firewall.upstreamInterface && config.firewall.upstreamInterface !== config.lan.interface) {
    // The upstream interface only carries replies (accepted above as established); nothing is served there.
    input.rules.splice(-1, 0, { text: `iifname ${upstream} counter drop`, comment: 'upstream drop' });
  }
  return input;
}

function lanInChain(config: MoatConfig): FirewallChain {
  const icmpRate = `limit rate ${config.firewall.icmpPerSecond}/second`;
  const passive = `${config.ports.passiveMin}-${config.ports.passiveMax}`;
  const passthrough = config.printers.some((p) => servedOnEveryAddress(p) && p.passthrough);
  const addressed = addressedPrinters(config);
  const entries = lanTcpPorts(config);
  const rule = ({ ports, comment, address }: (typeof entries)[number]): FirewallRule => ({
    text: `${address ? `ip daddr ${address} ` : ''}tcp dport ${portSet(ports)} accept`,
    comment,
  });
  // First what each printer's address offers, then a drop of everything else to those addresses (not the
  // setup page, not another printer's services), then what Moat's own addresses offer.
  const printerRules = entries.filter((e) => e.address !== undefined).map(rule);
  for (const printer of addressed) {
    printerRules.push({
      text: `ip daddr ${printer.lanAddress} tcp dport ${passive} accept`,
      comment: `lan printer ${printer.serial} ftps passive`,
    });
  }
  if (addressed.length > 0) {
    printerRules.push({
      text: `ip daddr { ${addressed.map((p) => p.lanAddress).join(', ')} } meta l4proto { tcp, udp } counter drop`,
      comment: 'lan printer addresses drop',
    });
  }
  const wildcard = config.printers.length === 0 || config.printers.some(servedOnEveryAddress);
  return {
    name: 'lan_in',
    rules: [
      ...printerRules,
      ...entries.filter((e) => e.address === undefined).map(rule),
      ...(wildcard
        ? [
            {
              text: `tcp dport ${passive} accept`,
              comment: passthrough ? 'lan ftps passive passthrough' : 'lan ftps passive',
            },
          ]
        : []),
      { text: 'udp dport 5353 accept', comment: 'lan mdns' },
      { text: `icmp type echo-request ${icmpRate} accept`, comment: 'lan ping' },
      { text: `icmpv6 type echo-request ${icmpRate} accept`, comment: 'lan ping6' },
      {
        text: 'icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } ip6 hoplimit 255 accept',
        comment: 'lan ipv6 neighbour discovery',
      },
      { text: 'counter drop', comment: 'lan drop' },
    ],
  };
}

function segmentInChain(config: MoatConfig): FirewallChain {
  const segmentNet = networkOf(config.segment.address, config.segment.prefixLength);
  const discoveryPorts = portSet([config.discovery.notifyPort, config.discovery.multicastPort]);
  return {
    name: 'segment_in',
    rules: [
      // Only Moat's address on the segment (and broadcast/multicast there) is served: a packet from the printer
      // to Moat's LAN or upstream address would otherwise reach whatever listens there on these ports.
      {
        text: 'fib daddr . iif type != { local, broadcast, multicast } counter drop',
        comment: 'segment not to moat segment address',
      },
      { text: 'udp sport 68 udp dport 67 accept', comment: 'segment dhcp' },
      { text: `ip saddr ${segmentNet} meta l4proto { tcp, udp } th dport 53 accept`, comment: 'segment dns' },
      // The discovery relay's input; it is re-announced on the LAN only, never back here.
      { text: `ip saddr ${segmentNet} udp dport ${discoveryPorts} accept`, comment: 'segment printer notify' },
      { text: 'counter drop', comment: 'segment drop' },
    ],
  };
}

/** The forward chain, with the set and the NAT chain cloud access needs. */
function forwarding(config: MoatConfig, facts: FirewallFacts): { chains: FirewallChain[]; sets: FirewallSet[] } {
  const { segment, upstream } = quoteInterfaces(config);
  const segmentNet = networkOf(config.segment.address, config.segment.prefixLength);
  const forward: FirewallChain = {
    name: 'forward',
    base: 'type filter hook forward priority filter; policy drop;',
    rules: [],
  };
  const chains: FirewallChain[] = [forward];
  const sets: FirewallSet[] = [];
  if (cloudAccessOn(config)) {
    const never = [...new Set([...facts.lanSubnets, ...neverForwardTo])].join(', ');
    const out = `iifname ${segment} oifname ${upstream} ip saddr ${segmentNet}`;
    forward.rules.push({
      text: `iifname ${segment} ip daddr { ${never} } counter drop`,
      comment: 'cloud never to lan',
    });
    if (config.firewall.cloudAccess === 'strict') {
      sets.push({
        name: droppedPortsSet,
        declaration: ['type inet_proto . inet_service', `size ${droppedPortsSetSize}`, 'flags dynamic', 'counter'],
      });
      forward.rules.push(
        { text: `${out} tcp dport ${portSet([...strictCloudPorts.tcp])} accept`, comment: 'cloud printer tls' },
        { text: `${out} udp dport ${portSet([...strictCloudPorts.udp])} accept`, comment: 'cloud printer ntp' },
        {
          text: `${out} meta l4proto { tcp, udp } add @${droppedPortsSet} { meta l4proto . th dport } counter drop`,
          comment: 'cloud strict drop by port',
        },
      );
    } else {
      forward.rules.push({ text: `${out} accept`, comment: 'cloud printer to internet' });
    }
    forward.rules.push({
      text: `iifname ${upstream} oifname ${segment} ct state established,related accept`,
      comment: 'cloud replies to printer',
    });
    chains.push({
      name: 'postrouting',
      base: 'type nat hook postrouting priority srcnat; policy accept;',
      rules: [{ text: `${out} masquerade`, comment: 'cloud masquerade' }],
    });
  }
  forward.rules.push({ text: 'counter drop', comment: 'forward drop' });
  return { chains, sets };
}

export function buildRuleset(config: MoatConfig, facts: FirewallFacts): FirewallRuleset {
  const { segment } = quoteInterfaces(config);
  const { chains: forwardChains, sets } = forwarding(config, facts);
  const chains: FirewallChain[] = [inputChain(config), lanInChain(config), segmentInChain(config), ...forwardChains];
  chains.push({
    name: 'output',
    base: 'type filter hook output priority filter; policy accept;',
    rules: [
      {
        text: `oifname ${segment} udp dport { 1990, 2021 } counter drop`,
        comment: 'no announce into segment',
      },
    ],
  });
  return { sets, chains };
}

/**
 * The file `nft -f` applies: it creates the table if absent, deletes it and recreates it, all in one
 * transaction, so the live ruleset is either the old table or the new one, never a mix or none.
 */
export function renderRuleset(ruleset: FirewallRuleset): string {
  const lines = [
    '#!/usr/sbin/nft -f',
    '# Moat firewall: generated from the configuration; do not edit (moat firewall render).',
    `table ${tableFamily} ${tableName}`,
    `delete table ${tableFamily} ${tableName}`,
    `table ${tableFamily} ${tableName} {`,
  ];
  for (const set of ruleset.sets) {
    lines.push(`\tset ${set.name} {`, ...set.declaration.map((d) => `\t\t${d}`), '\t}');
  }
  for (const chain of ruleset.chains) {
    lines.push(`\tchain ${chain.name} {`);
    if (chain.base) lines.push(`\t\t${chain.base}`);
    for (const rule of chain.rules) lines.push(`\t\t${rule.text} comment ${quote(rule.comment)}`);
    lines.push('\t}');
  }
  lines.push('}', '');
  return lines.join('\n');
}

export function renderFirewall(config: MoatConfig, facts: FirewallFacts): string {
  return renderRuleset(buildRuleset(config, facts));
}
