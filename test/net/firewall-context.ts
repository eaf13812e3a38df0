import { ConfigHolder } from '../../src/config/holder.js';
import type { StatePaths } from '../../src/config/state-dir.js';
import { MoatEvents } from '../../src/events.js';
import { silentLogger } from '../../src/log.js';
import type { ServiceContext } from '../../src/service-context.js';

/** The part of a ServiceContext the firewall reads; the rest throws if touched, so a test cannot lean on it. */
export function firewallContext(paths: StatePaths, developmentMode: boolean): ServiceContext {
  const partial = {
    paths,
    config: new ConfigHolder(paths),
    logger: silentLogger(),
    events: new MoatEvents(),
    developmentMode,
  };
  return new Proxy(partial, {
    get(target, key) {
      if (key in target) return target[key as keyof typeof target];
      if (key === 'then') return undefined;
      throw new Error(`the firewall does not use ctx.${String(key)}`);
    },
  }) as unknown as ServiceContext;
}
