import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { Client, FTPError } from 'basic-ftp';
import { certificateProblem, printerTlsOptions } from '../certs/printer-certificate.js';
import { type PrinterConfig, printerFtpPort } from '../config/schema.js';
import type { Logger } from '../log.js';

/** Bytes a printer data socket may queue before it asks the relay to wait. */
const socketBufferBytes = 256 * 1024;

/**
 * One LAN session's control connection to the printer, through basic-ftp: implicit FTPS (TLS 1.2, data
 * connections resume the control session) or plain FTP for legacy printers. basic-ftp runs one task at
 * a time, so tasks are queued; a failed connection is dropped and the next task reconnects.
 */
export interface PrinterFtpTarget {
  printer: PrinterConfig;
  accessCode: string;
  timeoutMs: number;
}

/** The printer's own refusal (an FTP reply of 5xx), as opposed to a printer that could not be reached. */
export function refusedByPrinter(error: unknown): error is FTPError {
  return error instanceof FTPError && error.code >= 500;
}

export class PrinterSession {
  private client: Client | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly target: PrinterFtpTarget,
    private readonly logger: Logger,
  ) {}

  /**
   * Runs `task` after every earlier task, on a connected client. A `cleanup` task (removing a partial
   * upload) still runs after close(): the LAN client leaving is exactly when it is needed.
   */
  run<T>(task: (client: Client) => Promise<T>, options: { cleanup?: boolean } = {}): Promise<T> {
    const result = this.queue.then(async () => {
      if (this.closed && !options.cleanup) throw new Error('printer session closed');
      const client = await this.connected();
      try {
        return await task(client);
      } catch (error) {
        // A broken or timed-out connection is not reused; an FTP error reply (550, ...) leaves it usable.
        if (client.closed || !(typeof (error as { code?: unknown }).code === 'number')) this.drop(client);
        throw error;
      } finally {
        if (this.closed) this.drop(client);
      }
    });
    this.queue = result.catch(() => {});
    return result;
  }

  /** Cuts the connection at once: an in-flight transfer fails and the next task reconnects. */
  abort(): void {
    if (this.client) this.drop(this.client);
  }

  close(): void {
    this.closed = true;
    this.abort();
  }

  private drop(client: Client): void {
    client.close();
    if (this.client === client) this.client = undefined;
  }

  private async connected(): Promise<Client> {
    if (this.client && !this.client.closed) return this.client;
    const { printer, accessCode, timeoutMs } = this.target;
    const host = printer.address;
    const port = printerFtpPort(printer);
    const client = new Client(timeoutMs);
    try {
      if (printer.ftp.transport === 'tls') {
        // basic-ftp opens each data connection with these options too. The socket's own 16 KiB default
        // would have the relay pause and resume the LAN side for every TLS record; a larger one lets
        // writes to the printer batch up (measured in bench/ftp-throughput).
        // (tls.connect hands `highWaterMark` to the socket; @types/node does not list it.)
        const options: ConnectionOptions & { highWaterMark: number } = {
          ...printerTlsOptions(printer),
          highWaterMark: socketBufferBytes,
        };
        await client.connectImplicitTLS(host, port, options);
        // The same certificate policy as the MQTT side, checked before the access code is sent.
        const problem = certificateProblem(client.ftp.socket as TLSSocket, printer);
        if (problem) throw new Error(`printer certificate refused: ${problem}`);
      } else {
        await client.connect(host, port);
      }
      await client.login('bblp', accessCode);
      await client.useDefaultSettings();
    } catch (error) {
      client.close();
      this.logger.warn({ err: (error as Error).message, host, port }, 'printer FTP connection failed');
      throw error;
    }
    this.client = client;
    return client;
  }
}
