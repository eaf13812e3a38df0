import type { MoatConfig } from '../config/schema.js';
import { ConfigError } from '../config/validate.js';

/** The printer segment's addressing, checked as a whole (the schema checks each field alone). */
export type SegmentConfig = MoatConfig['segment'];

export function ipv4ToNumber(address: string): number {
  return address.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
}

export function numberToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

export function netmask(prefixLength: number): string {
  return numberToIpv4(2 ** 32 - 2 ** (32 - prefixLength));
}

function networkOf(address: string, prefixLength: number): number {
  const size = 2 ** (32 - prefixLength);
  return Math.floor(ipv4ToNumber(address) / size) * size;
}

/** True when the address is a usable host address (not network, not broadcast) of the segment. */
function isHostInSegment(address: string, segment: SegmentConfig): boolean {
  const network = networkOf(segment.address, segment.prefixLength);
  const value = ipv4ToNumber(address);
  return value > network && value < network + 2 ** (32 - segment.prefixLength) - 1;
}

/**
 * Throws a ConfigError naming the field when the segment's addresses do not fit together: Moat's own
 * address, the DHCP range and every fixed lease must be host addresses of one subnet, and none may
 * collide with Moat's address.
 */
export function checkSegment(segment: SegmentConfig): void {
  if (!isHostInSegment(segment.address, segment))
    throw new ConfigError('segment.address', `${segment.address} is not a host address of /${segment.prefixLength}`);
  for (const field of ['dhcpRangeStart', 'dhcpRangeEnd'] as const) {
    if (!isHostInSegment(segment[field], segment))
      throw new ConfigError(
        `segment.${field}`,
        `${segment[field]} is outside ${segment.address}/${segment.prefixLength}`,
      );
  }
  const start = ipv4ToNumber(segment.dhcpRangeStart);
  const end = ipv4ToNumber(segment.dhcpRangeEnd);
  if (start > end) throw new ConfigError('segment.dhcpRangeStart', 'must not be after segment.dhcpRangeEnd');
  const own = ipv4ToNumber(segment.address);
  if (own >= start && own <= end)
    throw new ConfigError('segment.address', "Moat's own address must not be inside the DHCP range");
  const macs = new Set<string>();
  const addresses = new Set<string>();
  segment.reservations.forEach((reservation, i) => {
    const path = `segment.reservations[${i}]`;
    if (!isHostInSegment(reservation.address, segment))
      throw new ConfigError(`${path}.address`, `${reservation.address} is outside the segment`);
    if (reservation.address === segment.address)
      throw new ConfigError(`${path}.address`, "must not be Moat's own address");
    const mac = reservation.mac.toLowerCase();
    if (macs.has(mac)) throw new ConfigError(`${path}.mac`, 'duplicate MAC address');
    if (addresses.has(reservation.address)) throw new ConfigError(`${path}.address`, 'duplicate address');
    macs.add(mac);
    addresses.add(reservation.address);
  });
}
