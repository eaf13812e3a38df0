import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Browser sessions, kept in memory (a restart logs everyone out, which is fine for an appliance). The
 * cookie carries a random id and an HMAC of it under the session key, so a forged or guessed id is
 * rejected before any lookup. Each session has its own CSRF token, sent back in a header on every
 * state-changing request. Sessions die after the configured idle time.
 */
export interface Session {
  id: string;
  csrfToken: string;
  authenticated: boolean;
  lastSeen: number;
}

/** `__Host-` makes the browser insist on Secure, Path=/ and no Domain. */
export const sessionCookieName = '__Host-moat-session';
const maxSessions = 1000;

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly key: Buffer,
    private readonly idleMs: () => number,
  ) {}

  create(authenticated: boolean): Session {
    this.sweep();
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      csrfToken: randomBytes(32).toString('base64url'),
      authenticated,
      lastSeen: Date.now(),
    };
    this.sessions.set(session.id, session);
    // Unauthenticated sessions are cheap to make; bound them so nobody can fill memory.
    while (this.sessions.size > maxSessions) this.sessions.delete(this.sessions.keys().next().value as string);
    return session;
  }

  /** The live session a cookie value names, touched; undefined when forged, unknown or idle too long. */
  fromCookie(value: string | undefined): Session | undefined {
    if (!value) return undefined;
    const dot = value.indexOf('.');
    if (dot <= 0) return undefined;
    const id = value.slice(0, dot);
    const mac = Buffer.from(value.slice(dot + 1), 'base64url');
    const expected = this.sign(id);
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    if (Date.now() - session.lastSeen > this.idleMs()) {
      this.sessions.delete(id);
      return undefined;
    }
    session.lastSeen = Date.now();
    return session;
  }

  /** True while the session exists and is not idle too long; does not count as activity. */
  isLive(session: Session): boolean {
    return this.sessions.get(session.id) === session && Date.now() - session.lastSeen <= this.idleMs();
  }

  cookieValue(session: Session): string {
    return `${session.id}.${this.sign(session.id).toString('base64url')}`;
  }

  destroy(session: Session): void {
    this.sessions.delete(session.id);
  }

  /** Ends every other authenticated session (after a password change, made in `keep`). */
  destroyOtherAuthenticated(keep: Session): void {
    for (const [id, session] of this.sessions) if (session.authenticated && session !== keep) this.sessions.delete(id);
  }

  checkCsrf(session: Session | undefined, token: unknown): boolean {
    if (!session || typeof token !== 'string') return false;
    const a = Buffer.from(token);
    const b = Buffer.from(session.csrfToken);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private sign(id: string): Buffer {
    return createHmac('sha256', this.key).update(id).digest();
  }

  private sweep(): void {
    const cutoff = Date.now() - this.idleMs();
    for (const [id, session] of this.sessions) if (session.lastSeen < cutoff) this.sessions.delete(id);
  }
}

/** `Set-Cookie` for a session: HttpOnly (no script reads it), Secure, SameSite=Strict. */
export function sessionCookie(value: string): string {
  return `${sessionCookieName}=${value}; Path=/; HttpOnly; Secure; SameSite=Strict`;
}

export function expiredSessionCookie(): string {
  return `${sessionCookieName}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0`;
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
