import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import type { MoatConfig } from '../../src/config/schema.js';
import { type StatePaths, statePaths } from '../../src/config/state-dir.js';
import { saveConfig } from '../../src/config/store.js';
import { type Logger, silentLogger } from '../../src/log.js';
import { type RunningMoat, startMoat } from '../../src/service.js';
import type { Harness } from '../helpers/harness.js';
import { run } from '../helpers/process.js';
import { loopbackConfig } from '../helpers/test-config.js';

/**
 * A fresh, unclaimed Moat on loopback (ephemeral ports, temp state dir), plus the real clients the web
 * tests drive it with: curl for raw HTTP, headless Debian Chromium through playwright-core.
 */
export interface FreshMoat {
  dir: string;
  paths: StatePaths;
  moat: RunningMoat;
  baseUrl: string;
  httpPort: number;
  caFile: string;
  claimFile: string;
  /** The claim code, read from the claim file like an owner would. */
  claimCode(): string;
  close(): Promise<void>;
}

/** The claim code from the claim file, read the way an owner reads it off the card. */
export function readClaimCode(claimFile: string): string {
  return /claim code:\s*(\S+)/i.exec(readFileSync(claimFile, 'utf8'))?.[1] ?? '';
}

export async function startFreshMoat(
  configure?: (config: MoatConfig) => MoatConfig,
  logger: Logger = silentLogger(),
): Promise<FreshMoat> {
  const dir = mkdtempSync(join(tmpdir(), 'moat-web-'));
  const paths = statePaths(join(dir, 'state'));
  let config = loopbackConfig(dir);
  const claimFile = config.web.claimFile;
  if (configure) config = configure(config);
  saveConfig(paths, config);
  let moat: RunningMoat;
  try {
    moat = await startMoat({ paths, developmentMode: true, logger });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    dir,
    paths,
    moat,
    baseUrl: `https://127.0.0.1:${moat.web.httpsPort}`,
    httpPort: moat.web.httpPort,
    caFile: paths.caCert,
    claimFile,
    claimCode: () => readClaimCode(claimFile),
    close: async () => {
      await moat.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface CurlResult {
  status: number;
  headers: Record<string, string[]>;
  body: string;
}

/** Runs curl against Moat (its CA trusted) and parses status, headers and body. */
export async function curl(
  moat: Pick<FreshMoat, 'caFile' | 'baseUrl'>,
  path: string,
  args: string[] = [],
): Promise<CurlResult> {
  const result = await run('curl', [
    ...['-sS', '-i', '--cacert', moat.caFile, '--max-time', '20', ...args, `${moat.baseUrl}${path}`],
  ]);
  if (result.code !== 0) throw new Error(`curl ${path} failed (${result.code}): ${result.stderr}`);
  const stdout = result.stdout;
  const split = stdout.indexOf('\r\n\r\n');
  const head = stdout.slice(0, split).split('\r\n');
  const headers: Record<string, string[]> = {};
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    headers[name] = [...(headers[name] ?? []), line.slice(colon + 1).trim()];
  }
  return { status: Number(head[0]?.split(' ')[1]), headers, body: stdout.slice(split + 4) };
}

/** An API request as the page sends it: the session's cookie, its CSRF token when it has one, a JSON body. */
export function apiRequest(
  moat: Pick<FreshMoat, 'caFile' | 'baseUrl'>,
  session: { cookie: string; csrf?: string },
  method: string,
  path: string,
  body?: unknown,
  extra: string[] = [],
): Promise<CurlResult> {
  return curl(moat, path, [
    ...['-X', method, '-H', `Cookie: ${session.cookie}`, '-H', 'Content-Type: application/json'],
    ...(session.csrf ? ['-H', `X-CSRF-Token: ${session.csrf}`] : []),
    ...(body !== undefined ? ['--data', JSON.stringify(body)] : []),
    ...extra,
  ]);
}

/** A new anonymous session: its cookie and CSRF token. */
export async function anonymousSession(
  moat: Pick<FreshMoat, 'caFile' | 'baseUrl'>,
): Promise<{ cookie: string; csrf: string }> {
  const response = await curl(moat, '/api/session');
  const cookie = (response.headers['set-cookie']?.[0] ?? '').split(';')[0] ?? '';
  return { cookie, csrf: (JSON.parse(response.body) as { csrfToken: string }).csrfToken };
}

/**
 * Claims a fresh Moat as its owner would (a new session, then the claim code and a password) and returns the
 * owner's logged-in session: its cookie and CSRF token.
 */
export async function claimAsOwner(
  moat: Pick<FreshMoat, 'caFile' | 'baseUrl'>,
  code: string,
  password: string,
): Promise<{ cookie: string; csrf: string }> {
  const claimed = await apiRequest(moat, await anonymousSession(moat), 'POST', '/api/claim', { code, password });
  assert.equal(claimed.status, 200, claimed.body);
  return {
    cookie: (claimed.headers['set-cookie']?.[0] ?? '').split(';')[0] ?? '',
    csrf: (JSON.parse(claimed.body) as { csrfToken: string }).csrfToken,
  };
}

/** Gives the browser a session made with curl (`name=value` from Set-Cookie), as if it had logged in. */
export async function browserLogin(browser: Browser, baseUrl: string, cookie: string): Promise<void> {
  const eq = cookie.indexOf('=');
  const [name, value] = [cookie.slice(0, eq), cookie.slice(eq + 1)];
  await browser.context.addCookies([{ name, value, url: baseUrl, secure: true, httpOnly: true }]);
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors seen so far. */
  errors: string[];
  close(): Promise<void>;
}

/**
 * Headless Debian Chromium with a fresh profile. It trusts exactly Moat's server key (by SPKI hash), not
 * every certificate, so the Secure-cookie and HTTPS behaviour under test is the real one.
 */
export function openBrowser(moat: FreshMoat, viewport = { width: 1280, height: 900 }): Promise<Browser> {
  return launchBrowser(moat.moat.context.identity.certPem, { viewport });
}

/**
 * The same browser for a Moat given by its server certificate (PEM); `executablePath` may wrap Chromium,
 * e.g. to run it inside a network namespace.
 */
export async function launchBrowser(
  serverCertPem: string,
  { viewport = { width: 1280, height: 900 }, executablePath = '/usr/bin/chromium' } = {},
): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'moat-chromium-'));
  const spki = createHash('sha256')
    .update(new X509Certificate(serverCertPem).publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64');
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      viewport,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--ignore-certificate-errors-spki-list=${spki}`,
      ],
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return {
    context,
    page,
    errors,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Console errors other than the failed requests a test provoked on purpose (Chromium reports every
 * non-2xx answer to fetch on the console).
 */
export function unexpectedErrors(errors: string[], provokedStatuses: number[] = []): string[] {
  const provoked = new RegExp(
    `^Failed to load resource: the server responded with a status of (${provokedStatuses.join('|')}) `,
  );
  return errors.filter((e) => provokedStatuses.length === 0 || !provoked.test(e));
}

export const screenshotDir = join(process.cwd(), 'docs', 'screenshots');

/** The harness's Moat seen as the fresh Moat the browser helpers expect. */
export function asFreshMoat(h: Harness): FreshMoat {
  const moat = h.moat as NonNullable<Harness['moat']>;
  const claimFile = moat.context.config.get().web.claimFile;
  return {
    dir: h.dir,
    paths: h.paths,
    moat,
    baseUrl: `https://127.0.0.1:${moat.web.httpsPort}`,
    httpPort: moat.web.httpPort,
    caFile: h.moatCaFile,
    claimFile,
    claimCode: () => readClaimCode(claimFile),
    close: () => h.close(),
  };
}

/** Claims Moat through the page as its owner does: the claim code, then the admin password. */
export async function claimInBrowser(browser: Browser, moat: FreshMoat, password: string): Promise<void> {
  const { page } = browser;
  await page.goto(moat.baseUrl);
  await page.fill('#claim-code', moat.claimCode());
  await page.click('#claim-code-form button[type=submit]');
  await page.fill('#new-password', password);
  await page.fill('#confirm-password', password);
  await page.click('#claim-password-form button[type=submit]');
  await page.locator('#step-network').waitFor();
}
