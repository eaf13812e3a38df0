import { randomBytes } from 'node:crypto';
import type { Server, TlsOptions } from 'node:tls';

/**
 * TLS session state shared by an FTP server's control listener and every data listener it opens, so a
 * data connection can resume the control connection's session — what vsFTPd's require_ssl_reuse demands
 * and what FTPS clients (curl, lftp, basic-ftp, slicers) do. Two mechanisms, both covered:
 * - session tickets (TLS 1.2 tickets, TLS 1.3 PSK tickets): every server gets the same ticket keys;
 * - TLS 1.2 session ids: a bounded in-memory cache fed by `newSession` and read by `resumeSession`.
 */
export class TlsSessionCache {
  private readonly ticketKeys = randomBytes(48);
  private readonly sessions = new Map<string, Buffer>();

  constructor(private readonly maxSessions = 1024) {}

  /** Options to merge into each server's TLS options. */
  serverOptions(): Pick<TlsOptions, 'ticketKeys'> {
    return { ticketKeys: this.ticketKeys };
  }

  /** Lets `server` store and resume session ids through this cache. */
  attach(server: Server): void {
    server.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
      // Oldest first out: a Map iterates in insertion order.
      if (this.sessions.size >= this.maxSessions) this.sessions.delete(this.sessions.keys().next().value as string);
      this.sessions.set(id.toString('hex'), data);
      done();
    });
    server.on('resumeSession', (id: Buffer, done: (error: Error | null, data: Buffer | null) => void) => {
      // OpenSSL checks the stored session's own lifetime when it resumes it.
      done(null, this.sessions.get(id.toString('hex')) ?? null);
    });
  }
}
