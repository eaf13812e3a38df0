/**
 * Moat alone in its own process for bench/mqtt-fanout: so its CPU time and peak RSS are Moat's and not
 * the subscribers' or the simulator's. Usage (by the benchmark): node mqtt-fanout-moat.js STATE_DIR [--loop-delay]
 */
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
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
// Only when asked: its 10 ms timer wakes the process 100 times a second, ~10 ms of CPU a second on the
// development machine, as much as half of what the fan-out itself costs Moat.
const loopDelay = process.argv.includes('--loop-delay') ? monitorEventLoopDelay({ resolution: 10 }) : undefined;
loopDelay?.enable();
// V8's memory reducer runs up to three full collections ~8 s after a major one when allocation is low: 140–220 ms
// of CPU that lands in the timed window or not, depending on how long start-up and the logins took. Counted so a
// run's CPU figure can be read with it (the pauses only; incremental marking steps before them are not included).
let majorGcs = 0;
let majorGcPauseMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if ((entry as { detail?: { kind?: number } }).detail?.kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
    majorGcs++;
    majorGcPauseMs += entry.duration;
  }
}).observe({ entryTypes: ['gc'] });
process.send({ port: moat.mqtt.port });
process.on('message', (message) => {
  if (message === 'usage') {
    const cpu = process.cpuUsage();
    process.send?.({
      cpuMs: (cpu.user + cpu.system) / 1000,
      systemMs: cpu.system / 1000,
      peakRssKb: process.resourceUsage().maxRSS,
      loopDelayP99Ms: loopDelay ? loopDelay.percentile(99) / 1e6 : Number.NaN,
      loopDelayMaxMs: loopDelay ? loopDelay.max / 1e6 : Number.NaN,
      majorGcs,
      majorGcPauseMs,
    });
    loopDelay?.reset();
  } else if (message === 'stop') {
    void moat.close().then(() => process.exit(0));
  }
});
