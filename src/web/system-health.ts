import type { SystemHealth } from './api-types.js';

/**
 * System health for the dashboard. systeminformation shells out for some values, so it is called with
 * fixed arguments only (never anything from a request), for just the four values shown, and at most once
 * per interval however many pages are open.
 */

async function measure(): Promise<SystemHealth> {
  // Loaded when the dashboard first asks, not at start: a Moat whose dashboard is never opened does not
  // carry it (about 10 MB resident on x86-64, docs/benchmarks.md).
  const { default: si } = await import('systeminformation');
  const [temperature, load, memory, disks] = await Promise.all([
    si.cpuTemperature(),
    si.currentLoad(),
    si.mem(),
    si.fsSize(),
  ]);
  const root = disks.find((d) => d.mount === '/') ?? disks[0];
  return {
    cpuTemperature: typeof temperature.main === 'number' && temperature.main > 0 ? temperature.main : null,
    cpuLoad: Math.round(load.currentLoad * 10) / 10,
    memory: { used: memory.active, total: memory.total },
    disk: root ? { used: root.used, total: root.size } : null,
    uptimeSeconds: Math.round(si.time().uptime),
    at: new Date().toISOString(),
  };
}

/** Returns a cached reading younger than maxAgeMs, measuring again (once, shared) when it is older. */
export function healthReader(maxAgeMs = 5000): () => Promise<SystemHealth> {
  let last: SystemHealth | undefined;
  let pending: Promise<SystemHealth> | undefined;
  return async () => {
    if (last && Date.now() - Date.parse(last.at) < maxAgeMs) return last;
    pending ??= measure().finally(() => {
      pending = undefined;
    });
    last = await pending;
    return last;
  };
}
