import type { RunningService, ServiceContext } from '../service-context.js';

/** Re-announces the printer's NOTIFY on the LAN. (Placeholder until the network work lands.) */
export async function startDiscoveryRelay(_ctx: ServiceContext): Promise<RunningService> {
  return { close: async () => {} };
}
