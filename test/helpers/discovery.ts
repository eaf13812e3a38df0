import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import type { MoatConfig } from '../../src/config/schema.js';

/** A LAN-side listener on loopback collecting what Moat re-announces; closed when the test ends. */
export async function listenForAnnouncements(t: TestContext): Promise<{ port: number; announcements: Buffer[] }> {
  const listener = createSocket('udp4');
  t.after(() => listener.close());
  listener.bind(0, '127.0.0.1');
  await once(listener, 'listening');
  const announcements: Buffer[] = [];
  listener.on('message', (m) => announcements.push(m));
  return { port: listener.address().port, announcements };
}

/** Discovery on, re-announcing to the listener's port; Moat's LAN address 127.0.0.2, so `Location` shows it. */
export function announcingTo(config: MoatConfig, port: number): MoatConfig {
  return {
    ...config,
    lan: { ...config.lan, addresses: ['127.0.0.2'] },
    discovery: { ...config.discovery, enabled: true, announceAddress: '127.0.0.1', announcePort: port },
  };
}
