import { networkInterfaces } from 'node:os';
import type { MoatConfig } from '../config/schema.js';

/** Moat's LAN addresses: the configured ones, else the IPv4 addresses of the LAN interface right now. */
export function lanAddresses(config: Pick<MoatConfig, 'lan'>): string[] {
  if (config.lan.addresses.length > 0) return config.lan.addresses;
  const found = networkInterfaces()[config.lan.interface] ?? [];
  return found.filter((a) => a.family === 'IPv4' && !a.internal).map((a) => a.address);
}

/** The address put in PASV replies, NOTIFY `Location` and rewritten reports. */
export function primaryLanAddress(config: Pick<MoatConfig, 'lan'>): string {
  return lanAddresses(config)[0] ?? (config.lan.bindAddress !== '0.0.0.0' ? config.lan.bindAddress : '127.0.0.1');
}

/** The LAN networks: the configured ones, else those of the LAN interface's IPv4 addresses right now. */
export function lanSubnets(config: Pick<MoatConfig, 'lan'>): string[] {
  if (config.lan.subnets.length > 0) return config.lan.subnets;
  const found = networkInterfaces()[config.lan.interface] ?? [];
  const networks = found.filter((a) => a.family === 'IPv4' && !a.internal && a.cidr).map((a) => a.cidr as string);
  // The interface address with host bits set (198.51.100.1/24) is what os reports; nft wants the network.
  return [...new Set(networks.map((cidr) => networkOf(cidr.split('/')[0] ?? '', Number(cidr.split('/')[1]))))];
}

/** The network of an IPv4 address with a prefix length, as CIDR text (198.51.100.1, 24 → 198.51.100.0/24). */
export function networkOf(address: string, prefixLength: number): string {
  const value = address.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
  const size = 2 ** (32 - prefixLength);
  const network = Math.floor(value / size) * size;
  return `${[24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256).join('.')}/${prefixLength}`;
}
