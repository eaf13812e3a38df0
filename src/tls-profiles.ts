import { constants } from 'node:crypto';
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

export function lanServerTlsOptions(identity: { certPem: string; keyPem: string }): TlsOptions {
  return {
    cert: identity.certPem,
    key: identity.keyPem,
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ciphers: [...tls13Suites, ...intermediateSuites, ...plainRsaSuites].join(':'),
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
