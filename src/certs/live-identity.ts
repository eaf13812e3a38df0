import type { Server, TlsOptions } from 'node:tls';
import type { ServerIdentity } from './store.js';

/**
 * The server identity of a running Moat and the LAN listeners that present it. When the identity is
 * re-issued (a printer added in the wizard, a new hostname or LAN address), each listener gets a new secure
 * context: connections made from then on see the new certificate, connections already open carry on with the
 * one they have.
 */
export class LiveIdentity {
  private readonly listeners = new Map<Server, (identity: ServerIdentity) => TlsOptions>();

  constructor(private current: ServerIdentity) {}

  get identity(): ServerIdentity {
    return this.current;
  }

  /** `options` builds the listener's full TLS options from an identity (a new context replaces them all). */
  follow(server: Server, options: (identity: ServerIdentity) => TlsOptions): void {
    this.listeners.set(server, options);
    server.once('close', () => this.listeners.delete(server));
  }

  /** Presents `next` from now on; false when it is the certificate already presented. */
  replace(next: ServerIdentity): boolean {
    if (next.certPem === this.current.certPem && next.keyPem === this.current.keyPem) return false;
    this.current = next;
    for (const [server, options] of this.listeners) server.setSecureContext(options(next));
    return true;
  }
}
