import { type Request, type Response, Router } from 'express';
import type { MetricsCollector } from '../metrics/collector.js';
import { checkMetricsToken, issueMetricsToken, metricsEnabled, revokeMetricsToken } from '../metrics/token.js';
import type { ServiceContext } from '../service-context.js';

/**
 * /metrics for Prometheus and Home Assistant, behind a bearer token, and the owner's switch for it under
 * /api/metrics (logged in). While metrics are off the page does not exist (404), so a scan learns nothing;
 * while on, a missing or wrong token gets 401 and counts as a login failure.
 */
export interface MetricsEndpoint {
  /** GET /metrics: outside the session-based API, authenticated by the token only. */
  scrape(req: Request, res: Response): Promise<void>;
  /** GET /api/metrics, POST and DELETE /api/metrics/token: behind requireLogin and the CSRF check. */
  settings: Router;
}

/** The routes over the collector that server.ts starts with the service (counting must not wait for a request). */
export function metricsEndpoint(ctx: ServiceContext, collector: MetricsCollector): MetricsEndpoint {
  const { start } = collector;
  const settings = Router();
  settings.get('/metrics', (_req, res) => {
    res.json({ enabled: metricsEnabled(ctx.paths) });
  });
  settings.post('/metrics/token', async (_req, res) => {
    await start();
    const token = issueMetricsToken(ctx.paths);
    ctx.logger.info('metrics token issued; any previous token no longer works');
    res.json({ enabled: true, token });
  });
  settings.delete('/metrics/token', (_req, res) => {
    revokeMetricsToken(ctx.paths);
    ctx.logger.info('metrics token revoked: /metrics is off');
    res.json({ enabled: false });
  });

  return {
    async scrape(req, res) {
      res.setHeader('Cache-Control', 'no-store');
      const presented = /^Bearer +(\S+)$/i.exec(req.get('authorization') ?? '')?.[1];
      const check = checkMetricsToken(ctx.paths, presented);
      if (check === 'off') {
        res.status(404).type('text/plain').send('Not found.\n');
        return;
      }
      if (check === 'refused') {
        ctx.events.emit('loginFailure', { service: 'metrics', address: req.ip ?? 'unknown' });
        res.status(401).setHeader('WWW-Authenticate', 'Bearer realm="moat metrics"');
        res.type('text/plain').send('A valid bearer token is required.\n');
        return;
      }
      const metrics = await start();
      const body = await metrics.render();
      res.status(200).type(metrics.contentType).send(body);
    },
    settings,
  };
}
