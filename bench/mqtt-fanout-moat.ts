/**
 * Moat alone in its own process for bench/mqtt-fanout: so its CPU time and peak RSS are Moat's and not
 * the subscribers' or the simulator's. Usage (by the benchmark): node mqtt-fanout-moat.js STATE_DIR
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { statePaths } from '../src/config/state-dir.js';
import { silentLogger } from '../src/log.js';
import { startMoat } from '../src/service.js';

const root = process.argv[2];
if (!root || !process.send) throw new Error('run by bench/mqtt-fanout with a state directory and an IPC channel');
const moat = await startMoat({ paths: statePaths(root), developmentMode: true, logger: silentLogger() });
const deadline = Date.now() + 10000;
while (!moat.mqtt.printers()[0]?.state) {
  if (Date.now() > deadline) throw new Error('Moat did not reach the simulated printer');
  await new Promise((resolve) => setTimeout(resolve, 20));
}
// Moat's own event-loop delay tells its stalls (GC, long tasks) apart from waiting for a CPU on a busy machine.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
process.send({ port: moat.mqtt.port });
process.on('message', (message) => {
  if (message === 'usage') {
    const cpu = process.cpuUsage();
    process.send?.({
      cpuMs: (cpu.user + cpu.system) / 1000,
      systemMs: cpu.system / 1000,
      peakRssKb: process.resourceUsage().maxRSS,
      loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
      loopDelayMaxMs: loopDelay.max / 1e6,
    });
    loopDelay.reset();
  } else if (message === 'stop') {
    void moat.close().then(() => process.exit(0));
  }
});
