import type { RunningService, ServiceContext } from '../service-context.js';
import type { FirewallStatus } from '../status.js';

export interface FirewallService extends RunningService {
  status(): Promise<FirewallStatus>;
}

/** Applies Moat's nftables table and keeps it applied. (Placeholder until the firewall work lands.) */
export async function startFirewall(ctx: ServiceContext): Promise<FirewallService> {
  ctx.logger.warn('firewall not implemented yet');
  const status: FirewallStatus = { enabled: false, applied: false, problems: [], counters: {}, cloudAccess: false };
  return { status: async () => status, close: async () => {} };
}
