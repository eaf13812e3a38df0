import { readFileSync } from 'node:fs';
import { type PeerCertificate, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { Client as FtpClient } from 'basic-ftp';
import { MqttClient } from 'mqtt';
import { bblCaBundlePath } from '../paths.js';
import { printerClientTlsOptions } from '../tls-profiles.js';

/**
 * The wizard's "test connection": reaches the printer's MQTT broker and FTPS server the way the bridges
 * will, and says whether its certificate is one Moat should trust. The access code is sent only after the
 * certificate passed, so testing against an impostor does not hand it the code.
 */

export interface CertificateCheck {
  policy: 'bbl-ca' | 'pinned' | 'test-ca';
  /** SHA-256, colon-separated upper-case hex; for `pinned`. */
  fingerprint?: string;
  /** PEM file; for `test-ca`. */
  caFile?: string;
}

export interface ConnectionTestInput {
  address: string;
  serial: string;
  accessCode: string;
  mqttPort: number;
  ftpPort: number;
  certificate: CertificateCheck;
  timeoutMs?: number;
}

export interface CertificateVerdict {
  trusted: boolean;
  /** Why, in the owner's words. */
  detail: string;
  fingerprint?: string;
  commonName?: string;
  issuer?: string;
}

export interface ServiceVerdict {
  ok: boolean;
  detail: string;
}

export interface ConnectionTestResult {
  certificate: CertificateVerdict;
  mqtt: ServiceVerdict;
  ftp: ServiceVerdict;
}

function trustAnchors(check: CertificateCheck): string | undefined {
  if (check.policy === 'bbl-ca') return readFileSync(bblCaBundlePath, 'utf8');
  if (check.policy === 'test-ca' && check.caFile) return readFileSync(check.caFile, 'utf8');
  return undefined;
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Judges the certificate a TLS socket was shown against the printer's certificate policy. */
export function judgeCertificate(socket: TLSSocket, serial: string, check: CertificateCheck): CertificateVerdict {
  const cert: PeerCertificate = socket.getPeerCertificate();
  const seen = {
    fingerprint: cert.fingerprint256,
    ...(firstValue(cert.subject?.CN) !== undefined && { commonName: firstValue(cert.subject?.CN) }),
    ...(firstValue(cert.issuer?.CN) !== undefined && { issuer: firstValue(cert.issuer?.CN) }),
  };
  if (check.policy === 'pinned') {
    return check.fingerprint !== undefined && cert.fingerprint256 === check.fingerprint
      ? { trusted: true, detail: 'The printer showed the certificate you chose to trust.', ...seen }
      : { trusted: false, detail: 'The printer showed a different certificate than the one you trusted.', ...seen };
  }
  const signer = check.policy === 'bbl-ca' ? 'Bambu Lab' : 'the test CA';
  if (!socket.authorized)
    return { trusted: false, detail: `The printer's certificate is not signed by ${signer}.`, ...seen };
  if (seen.commonName !== serial)
    return { trusted: false, detail: `The certificate belongs to printer ${seen.commonName}, not ${serial}.`, ...seen };
  return { trusted: true, detail: `Signed by ${signer} for printer ${serial}.`, ...seen };
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

/**
 * TLS options that leave the verdict to judgeCertificate: a pinned certificate chains to nothing, and a
 * printer's certificate names its serial, never its address, so Node's host name check must not run
 * (it would mark even a genuine printer unauthorised).
 */
function verifyByPolicy(check: CertificateCheck) {
  const ca = trustAnchors(check);
  return { ...(ca !== undefined && { ca }), rejectUnauthorized: false, checkServerIdentity: () => undefined };
}

function openTls(input: ConnectionTestInput, port: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: input.address,
      port,
      ...printerClientTlsOptions(),
      ...verifyByPolicy(input.certificate),
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
      ...printerClientTlsOptions(),
      ...verifyByPolicy(input.certificate),
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
