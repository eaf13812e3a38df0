import type { SimulatedNotifyOptions, SimulatedService } from './types.js';

/** The printer's NOTIFY announcements. (Placeholder until the discovery work lands.) */
export async function startNotifier(_options: SimulatedNotifyOptions): Promise<SimulatedService> {
  throw new Error('simulated NOTIFY not implemented yet');
}
