import type { AuditEvent, ClientEvent } from '../events.js';
import type { RunningService, ServiceContext } from '../service-context.js';
import type { AuditQuery, PrinterStatus } from '../status.js';

export interface MqttBridge extends RunningService {
  /** The bound LAN port (useful when configured as 0 in tests). */
  port: number;
  printers(): PrinterStatus[];
  clients(): ClientEvent[];
  audit(query: AuditQuery): Promise<AuditEvent[]>;
}

/** The LAN MQTT bridge. (Placeholder until the MQTT work lands.) */
export async function startMqttBridge(ctx: ServiceContext): Promise<MqttBridge> {
  ctx.logger.warn('MQTT bridge not implemented yet');
  return { port: 0, printers: () => [], clients: () => [], audit: async () => [], close: async () => {} };
}
