import { type NextFunction, type Request, type Response, Router } from 'express';
import { hashSecret, verifySecret } from '../auth/access-codes.js';
import { type ClaimResult, checkClaimCode, claimDevice, isClaimed } from '../claim/claim.js';
import { readSecret, writeSecret } from '../config/secrets.js';
import { object, str } from '../config/validate.js';
import type { ServiceContext } from '../service-context.js';
import type { SessionInfo } from './api-types.js';
import { UserError, validate } from './http.js';
import {
  expiredSessionCookie,
  readCookie,
  type Session,
  type SessionStore,
  sessionCookie,
  sessionCookieName,
} from './sessions.js';

/**
 * Sessions, claim, login and the two guards every other route sits behind: authentication (401) and the
 * CSRF token on state-changing requests (403).
 */

const unsafeMethods = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function currentSession(res: Response): Session | undefined {
  return res.locals.session as Session | undefined;
}

/** Finds the request's session from its cookie (res.locals.session). */
export function loadSession(sessions: SessionStore) {
  return (req: Request, res: Response, next: NextFunction) => {
    res.locals.session = sessions.fromCookie(readCookie(req.headers.cookie, sessionCookieName));
    next();
  };
}

export function requireCsrf(sessions: SessionStore) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (unsafeMethods.has(req.method) && !sessions.checkCsrf(currentSession(res), req.get('x-csrf-token'))) {
      next(new UserError(403, 'This page is out of date or was opened elsewhere; reload it and try again.'));
      return;
    }
    next();
  };
}

export function requireLogin(_req: Request, res: Response, next: NextFunction) {
  if (!currentSession(res)?.authenticated) {
    next(new UserError(401, 'Please log in.'));
    return;
  }
  next();
}

const passwordInput = str({ min: 10, max: 256 });
const passwordHelp = { password: 'Choose an admin password of at least 10 characters.' };

interface AuthTools {
  throttled(req: Request, res: Response, check: () => Promise<boolean>): Promise<boolean>;
  startSession(res: Response, authenticated: boolean): Session;
  describe(session: Session): SessionInfo;
}

function authTools(ctx: ServiceContext, sessions: SessionStore): AuthTools {
  /**
   * Claim codes and passwords are checked behind the service's one login throttle (ctx.logins), so wrong
   * access codes on MQTT or FTPS count here too, and the reverse: each check waits the address's delay. Past
   * `web.loginAttempts` failures the page answers 429 at once until `web.loginWindowSeconds` have passed since
   * the last one, then allows one more check.
   */
  const throttled = async (req: Request, res: Response, check: () => Promise<boolean>): Promise<boolean> => {
    const address = req.socket.remoteAddress ?? '';
    const { loginAttempts, loginWindowSeconds } = ctx.config.get().web;
    const waitMs = ctx.logins.lockedFor(address, loginAttempts, loginWindowSeconds * 1000);
    if (waitMs > 0) {
      res.setHeader('Retry-After', String(Math.ceil(waitMs / 1000)));
      const minutes = Math.max(1, Math.ceil(waitMs / 60_000));
      throw new UserError(429, `Too many wrong attempts. Wait up to ${minutes} minute(s), then try again.`);
    }
    return ctx.logins.attempt(address, check, () => req.socket.destroyed);
  };

  const startSession = (res: Response, authenticated: boolean): Session => {
    const old = currentSession(res);
    if (old) sessions.destroy(old);
    // A fresh id on every change of privilege: a session id seen before login is worth nothing after.
    const session = sessions.create(authenticated);
    res.setHeader('Set-Cookie', sessionCookie(sessions.cookieValue(session)));
    res.locals.session = session;
    return session;
  };

  const describe = (session: Session): SessionInfo => ({
    authenticated: session.authenticated,
    claimed: isClaimed(ctx.paths),
    csrfToken: session.csrfToken,
    idleMinutes: ctx.config.get().web.sessionIdleMinutes,
  });
  return { throttled, startSession, describe };
}

export function authRoutes(ctx: ServiceContext, sessions: SessionStore): Router {
  const router = Router();
  const tools = authTools(ctx, sessions);
  router.get('/session', (_req, res) => {
    const session = currentSession(res) ?? tools.startSession(res, false);
    res.json(tools.describe(session));
  });
  claimRoutes(router, ctx, sessions, tools);
  passwordRoutes(router, ctx, sessions, tools);
  return router;
}

function claimRoutes(
  router: Router,
  ctx: ServiceContext,
  sessions: SessionStore,
  { throttled, startSession, describe }: AuthTools,
): void {
  router.post('/claim/check', requireCsrf(sessions), async (req, res) => {
    const { code } = validate(object({ code: str({ max: 64 }) }), req.body, { code: 'Enter the claim code.' });
    if (isClaimed(ctx.paths)) throw new UserError(409, 'This Moat is already set up. Log in with its password.');
    if (!(await throttled(req, res, () => checkClaimCode(ctx.paths, code))))
      throw new UserError(401, 'That claim code is not right. Copy it from moat-claim.txt or the console.');
    res.json({ ok: true });
  });

  router.post('/claim', requireCsrf(sessions), async (req, res) => {
    const input = validate(object({ code: str({ max: 64 }), password: passwordInput }), req.body, {
      ...passwordHelp,
      code: 'Enter the claim code.',
    });
    if (isClaimed(ctx.paths)) throw new UserError(409, 'This Moat is already set up. Log in with its password.');
    const claimFile = ctx.config.get().web.claimFile;
    let result: ClaimResult = { claimed: false };
    const claimed = await throttled(req, res, async () => {
      result = await claimDevice(ctx.paths, claimFile, input.code, input.password);
      return result.claimed;
    });
    if (!claimed || !result.claimed)
      throw new UserError(401, 'That claim code is not right. Copy it from moat-claim.txt or the console.');
    ctx.logger.info({ address: req.ip }, 'device claimed: admin password set, claim code retired');
    if (result.claimFileLeft)
      ctx.logger.warn(
        { claimFile, error: result.claimFileLeft },
        'the claim file could not be removed; its code is dead',
      );
    res.json(describe(startSession(res, true)));
  });
}

function passwordRoutes(
  router: Router,
  ctx: ServiceContext,
  sessions: SessionStore,
  { throttled, startSession, describe }: AuthTools,
): void {
  router.post('/login', requireCsrf(sessions), async (req, res) => {
    const { password } = validate(object({ password: str({ max: 256 }) }), req.body, passwordHelp);
    const stored = readSecret(ctx.paths, 'admin-password');
    if (!stored) throw new UserError(409, 'This Moat has not been claimed yet. Enter its claim code first.');
    if (!(await throttled(req, res, () => verifySecret(password, stored.trim())))) {
      ctx.logger.warn({ address: req.ip }, 'setup page login refused');
      ctx.events.emit('loginFailure', { service: 'web', address: req.ip ?? 'unknown' });
      throw new UserError(401, 'That password is not right.');
    }
    res.json(describe(startSession(res, true)));
  });

  router.post('/logout', requireCsrf(sessions), (_req, res) => {
    const session = currentSession(res);
    if (session) sessions.destroy(session);
    res.setHeader('Set-Cookie', expiredSessionCookie());
    res.json({ ok: true });
  });

  router.put('/password', requireLogin, requireCsrf(sessions), async (req, res) => {
    const input = validate(object({ current: str({ max: 256 }), password: passwordInput }), req.body, passwordHelp);
    const stored = readSecret(ctx.paths, 'admin-password') ?? '';
    if (!(await throttled(req, res, () => verifySecret(input.current, stored.trim()))))
      throw new UserError(401, 'The current password is not right.', 'current');
    writeSecret(ctx.paths, 'admin-password', await hashSecret(input.password));
    // The session that changed the password carries on (its open dashboard too); all others end.
    const session = currentSession(res) as Session;
    sessions.destroyOtherAuthenticated(session);
    res.json(describe(session));
  });
}
