/** The retained `moat/{serial}/availability` message: `online` while Moat holds a printer connection. */
export function availabilityPacket(serial: string, online: boolean) {
  return {
    cmd: 'publish' as const,
    topic: `moat/${serial}/availability`,
    payload: Buffer.from(online ? 'online' : 'offline'),
    qos: 1 as const,
    retain: true,
    dup: false,
  };
}
