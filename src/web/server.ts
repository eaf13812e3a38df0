import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Capability } from '../capability.js';
import { ensureClaimCode } from '../claim/claim.js';
import { readSecret, writeSecret } from '../config/secrets.js';
import { metricsCollector } from '../metrics/collector.js';
import { lanAddresses } from '../net/lan-addresses.js';
import type { RunningService, ServiceContext } from '../service-context.js';
import type { StatusSources } from '../status.js';
import { lanServerTlsOptions } from '../tls-profiles.js';
import type { WebParts } from './app.js';
import { handlerOnFirstRequest } from './on-first-request.js';
import { type PrinterFinder, startPrinterFinder } from './printer-finder.js';
import { SessionStore } from './sessions.js';

/** The web server also reads what the other capabilities report (the composition root joins it). */
export interface WebContext extends ServiceContext {
  status: StatusSources;
}

export interface WebServer extends RunningService {
  httpsPort: number;
  httpPort: number;
  /** UDP port listening for printers' NOTIFY. */
  printerFinderPort: number;
}

/** The session key signs session cookies; made once, kept as a secret so restarts keep it. */
function sessionKey(ctx: ServiceContext): Buffer {
  const stored = readSecret(ctx.paths, 'session-key');
  if (stored && /^[A-Za-z0-9_-]{43,}$/.test(stored.trim())) return Buffer.from(stored.trim(), 'base64url');
  const key = randomBytes(32);
  writeSecret(ctx.paths, 'session-key', key.toString('base64url'));
  return key;
}

function listen(server: HttpServer | HttpsServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: HttpServer | HttpsServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Event streams stay open forever; end them so close() returns.
    server.closeAllConnections();
  });
}

/** The claim code goes to a person at a terminal, never to the log. */
async function announceClaimCode(ctx: ServiceContext): Promise<void> {
  const config = ctx.config.get();
  const claim = await ensureClaimCode(ctx.paths, config.web.claimFile);
  if (claim) {
    // Without a terminal (under systemd, stderr is the journal, which is kept) only the file that holds it
    // is named; the appliance shows that file on its console above the login prompt.
    const where = `Open https://${config.hostname}.local and enter the claim code`;
    process.stderr.write(
      process.stderr.isTTY
        ? `\nMoat is not set up yet. Claim code: ${claim.code}\n${where} (also in ${config.web.claimFile}).\n\n`
        : `Moat is not set up yet. ${where} from ${config.web.claimFile}.\n`,
    );
  }
}

function startFinder(ctx: ServiceContext): Promise<PrinterFinder> {
  const config = ctx.config.get();
  // Moat's own addresses are ignored except on loopback (development), where the simulator shares them.
  // Without the finder the wizard still works (printer entered by address): a taken port is no reason to
  // keep the setup page down.
  return startPrinterFinder(
    config.web.printerFinderPort,
    ctx.developmentMode ? config.lan.bindAddress : '0.0.0.0',
    () => (ctx.developmentMode ? [] : lanAddresses(ctx.config.get())),
  ).catch((error: unknown): PrinterFinder => {
    ctx.logger.warn({ err: error, port: config.web.printerFinderPort }, 'cannot listen for printer NOTIFY');
    return { port: 0, found: () => [], close: async () => {} };
  });
}

/** Only the host name from the Host header, and only if it looks like one: never reflect anything else. */
function redirectToHttps(ctx: ServiceContext, httpsPort: () => number): HttpServer {
  return createHttpServer((req, res) => {
    const host = /^([A-Za-z0-9.-]{1,253})(:\d+)?$/.exec(req.headers.host ?? '')?.[1] ?? ctx.lanAddress();
    const port = httpsPort() === 443 ? '' : `:${httpsPort()}`;
    res.writeHead(301, { Location: `https://${host}${port}/`, 'Content-Length': '0' }).end();
  });
}

/** Setup page and dashboard over HTTPS; the HTTP port only redirects to it. */
async function startWeb(ctx: WebContext): Promise<WebServer> {
  const { status } = ctx;
  const config = ctx.config.get();
  await announceClaimCode(ctx);
  const sessions = new SessionStore(sessionKey(ctx), () => ctx.config.get().web.sessionIdleMinutes * 60_000);
  const finder = await startFinder(ctx);
  const metrics = metricsCollector(ctx, status);
  const parts: WebParts = { sessions, finder, metrics };
  const app = handlerOnFirstRequest(async () => (await import('./app.js')).webApp(ctx, status, parts), ctx.logger);

  const https = createHttpsServer(lanServerTlsOptions(ctx.identity), app);
  // Node ends any request not received whole within 300 s (408). An update bundle of a few hundred MB to a slow Pi
  // or over a slow link can take longer (under QEMU the setup page's upload of a 307 MB bundle was cut off so);
  // the headers must still arrive within headersTimeout, and the bundle route caps the size.
  https.requestTimeout = 30 * 60_000;
  ctx.followIdentity(https, lanServerTlsOptions);
  let httpsPort = 0;
  const httpServer = redirectToHttps(ctx, () => httpsPort);
  let httpPort: number;
  try {
    httpsPort = await listen(https, config.ports.https, config.lan.bindAddress);
    httpPort = await listen(httpServer, config.ports.http, config.lan.bindAddress);
  } catch (error) {
    await Promise.all([closeServer(https), closeServer(httpServer), finder.close()]);
    metrics.close();
    throw error;
  }
  ctx.logger.info({ httpsPort, httpPort }, 'setup page listening');
  return {
    httpsPort,
    httpPort,
    printerFinderPort: finder.port,
    close: async () => {
      await Promise.all([closeServer(https), closeServer(httpServer), finder.close()]);
      metrics.close();
    },
  };
}

export const web: Capability<WebServer, WebContext> = { name: 'web', start: startWeb };
