import { type Request, type Response, Router } from 'express';
import { printerLinkName } from '../appliance/printer-addresses.js';
import { awaitingLease, serialPattern } from '../config/schema.js';
import { object, oneOf, optional, str } from '../config/validate.js';
import type { ServiceContext } from '../service-context.js';
import type { AuditQuery, PrinterStatus, StatusSources } from '../status.js';
import type { DashboardSnapshot, PrinterSummary, SystemHealth } from './api-types.js';
import { currentSession } from './auth-routes.js';
import { UserError, validate } from './http.js';
import type { SessionStore } from './sessions.js';

/** The dashboard's API: one snapshot, the audit log, and a server-sent event stream of both. */

/** The few state fields the dashboard shows, so a large printer report is not sent on every tick. */
const shownStateFields = [
  'gcode_state',
  'mc_percent',
  'mc_remaining_time',
  'subtask_name',
  'layer_num',
  'total_layer_num',
  'wifi_signal',
  'nozzle_temper',
  'bed_temper',
] as const;

function printerSummaries(ctx: ServiceContext, status: StatusSources): PrinterSummary[] {
  const live = new Map<string, PrinterStatus>(status.printers().map((p) => [p.serial, p]));
  // Configured printers always appear, offline until the bridge reports them.
  return ctx.config.get().printers.map((printer) => {
    const seen = live.get(printer.serial);
    const state: Record<string, unknown> = {};
    for (const field of shownStateFields) if (seen?.state?.[field] !== undefined) state[field] = seen.state[field];
    return {
      serial: printer.serial,
      name: printer.name || seen?.name || '',
      model: printer.model,
      online: seen?.online ?? false,
      state,
      ...(seen?.lastReportAt && { lastReportAt: seen.lastReportAt }),
      ...(printer.lanAddress !== undefined && { lanAddress: printer.lanAddress }),
      ...(awaitingLease(printer) && { waitingForLease: printerLinkName(printer.serial) }),
    };
  });
}

export async function snapshot(ctx: ServiceContext, status: StatusSources): Promise<DashboardSnapshot> {
  return {
    printers: printerSummaries(ctx, status),
    clients: status.clients(),
    transfers: status.transfers(),
    firewall: await status.firewall(),
    at: new Date().toISOString(),
  };
}

const auditInput = object({
  limit: optional(str({ pattern: /^\d{1,4}$/ })),
  serial: optional(str({ pattern: serialPattern })),
  label: optional(str({ min: 1, max: 64 })),
  outcome: optional(oneOf(['allowed', 'refused', 'dropped', 'held'] as const)),
});

/** Print progress and transfer bytes change continuously, not by event: a fresh snapshot this often. */
const snapshotIntervalMs = 1000;
const healthIntervalMs = 5000;

function auditQuery(req: Request): AuditQuery {
  const input = validate(
    auditInput,
    { ...(req.query as Record<string, unknown>) },
    {
      limit: 'Show between 1 and 1000 entries.',
      serial: 'Choose a printer from the list.',
      label: 'A label has at most 64 characters.',
      outcome: 'Choose allowed, refused or dropped.',
    },
  );
  const limit = input.limit === undefined ? 200 : Number(input.limit);
  if (limit < 1 || limit > 1000) throw new UserError(400, 'Show between 1 and 1000 entries.', 'limit');
  return {
    limit,
    ...(input.serial && { serial: input.serial }),
    ...(input.label && { label: input.label }),
    ...(input.outcome && { outcome: input.outcome }),
  };
}

export function dashboardRoutes(
  ctx: ServiceContext,
  status: StatusSources,
  sessions: SessionStore,
  health: () => Promise<SystemHealth>,
): Router {
  const router = Router();

  router.get('/overview', async (_req, res) => {
    res.json(await snapshot(ctx, status));
  });

  router.get('/health', async (_req, res) => {
    res.json(await health());
  });

  router.get('/audit', async (req, res) => {
    res.json({ entries: await status.audit(auditQuery(req)) });
  });

  router.get('/events', (_req: Request, res: Response) => {
    const session = currentSession(res);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
    });
    res.write('retry: 3000\n\n');
    let closed = false;
    const send = (event: string, data: unknown) => {
      if (!closed) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    let pending: NodeJS.Timeout | undefined;
    const sendSnapshot = () => {
      pending = undefined;
      // The stream lives no longer than the session: an idle or logged-out page stops receiving.
      if (!session || !sessions.isLive(session)) {
        send('expired', {});
        res.end();
        return;
      }
      snapshot(ctx, status).then(
        (data) => send('snapshot', data),
        (error: unknown) => ctx.logger.warn({ err: error }, 'dashboard snapshot failed'),
      );
    };
    const sendHealth = () => {
      health().then(
        (data) => send('health', data),
        (error: unknown) => ctx.logger.warn({ err: error }, 'system health reading failed'),
      );
    };
    // Events arrive in bursts (a transfer reports often): coalesce them into one snapshot.
    const soon = () => {
      pending ??= setTimeout(sendSnapshot, 150);
    };
    const onAudit = (entry: unknown) => send('audit', entry);
    ctx.events.on('client', soon);
    ctx.events.on('transfer', soon);
    ctx.events.on('printer', soon);
    ctx.events.on('audit', onAudit);
    const ticker = setInterval(sendSnapshot, snapshotIntervalMs);
    const healthTicker = setInterval(sendHealth, healthIntervalMs);
    sendSnapshot();
    sendHealth();
    res.on('close', () => {
      closed = true;
      clearInterval(ticker);
      clearInterval(healthTicker);
      clearTimeout(pending);
      ctx.events.off('client', soon);
      ctx.events.off('transfer', soon);
      ctx.events.off('printer', soon);
      ctx.events.off('audit', onAudit);
    });
  });

  return router;
}
