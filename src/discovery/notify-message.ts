/**
 * The SSDP-style `NOTIFY * HTTP/1.1` a Bambu printer broadcasts about every 5 s (UDP 2021 broadcast and
 * 239.255.255.250:1990). The discovery relay parses it and re-sends it with its own address. The simulated
 * printer writes its NOTIFY itself (src/simulator/notify.ts), so tests of this parser face an independent
 * writer of the format.
 */
import { isIPv4 } from 'node:net';
import { serialPattern } from '../config/schema.js';

export const notifyStartLine = 'NOTIFY * HTTP/1.1';
export const bambuDeviceType = 'urn:bambulab-com:device:3dprinter:1';
/** Real NOTIFYs are ~400 bytes; anything this large is not one. */
export const maxNotifyBytes = 2048;
const maxHeaders = 32;

/** Header names and values in the order they came, original spelling kept (relays re-send them as is). */
export type NotifyHeaders = [name: string, value: string][];

export interface ParsedNotify {
  headers: NotifyHeaders;
  /** `USN`: the printer's serial. */
  serial: string;
  /** `Location`: the printer's bare IPv4 address. */
  location: string;
}

export function formatNotify(headers: NotifyHeaders): Buffer {
  return Buffer.from(`${[notifyStartLine, ...headers.map(([n, v]) => `${n}: ${v}`)].join('\r\n')}\r\n\r\n`, 'utf8');
}

export function headerValue(headers: NotifyHeaders, name: string): string | undefined {
  const lower = name.toLowerCase();
  return headers.find(([n]) => n.toLowerCase() === lower)?.[1];
}

/** Replaces one header's value, keeping its position and spelling. */
export function withHeader(headers: NotifyHeaders, name: string, value: string): NotifyHeaders {
  const lower = name.toLowerCase();
  return headers.map(([n, v]) => [n, n.toLowerCase() === lower ? value : v]);
}

// Printable ASCII only: a header that smuggles control characters or CR/LF is malformed.
const headerNamePattern = /^[A-Za-z0-9.-]{1,64}$/;
const headerValuePattern = /^[\x20-\x7e]{0,256}$/;

export type NotifyParseResult = { ok: true; notify: ParsedNotify } | { ok: false; reason: 'oversized' | 'malformed' };

/** Parses a datagram; anything that is not a well-formed Bambu printer NOTIFY is refused with a reason. */
export function parseNotify(datagram: Buffer): NotifyParseResult {
  if (datagram.length > maxNotifyBytes) return { ok: false, reason: 'oversized' };
  const text = datagram.toString('latin1');
  const lines = text.split('\r\n');
  if (lines[0] !== notifyStartLine) return { ok: false, reason: 'malformed' };
  const headers: NotifyHeaders = [];
  let ended = false;
  for (const line of lines.slice(1)) {
    if (line === '') {
      ended = true;
      break;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) return { ok: false, reason: 'malformed' };
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (!headerNamePattern.test(name) || !headerValuePattern.test(value)) return { ok: false, reason: 'malformed' };
    headers.push([name, value]);
    if (headers.length > maxHeaders) return { ok: false, reason: 'malformed' };
  }
  if (!ended) return { ok: false, reason: 'malformed' };
  const serial = headerValue(headers, 'USN');
  const location = headerValue(headers, 'Location');
  const nt = headerValue(headers, 'NT');
  if (nt !== bambuDeviceType || !serial || !serialPattern.test(serial) || !location || !isIPv4(location))
    return { ok: false, reason: 'malformed' };
  return { ok: true, notify: { headers, serial, location } };
}
