import type { SimulatedMqttOptions, SimulatedService } from './types.js';

/** The printer's MQTT broker. (Placeholder until the MQTT work lands.) */
export async function startSimulatedMqtt(_options: SimulatedMqttOptions): Promise<SimulatedService> {
  throw new Error('simulated MQTT not implemented yet');
}
