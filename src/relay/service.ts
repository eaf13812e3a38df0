import type { RunningService, ServiceContext } from '../service-context.js';

/** TCP relays (camera, file tunnel, bind) and passthrough. (Placeholder until the network work lands.) */
export async function startRelays(_ctx: ServiceContext): Promise<RunningService> {
  return { close: async () => {} };
}
