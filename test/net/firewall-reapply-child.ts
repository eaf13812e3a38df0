// Run by firewall-service.test.ts inside a network namespace of its own (never in the host's):
// starts the firewall service, changes the configuration through the ConfigHolder, and prints each status.
// Usage: node firewall-reapply-child.js STATE_DIR
import { statePaths } from '../../src/config/state-dir.js';
import { firewall } from '../../src/firewall/service.js';
import { firewallContext } from './firewall-context.js';

const ctx = firewallContext(statePaths(process.argv[2]), false);
const running = await firewall.start(ctx);
console.log(JSON.stringify({ step: 'started', status: await running.status() }));
ctx.config.update((config) => ({ ...config, firewall: { ...config.firewall, cloudAccess: 'strict' } }));
console.log(JSON.stringify({ step: 'cloud on', status: await running.status() }));
await running.close();
