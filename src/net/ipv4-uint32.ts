import { isIPv4 } from 'node:net';

/**
 * Bambu reports carry addresses in `net.info[].ip` as a uint32 whose least significant byte is the
 * first octet (192.168.50.122 = 0x7A32A8C0 = 2050140352).
 */
export function ipv4ToUint32LE(address: string): number {
  if (!isIPv4(address)) throw new Error(`not an IPv4 address: ${address}`);
  const [a, b, c, d] = address.split('.').map(Number) as [number, number, number, number];
  return (a + b * 0x100 + c * 0x10000 + d * 0x1000000) >>> 0;
}
