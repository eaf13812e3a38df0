import type { SimulatedFtpOptions, SimulatedService } from './types.js';

/** The printer's FTP server. (Placeholder until the FTP work lands.) */
export async function startSimulatedFtp(_options: SimulatedFtpOptions): Promise<SimulatedService> {
  throw new Error('simulated FTP not implemented yet');
}
