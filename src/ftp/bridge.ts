import type { TransferEvent } from '../events.js';
import type { RunningService, ServiceContext } from '../service-context.js';

export interface FtpBridge extends RunningService {
  port: number;
  transfers(): TransferEvent[];
}

/** The LAN FTPS bridge. (Placeholder until the FTP work lands.) */
export async function startFtpBridge(ctx: ServiceContext): Promise<FtpBridge> {
  ctx.logger.warn('FTPS bridge not implemented yet');
  return { port: 0, transfers: () => [], close: async () => {} };
}
