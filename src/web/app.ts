import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import helmet from 'helmet';
import type { MetricsCollector } from '../metrics/collector.js';
import type { ServiceContext } from '../service-context.js';
import type { StatusSources } from '../status.js';
import { raucOptionsFromEnv } from '../update/rauc.js';
import { WifiControl } from '../wifi/wifi.js';
import { authRoutes, loadSession, requireCsrf, requireLogin } from './auth-routes.js';
import { dashboardRoutes } from './dashboard-routes.js';
import { errorHandler, UserError } from './http.js';
import { metricsEndpoint } from './metrics-routes.js';
import type { PrinterFinder } from './printer-finder.js';
import type { SessionStore } from './sessions.js';
import { setupRoutes } from './setup-routes.js';
import { healthReader } from './system-health.js';
import { updateRouteOptions, updateRoutes } from './update-routes.js';

/**
 * The setup page and dashboard as an express application. server.ts imports this module at the first HTTPS
 * request: express, helmet, the routes and node-wifi cost an idle Moat memory that a setup page nobody opens
 * does not need (docs/benchmarks.md). What must outlive a request or exist from the start (sessions, the
 * printer finder, the metrics collector) is made by server.ts and handed in.
 */
export interface WebParts {
  sessions: SessionStore;
  finder: PrinterFinder;
  metrics: MetricsCollector;
}

const publicDir = join(dirname(fileURLToPath(import.meta.url)), 'public');

function securityHeaders() {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    referrerPolicy: { policy: 'no-referrer' },
  });
}

export function webApp(ctx: ServiceContext, status: StatusSources, parts: WebParts): express.Express {
  const { sessions, finder } = parts;
  // The built-in radio (wlan0) serves the printer segment; joining a Wi-Fi LAN takes a second one, so never
  // let NetworkManager pick wlan0 for the client side.
  const lanInterface = ctx.config.get().lan.interface;
  const wifi = new WifiControl({ iface: lanInterface.startsWith('wl') ? lanInterface : 'wlan1' });
  const metrics = metricsEndpoint(ctx, parts.metrics);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(securityHeaders());
  app.get('/metrics', metrics.scrape);
  const api = express.Router();
  api.use(express.json({ limit: '16kb' }));
  api.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  api.use(loadSession(sessions));
  api.use(authRoutes(ctx, sessions));
  api.use(requireLogin, requireCsrf(sessions));
  api.use(dashboardRoutes(ctx, status, sessions, healthReader()));
  api.use(setupRoutes(ctx, status, finder, wifi));
  api.use(metrics.settings);
  api.use(updateRoutes(ctx, updateRouteOptions(ctx, raucOptionsFromEnv())));
  api.use((_req, _res, next) => next(new UserError(404, 'No such page.')));
  app.use('/api', api);
  app.use(express.static(publicDir, { index: 'index.html', fallthrough: true }));
  app.use(errorHandler(ctx.logger));
  return app;
}
