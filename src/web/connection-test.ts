import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { Client as FtpClient } from 'basic-ftp';
import { MqttClient } from 'mqtt';
import {
  type CertificateCheck,
  firstValue,
  judgePrinterCertificate,
  type PeerView,
  peerView,
  printerTlsOptions,
} from '../certs/printer-certificate.js';
import type { CertificateVerdict, ConnectionTestResult, ServiceVerdict } from './api-types.js';

/**
 * The wizard's "test connection": reaches the printer's MQTT broker and FTPS server the way the bridges
 * will, and says whether its certificate is one Moat should trust. The access code is sent only after the
 * certificate passed, so testing against an impostor does not hand it the code.
 */

export interface ConnectionTestInput {
  address: string;
  serial: string;
  accessCode: string;
  mqttPort: number;
  ftpPort: number;
  certificate: CertificateCheck;
  timeoutMs?: number;
}

export function judgeCertificate(socket: TLSSocket, serial: string, check: CertificateCheck): CertificateVerdict {
  return certificateVerdict(peerView(socket), serial, check);
}

/** The printer-certificate judge's verdict in the owner's words, with what the printer showed. */
export function certificateVerdict(peer: PeerView, serial: string, check: CertificateCheck): CertificateVerdict {
  const commonName = firstValue(peer.commonName);
  const seen = {
    ...(peer.fingerprint !== undefined && { fingerprint: peer.fingerprint }),
    ...(commonName !== undefined && { commonName }),
    ...(peer.issuer !== undefined && { issuer: peer.issuer }),
  };
  const judgement = judgePrinterCertificate(peer, serial, check);
  const signer = check.policy === 'bbl-ca' ? 'Bambu Lab' : 'the test CA';
  if (judgement.trusted) {
    const detail =
      judgement.by === 'pin'
        ? 'The printer showed the certificate you chose to trust.'
        : `Signed by ${signer} for printer ${serial}.`;
    return { trusted: true, detail, ...seen };
  }
  const details: Record<typeof judgement.problem, string> = {
    'no-certificate': 'The printer showed no certificate.',
    'fingerprint-mismatch': 'The printer showed a different certificate than the one you trusted.',
    'untrusted-chain': `The printer's certificate is not signed by ${signer}.`,
    'wrong-serial': `The certificate belongs to printer ${commonName}, not ${serial}.`,
  };
  return { trusted: false, detail: details[judgement.problem], ...seen };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function describeNetworkError(error: unknown, what: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return `Nothing answers on the ${what} port: is the printer on and in LAN mode?`;
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'The printer cannot be reached at this address.';
  return (error as Error).message;
}

function openTls(input: ConnectionTestInput, port: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: input.address,
      port,
      ...printerTlsOptions(input),
    });
    socket.once('secureConnect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

async function testMqtt(input: ConnectionTestInput, timeoutMs: number): Promise<[CertificateVerdict, ServiceVerdict]> {
  let socket: TLSSocket;
  try {
    socket = await withTimeout(openTls(input, input.mqttPort), timeoutMs, 'The printer');
  } catch (error) {
    const detail = describeNetworkError(error, 'MQTT');
    return [
      { trusted: false, detail: `No certificate seen: ${detail}` },
      { ok: false, detail },
    ];
  }
  const verdict = judgeCertificate(socket, input.serial, input.certificate);
  if (!verdict.trusted) {
    socket.destroy();
    return [verdict, { ok: false, detail: 'Not tried: the certificate is not trusted, so the code was not sent.' }];
  }
  // The socket is already verified; MQTT runs over it so the code goes nowhere else.
  const client = new MqttClient(() => socket, {
    username: 'bblp',
    password: input.accessCode,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: timeoutMs,
    clientId: `moat-test-${Date.now().toString(36)}`,
  });
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        client.once('connect', () => {
          client.subscribe(`device/${input.serial}/report`, (error) => (error ? reject(error) : resolve()));
        });
        client.once('error', reject);
        client.once('close', () => reject(new Error('the printer closed the connection')));
      }),
      timeoutMs,
      'MQTT',
    );
    return [verdict, { ok: true, detail: 'Logged in and subscribed to the printer’s reports.' }];
  } catch (error) {
    const message = (error as Error).message;
    const refused = /not authori[sz]ed|bad user name or password/i.test(message);
    return [verdict, { ok: false, detail: refused ? 'The printer refused the access code.' : `MQTT: ${message}` }];
  } finally {
    client.end(true);
  }
}

async function testFtp(input: ConnectionTestInput, timeoutMs: number): Promise<ServiceVerdict> {
  const client = new FtpClient(timeoutMs);
  try {
    await client.connectImplicitTLS(input.address, input.ftpPort, {
      ...printerTlsOptions(input),
    });
    const verdict = judgeCertificate(client.ftp.socket as TLSSocket, input.serial, input.certificate);
    if (!verdict.trusted) return { ok: false, detail: `Not tried: ${verdict.detail}` };
    try {
      await client.login('bblp', input.accessCode);
    } catch {
      return { ok: false, detail: 'The printer refused the access code for file transfer.' };
    }
    await client.useDefaultSettings();
    // A listing opens a data connection: proves the passive ports and TLS session reuse work.
    await client.list('/');
    return { ok: true, detail: 'Logged in and listed the printer’s storage.' };
  } catch (error) {
    return { ok: false, detail: `File transfer: ${describeNetworkError(error, 'FTPS')}` };
  } finally {
    client.close();
  }
}

export async function testPrinterConnection(input: ConnectionTestInput): Promise<ConnectionTestResult> {
  const timeoutMs = input.timeoutMs ?? 8000;
  const [[certificate, mqtt], ftp] = await Promise.all([testMqtt(input, timeoutMs), testFtp(input, timeoutMs)]);
  return { certificate, mqtt, ftp };
}
