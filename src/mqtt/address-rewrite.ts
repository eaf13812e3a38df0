import { ipv4ToUint32LE } from '../net/ipv4-uint32.js';

/**
 * Replaces the printer's own address in a report with Moat's LAN address — in `net.info[].ip` (uint32,
 * little-endian) and in the host of `ipcam.rtsp_url` — and nothing else: every other byte is kept, so
 * the payload is edited in place as bytes (latin1 maps each byte to one character) and never re-serialised.
 */
export type Rewriter = (payload: Buffer) => Buffer;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function addressRewriter(printerAddress: string, lanAddress: string): Rewriter {
  if (printerAddress === lanAddress) return (payload) => payload;
  const printerNumber = String(ipv4ToUint32LE(printerAddress));
  const lanNumber = String(ipv4ToUint32LE(lanAddress));
  const ipField = /("ip"\s*:\s*)(\d+)(?!\d)/g;
  const rtspField = /("rtsp_url"\s*:\s*")([^"\\]*)"/g;
  const hostInUrl = new RegExp(`(//(?:[^/@"]*@)?)${escapeRegExp(printerAddress)}(?=[:/"]|$)`, 'g');
  const printerBytes = Buffer.from(printerAddress, 'latin1');
  const numberBytes = Buffer.from(printerNumber, 'latin1');

  return (payload) => {
    // Most reports carry neither; skip the string work for them.
    if (!payload.includes(numberBytes) && !payload.includes(printerBytes)) return payload;
    const text = payload.toString('latin1');
    const rewritten = text
      .replace(ipField, (match, prefix: string, value: string) =>
        value === printerNumber ? prefix + lanNumber : match,
      )
      .replace(
        rtspField,
        (_match, prefix: string, url: string) => `${prefix}${url.replace(hostInUrl, `$1${lanAddress}`)}"`,
      );
    return rewritten === text ? payload : Buffer.from(rewritten, 'latin1');
  };
}
