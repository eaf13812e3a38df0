import { join } from 'node:path';
import { parseConfig } from '../../src/config/schema.js';

/**
 * The one builder of a Moat configuration for tests and benchmarks on loopback: every listener on 127.0.0.1
 * with a port the system chooses, no firewall, the claim file under the test's directory. What a test
 * passes is laid over it (`ports` and `web` field by field), then parsed like a configuration file.
 */
export function loopbackConfig(dir: string, extra: Record<string, unknown> & { ports?: object; web?: object } = {}) {
  return parseConfig({
    lan: { interface: 'lo', bindAddress: '127.0.0.1', addresses: ['127.0.0.1'] },
    firewall: { enabled: false },
    ...extra,
    ports: { mqtt: 0, ftps: 0, https: 0, http: 0, ...extra.ports },
    web: { claimFile: join(dir, 'boot', 'moat-claim.txt'), printerFinderPort: 0, ...extra.web },
  });
}

/**
 * What tests that start the bridges add: a random passive range, so consecutive tests do not meet each other's
 * lingering sockets (below Linux's ephemeral range, 32768-60999, where an outgoing connection's local port
 * could already hold it), and relays and discovery off their fixed ports (6000, 2021, …), which would collide.
 */
export function isolatedPorts(base = 20000, slots = 250) {
  const passiveMin = base + Math.floor(Math.random() * slots) * 50;
  return {
    ports: { passiveMin, passiveMax: passiveMin + 49 },
    relays: { ports: { rtsps: 0, tunnel: 0, bind: 0, bindTls: 0 } },
    discovery: { enabled: false, notifyPort: 0, multicastPort: 0, multicast: false },
  };
}
