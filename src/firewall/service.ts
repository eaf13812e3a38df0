import type { Capability } from '../capability.js';
import type { MoatConfig } from '../config/schema.js';
import type { RunningService, ServiceContext } from '../service-context.js';
import type { FirewallStatus } from '../status.js';
import { appliedRecordFile, applyFirewall, checkFirewall, dropCounters, droppedPorts } from './manager.js';
import { listTable } from './nft.js';

export interface FirewallService extends RunningService {
  status(): Promise<FirewallStatus>;
}

/**
 * Applies Moat's nftables table at start and again on every configuration change. Fails closed: when the
 * table cannot be applied, this throws and the composition root opens no bridge, unless in development mode.
 * Stopping Moat leaves the table in place (a stopped Moat must not open the printer); `moat firewall remove`
 * takes it away.
 */
async function startFirewall(ctx: ServiceContext): Promise<FirewallService> {
  const appliedFile = appliedRecordFile(ctx.paths);
  let lastError: string | undefined;
  let applied = false;

  const apply = async (config: MoatConfig): Promise<void> => {
    if (!config.firewall.enabled) {
      ctx.logger.warn('firewall disabled in the configuration: the printer segment is not protected by Moat');
      applied = false;
      return;
    }
    const problems = await applyFirewall(config, appliedFile);
    applied = true;
    lastError = undefined;
    if (problems.length > 0) ctx.logger.error({ problems }, 'firewall applied but differs from the configuration');
    else ctx.logger.info({ cloudAccess: config.firewall.cloudAccess }, 'firewall applied');
  };

  try {
    await apply(ctx.config.get());
  } catch (error) {
    lastError = (error as Error).message;
    if (!ctx.developmentMode) throw new Error(`firewall could not be applied, refusing to start: ${lastError}`);
    ctx.logger.warn({ reason: lastError }, 'firewall not applied (development mode: continuing without it)');
  }

  // Changes are applied one after another, in the order they were made.
  let queue = Promise.resolve();
  const onChange = (config: MoatConfig) => {
    queue = queue.then(() =>
      apply(config).catch((error: unknown) => {
        // nft -f is one transaction: on failure the previous table stays in force.
        lastError = (error as Error).message;
        ctx.logger.error({ reason: lastError }, 'firewall re-apply failed; the previous table stays in force');
      }),
    );
  };
  ctx.config.on('change', onChange);

  return {
    async status() {
      await queue;
      const config = ctx.config.get();
      const base = { enabled: config.firewall.enabled, cloudAccess: config.firewall.cloudAccess };
      const none = { counters: {}, droppedPorts: [] };
      if (!config.firewall.enabled) return { ...base, applied: false, problems: [], ...none };
      try {
        const problems = await checkFirewall(config, appliedFile);
        const live = await listTable();
        return {
          ...base,
          applied: applied && problems.length === 0,
          problems: lastError ? [lastError, ...problems] : problems,
          counters: dropCounters(live),
          droppedPorts: droppedPorts(live),
        };
      } catch (error) {
        return { ...base, applied: false, problems: [(error as Error).message], ...none };
      }
    },
    async close() {
      ctx.config.off('change', onChange);
      await queue;
    },
  };
}

export const firewall: Capability<FirewallService> = { name: 'firewall', start: startFirewall };
