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
