import { createHash } from 'node:crypto';
import { awaitingLease, type MoatConfig, type PrinterConfig, servedOnEveryAddress } from '../config/schema.js';
import { ConfigError } from '../config/validate.js';
import { lanSubnets, networkOf } from '../net/lan-addresses.js';
import { keyfileConnection } from './access-point.js';

/** Every printer connection's id (and keyfile name) starts with this, so a render can find the stale ones. */
export const printerConnectionPrefix = 'moat-printer-';

export function printerConnectionId(serial: string): string {
  return `${printerConnectionPrefix}${serial}`;
}

/**
 * The printer's MAC on the LAN: the same for a serial on every boot and render, so the home router keeps
 * its lease and reservation. Locally administered (bit 1 of the first octet) and unicast (bit 0 clear).
 */
export function printerMac(serial: string): string {
  const bytes = createHash('sha256').update(`moat printer mac ${serial}`).digest().subarray(0, 6);
  bytes[0] = ((bytes[0] ?? 0) & 0xfc) | 0x02;
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The printer's macvlan's kernel name: at most 15 characters, from its MAC so that it is stable too. */
export function printerLinkName(serial: string): string {
  return `moatp${printerMac(serial).split(':').slice(3).join('')}`;
}

/** A fixed address's prefix length: the configured one, else that of the LAN network holding the address. */
function fixedPrefixLength(config: Pick<MoatConfig, 'lan'>, printer: PrinterConfig): number | undefined {
  if (printer.lanAddressing.prefixLength !== undefined) return printer.lanAddressing.prefixLength;
  const address = printer.lanAddress ?? '';
  const network = lanSubnets(config).find((cidr) => networkOf(address, Number(cidr.split('/')[1])) === cidr);
  return network === undefined ? undefined : Number(network.split('/')[1]);
}

/** How the printer's LAN address is obtained, in words (moat config show). */
export function describeLanAddressing(config: Pick<MoatConfig, 'lan'>, printer: PrinterConfig): string {
  const mac = printerMac(printer.serial);
  if (servedOnEveryAddress(printer)) return "none of its own: served on every one of Moat's addresses";
  if (awaitingLease(printer))
    return `waiting for a DHCP lease on ${printerLinkName(printer.serial)} (on ${config.lan.interface}, MAC ${mac}): not served yet`;
  if (printer.lanAddressing.method === 'dhcp')
    return `${printer.lanAddress} by DHCP on ${printerLinkName(printer.serial)} (on ${config.lan.interface}, MAC ${mac}), learned from the lease`;
  const prefix = fixedPrefixLength(config, printer);
  const length = prefix === undefined ? ' (prefix length unknown: set lanAddressing.prefixLength)' : `/${prefix}`;
  return `${printer.lanAddress}${length} fixed on ${config.lan.interface} with MAC ${mac}`;
}

/**
 * NetworkManager keyfile giving the printer its own address on the LAN: a macvlan (bridge mode) on the LAN
 * interface with the printer's MAC. It never takes the default route or DNS: Moat's own connection owns those.
 * Undefined for a lone printer without a LAN address of its own (it uses Moat's addresses). A DHCP printer
 * gets its keyfile before Moat knows its address: the lease is what tells Moat.
 */
export function renderPrinterKeyfile(config: MoatConfig, index: number): string | undefined {
  const printer = config.printers[index];
  if (printer === undefined || servedOnEveryAddress(printer)) return undefined;
  const id = printerConnectionId(printer.serial);
  const mac = printerMac(printer.serial);
  let ipv4 = ['method=auto', 'ignore-auto-dns=true', 'ignore-auto-routes=true'];
  if (printer.lanAddressing.method === 'fixed') {
    const prefix = fixedPrefixLength(config, printer);
    if (prefix === undefined)
      throw new ConfigError(
        `printers[${index}].lanAddressing.prefixLength`,
        `required: ${printer.lanAddress} is in no LAN network known (lan.subnets or ${config.lan.interface}'s addresses)`,
      );
    ipv4 = ['method=manual', `address1=${printer.lanAddress}/${prefix}`];
  }
  return [
    ...keyfileConnection(id, 'macvlan', printerLinkName(printer.serial)),
    '',
    '[ethernet]',
    `cloned-mac-address=${mac}`,
    '',
    '[macvlan]',
    `parent=${config.lan.interface}`,
    'mode=2', // bridge: the printer addresses and Moat's own reach each other on the host
    '',
    '[ipv4]',
    ...ipv4,
    'never-default=true',
    '',
    '[ipv6]',
    'method=disabled',
    '',
  ].join('\n');
}
