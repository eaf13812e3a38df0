import type { RunningService, ServiceContext } from '../service-context.js';
import type { StatusSources } from '../status.js';

export interface WebServer extends RunningService {
  httpsPort: number;
  httpPort: number;
}

/** Setup page and dashboard over HTTPS. (Placeholder until the web work lands.) */
export async function startWeb(ctx: ServiceContext, _status: StatusSources): Promise<WebServer> {
  ctx.logger.warn('setup page not implemented yet');
  return { httpsPort: 0, httpPort: 0, close: async () => {} };
}
