import { constants } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions, TlsOptions } from 'node:tls';

/**
 * TLS settings in one place, so every listener and every printer connection agrees.
 *
 * LAN side: Mozilla "intermediate" suites for TLS 1.2, plus the plain-RSA AES-GCM suites that Bambu's
 * network plugin needs to bind; server preference on, so forward-secret suites win whenever a client offers them.
 * Every LAN listener (MQTT, FTPS control and data, HTTPS) is built from lanServerTlsOptions.
 * Printer side: printers speak TLS 1.2 and offer only plain-RSA key exchange, which OpenSSL's defaults leave out.
 */
export const plainRsaSuites = ['AES256-GCM-SHA384', 'AES128-GCM-SHA256'];

export const intermediateSuites = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'DHE-RSA-AES128-GCM-SHA256',
  'DHE-RSA-AES256-GCM-SHA384',
];

export const tls13Suites = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

/**
 * Whether the CPU encrypts AES in hardware, from /proc/cpuinfo's text: the `aes` flag on x86 (`flags`),
 * the `aes` feature on arm64 (`Features`). The Pi 3, 4 and Zero 2 have none: there AES-GCM in software
 * costs several times what ChaCha20-Poly1305 costs, and every report to every subscriber is encrypted.
 */
export function cpuHasAes(cpuinfo: string): boolean {
  return /^(?:flags|Features)\s*:.*(?:^|\s)aes(?:\s|$)/m.test(cpuinfo);
}

let hostAes: boolean | undefined;

/** This machine's answer, read once; where /proc/cpuinfo cannot be read, AES is assumed (OpenSSL's own order). */
export function hostHasAes(): boolean {
  if (hostAes === undefined) {
    try {
      hostAes = cpuHasAes(readFileSync('/proc/cpuinfo', 'latin1'));
    } catch {
      hostAes = true;
    }
  }
  return hostAes;
}

/**
 * The LAN listeners' suites, most preferred first. Without AES instructions ChaCha20-Poly1305 goes first,
 * so every client that offers it gets it; a client that offers only AES-GCM (Bambu's plugin, old scripts)
 * still gets AES-GCM.
 */
export function lanCipherOrder(aesInHardware: boolean): string {
  const chachaFirst = (suites: string[]) =>
    aesInHardware
      ? suites
      : [...suites.filter((s) => s.includes('CHACHA20')), ...suites.filter((s) => !s.includes('CHACHA20'))];
  return [...chachaFirst(tls13Suites), ...chachaFirst(intermediateSuites), ...plainRsaSuites].join(':');
}

export function lanServerTlsOptions(
  identity: { certPem: string; keyPem: string },
  aesInHardware = hostHasAes(),
): TlsOptions {
  return {
    cert: identity.certPem,
    key: identity.keyPem,
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ciphers: lanCipherOrder(aesInHardware),
    honorCipherOrder: true,
    // A client-initiated TLS 1.2 renegotiation is a full handshake the client can ask for again and again on
    // one connection: a cheap way to make a Pi burn CPU. No LAN client needs it; OpenSSL answers with an alert.
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
  };
}

/** What a real printer's TLS server offers: TLS 1.2 only, plain-RSA suites first. */
export function printerLikeServerTlsOptions(identity: { certPem: string; keyPem: string }): TlsOptions {
  return {
    cert: identity.certPem,
    key: identity.keyPem,
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.2',
    ciphers: [...plainRsaSuites, 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384'].join(':'),
    honorCipherOrder: true,
  };
}

/** Client options towards a printer: TLS 1.2 pinned (1.3 resumption breaks on several models). */
export function printerClientTlsOptions(): ConnectionOptions {
  return {
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.2',
    ciphers: ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', ...plainRsaSuites].join(':'),
  };
}
