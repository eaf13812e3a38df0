/**
 * bench/mqtt-fanout: report latency from the printer to 50 TLS subscribers — via Moat, directly from the
 * simulated printer, and via Mosquitto bridged to the same printer — in one run, plus Moat's CPU time and
 * peak RSS. Prints a table and, last, one JSON line with the figures and ratios.
 *
 * Each path is measured the same way: all subscribers connected and subscribed, a probe seen by every one of
 * them, then `--warmup` seconds of reports at the full rate that are not counted (the first reports through a
 * cold process — JIT, TLS buffers, V8's post-start collections — say nothing about the steady state), then the
 * timed window. CPU time and
 * event-loop delay cover the timed window only; peak RSS is the process's peak.
 *
 * Usage: npm run build && node dist/bench/mqtt-fanout.js [--seconds 30] [--subscribers 50] [--hz 5] [--bytes 10240] [--warmup 30]
 *        [--node-flags='--max-semi-space-size=1 --cpu-prof'] [--loop-delay]
 *   --node-flags: V8 or Node flags for Moat's process on top of the appliance's (a trial, or a CPU profile).
 *   --loop-delay: also sample Moat's event-loop delay (every 10 ms: that adds to Moat's CPU figure).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

import { startHarness } from '../test/helpers/harness.js';
import { freePort, moatEnvironment, moatNodeFlags, startMosquitto } from './helpers.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    subscribers: { type: 'string', default: '50' },
    hz: { type: 'string', default: '5' },
    bytes: { type: 'string', default: '10240' },
    // Past V8's memory reducer, which collects three times in a row 16-26 s after Moat starts (docs/benchmarks.md):
    // a start-up cost, not a per-report one. majorGcsInWindow says whether a collection still landed in the window.
    warmup: { type: 'string', default: '30' },
    'node-flags': { type: 'string', default: '' },
    'loop-delay': { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const subscriberCount = Number(values.subscribers);
const hz = Number(values.hz);
const reportBytes = Number(values.bytes);
const warmupSeconds = Number(values.warmup);
const moatFlags = moatNodeFlags(values['node-flags']);

interface Endpoint {
  port: number;
  ca: Buffer;
  username?: string;
  password?: string;
}

interface Result {
  p50: number;
  p99: number;
  max: number;
  samples: number;
  expected: number;
  /** The negotiated TLS version and cipher suite, to show every path's subscribers pay the same. */
  tls: string;
  /** The publishes whose last delivery was slowest (sequence number: ms), to tell a few stalls from a spread. */
  slowest: string;
  /**
   * Event-loop delay of this (publishing and subscribing) process over the timed window: a stall here
   * delays every path's figures alike and is not the broker's doing.
   */
  benchLoopDelayP99Ms: number;
  benchLoopDelayMaxMs: number;
}

/** CPU time (and, for Moat, event-loop delay since the previous sample) of the process behind a path. */
interface Usage {
  cpuMs: number;
  /** The kernel's share of cpuMs: on loopback a TCP send also runs the receiver's side of the stack. */
  systemMs: number;
  peakRssKb: number;
  loopDelayP99Ms?: number;
  loopDelayMaxMs?: number;
  /** Moat's major garbage collections so far and their pauses (bench/mqtt-fanout-moat.ts says why). */
  majorGcs?: number;
  majorGcPauseMs?: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function connect(endpoint: Endpoint): Promise<MqttClient> {
  const options: IClientOptions = {
    host: '127.0.0.1',
    port: endpoint.port,
    protocol: 'mqtts',
    ca: endpoint.ca,
    // The printer's leaf has CN = serial and no SAN; the chain is still checked against `ca`.
    ...({ checkServerIdentity: () => undefined } as IClientOptions),
    reconnectPeriod: 0,
    ...(endpoint.username !== undefined && { username: endpoint.username, password: endpoint.password }),
  };
  return mqtt.connectAsync(options);
}

/** A report of about `reportBytes`, stamped with its publish time and sequence number. */
function report(sequence: number): Buffer {
  const head = `{"print":{"command":"push_status","msg":1,"bench_seq":${sequence},"bench_t":${performance.now().toFixed(3)},"pad":"`;
  const tail = '"}}';
  return Buffer.from(head + 'x'.repeat(Math.max(0, reportBytes - head.length - tail.length)) + tail);
}

async function measure(
  name: string,
  endpoint: Endpoint,
  topic: string,
  publish: (payload: Buffer) => void,
  usage?: () => Promise<Usage>,
): Promise<Result & { usage?: { before: Usage; after: Usage } }> {
  const clients = await Promise.all(Array.from({ length: subscriberCount }, () => connect(endpoint)));
  const latencies: number[] = [];
  const slowestPerPublish = new Map<number, number>();
  const warmupCount = Math.round(warmupSeconds * hz);
  let probesSeen = 0;
  for (const client of clients) {
    client.on('message', (_topic, payload) => {
      const now = performance.now();
      const match = /"bench_seq":(-?\d+),"bench_t":([\d.]+)/.exec(payload.subarray(0, 120).toString('latin1'));
      if (!match) return;
      const seq = Number(match[1]);
      if (seq < 0) probesSeen++;
      if (seq < warmupCount) return;
      const latency = now - Number(match[2]);
      latencies.push(latency);
      slowestPerPublish.set(seq, Math.max(latency, slowestPerPublish.get(seq) ?? 0));
    });
  }
  await Promise.all(clients.map((c) => c.subscribeAsync(topic)));
  // A bridged broker subscribes upstream on its own schedule: wait until a probe reaches every subscriber.
  const ready = Date.now() + 10000;
  while (probesSeen < subscriberCount) {
    if (Date.now() > ready) throw new Error(`${name}: subscribers did not receive the probe`);
    publish(report(-1));
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const total = Math.round(seconds * hz);
  const expected = total * subscriberCount;
  let before: Usage | undefined;
  const benchLoopDelay = monitorEventLoopDelay({ resolution: 10 });
  const started = performance.now();
  for (let i = 0; i < warmupCount + total; i++) {
    const due = started + (i * 1000) / hz;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    // The timed window starts with its first publish, once every warm-up report has been delivered.
    if (i === warmupCount) {
      before = await usage?.();
      benchLoopDelay.enable();
    }
    publish(report(i));
  }
  const drain = Date.now() + 3000;
  while (latencies.length < expected && Date.now() < drain) await new Promise((resolve) => setTimeout(resolve, 50));
  const after = await usage?.();
  benchLoopDelay.disable();
  const socket = clients[0]?.stream as { getProtocol?(): string | null; getCipher?(): { name: string } } | undefined;
  const tls = `${socket?.getProtocol?.() ?? '?'} ${socket?.getCipher?.().name ?? '?'}`;
  await Promise.all(clients.map((c) => c.endAsync(true)));
  const sorted = [...latencies].sort((a, b) => a - b);
  const slowest = [...slowestPerPublish]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([seq, ms]) => `${seq - warmupCount}: ${ms.toFixed(0)}`)
    .join(', ');
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
    samples: sorted.length,
    expected,
    tls,
    slowest,
    benchLoopDelayP99Ms: benchLoopDelay.percentile(99) / 1e6,
    benchLoopDelayMaxMs: benchLoopDelay.max / 1e6,
    ...(before && after && { usage: { before, after } }),
  };
}

/**
 * Another process's CPU time. `/proc/PID/stat` counts in 10 ms ticks, which is ±7 % of what Mosquitto spends in
 * a 20 s window; each thread's `schedstat` has the time on a CPU in nanoseconds, so the total comes from there
 * and only the kernel's share (a split the kernel keeps in ticks anyway) from `stat`.
 */
function procUsage(pid: number): Usage {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const system = Number(stat[12]);
  let onCpuNs = 0;
  for (const task of readdirSync(`/proc/${pid}/task`))
    onCpuNs += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
  const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return { cpuMs: onCpuNs / 1e6, systemMs: (system * 1000) / 100, peakRssKb: Number(hwm) };
}

const h = await startHarness({
  model: 'X1C',
  ftp: false,
  simulatorOnly: true,
  simulator: { mqtt: { transport: 'tls', connectionLimit: subscriberCount + 10 }, statsPort: false },
});
const children: ChildProcess[] = [];
try {
  const publish = (payload: Buffer) => h.sim.publishReport?.(payload);
  const topic = `device/${h.serial}/report`;

  // 1. Via Moat, in its own process, started with the appliance's Node flags and environment.
  const moatProcess = fork(
    join(fileURLToPath(new URL('.', import.meta.url)), 'mqtt-fanout-moat.js'),
    [h.paths.root, ...(values['loop-delay'] ? ['--loop-delay'] : [])],
    {
      stdio: 'inherit',
      execArgv: moatFlags,
      // The appliance's malloc settings too (moat.service's Environment=): they decide how often the TLS
      // buffers' memory goes back to the kernel and is faulted in again.
      env: moatEnvironment(),
    },
  );
  children.push(moatProcess);
  const [{ port: moatPort }] = (await once(moatProcess, 'message')) as [{ port: number }];
  const moatCa = readFileSync(h.moatCaFile);
  const moatUsage = async () => {
    moatProcess.send('usage');
    return ((await once(moatProcess, 'message')) as [Usage])[0];
  };
  const viaMoat = await measure(
    'moat',
    { port: moatPort, ca: moatCa, username: 'bblp', password: h.codes.viewer },
    topic,
    publish,
    moatUsage,
  );
  moatProcess.send('stop');
  await once(moatProcess, 'exit');

  // 2. Directly from the simulated printer.
  const direct = await measure(
    'direct',
    {
      port: h.sim.ports.mqtt as number,
      ca: readFileSync(h.printerCaFile),
      username: 'bblp',
      password: h.printerAccessCode,
    },
    topic,
    publish,
  );

  // 3. Via Mosquitto: a TLS listener with Moat's certificate, bridged to the same printer.
  const mosquittoPort = await freePort();
  const mosquitto = await startMosquitto(h.dir, mosquittoPort, [
    'user root',
    'persistence false',
    'log_type error',
    `listener ${mosquittoPort} 127.0.0.1`,
    'allow_anonymous true',
    `cafile ${h.paths.caCert}`,
    `certfile ${h.paths.serverCert}`,
    `keyfile ${h.paths.serverKey}`,
    'connection printer',
    `address 127.0.0.1:${h.sim.ports.mqtt}`,
    `bridge_cafile ${h.printerCaFile}`,
    // The printer's leaf has CN = serial and no SAN: skip the host-name check, as Moat does (Moat checks CN).
    'bridge_insecure true',
    'bridge_tls_version tlsv1.2',
    'bridge_protocol_version mqttv311',
    'remote_username bblp',
    `remote_password ${h.printerAccessCode}`,
    'remote_clientid mosquitto-bench',
    'notifications false',
    'try_private false',
    'cleansession true',
    `topic ${topic} in 0`,
  ]);
  children.push(mosquitto);
  const viaMosquitto = await measure('mosquitto', { port: mosquittoPort, ca: moatCa }, topic, publish, async () =>
    procUsage(mosquitto.pid as number),
  );

  const figures = ({ usage: u, ...result }: Awaited<ReturnType<typeof measure>>) => ({
    ...result,
    cpuMs: u ? u.after.cpuMs - u.before.cpuMs : Number.NaN,
    cpuSystemMs: u ? u.after.systemMs - u.before.systemMs : Number.NaN,
    peakRssMb: u ? u.after.peakRssKb / 1024 : Number.NaN,
  });
  const moat = {
    ...figures(viaMoat),
    eventLoopDelayP99Ms: viaMoat.usage?.after.loopDelayP99Ms ?? Number.NaN,
    eventLoopDelayMaxMs: viaMoat.usage?.after.loopDelayMaxMs ?? Number.NaN,
    majorGcsInWindow: (viaMoat.usage?.after.majorGcs ?? Number.NaN) - (viaMoat.usage?.before.majorGcs ?? Number.NaN),
    majorGcPauseMsInWindow:
      (viaMoat.usage?.after.majorGcPauseMs ?? Number.NaN) - (viaMoat.usage?.before.majorGcPauseMs ?? Number.NaN),
  };
  const mosq = figures(viaMosquitto);
  const fmt = (n: number) => n.toFixed(2).padStart(9);
  console.log(
    `\nMQTT fan-out: ${subscriberCount} TLS subscribers, ${reportBytes}-byte reports at ${hz} Hz for ${seconds} s (after ${warmupSeconds} s not counted)\n`,
  );
  console.log('path        p50 ms    p99 ms    max ms   received/expected   CPU ms   kernel   peak RSS MB');
  for (const [name, r, cpu, kernel, rss] of [
    ['moat', moat, moat.cpuMs, moat.cpuSystemMs, moat.peakRssMb],
    ['direct', direct, Number.NaN, Number.NaN, Number.NaN],
    ['mosquitto', mosq, mosq.cpuMs, mosq.cpuSystemMs, mosq.peakRssMb],
  ] as const) {
    console.log(
      `${name.padEnd(10)}${fmt(r.p50)}${fmt(r.p99)}${fmt(r.max)}   ${`${r.samples}/${r.expected}`.padStart(17)}${fmt(cpu)}${fmt(kernel)}${fmt(rss)}`,
    );
  }
  for (const [name, r] of [
    ['moat', moat],
    ['direct', direct],
    ['mosquitto', mosq],
  ] as const) {
    console.log(
      `${name.padEnd(10)}${r.tls}; slowest publishes (# in window: ms) ${r.slowest}; bench process loop delay p99 ${r.benchLoopDelayP99Ms.toFixed(1)} / max ${r.benchLoopDelayMaxMs.toFixed(1)} ms`,
    );
  }
  console.log(
    `moat major garbage collections during the timed window: ${moat.majorGcsInWindow} (pauses ${moat.majorGcPauseMsInWindow.toFixed(1)} ms)`,
  );
  if (values['loop-delay']) {
    console.log(
      `moat event-loop delay during the timed window: p99 ${moat.eventLoopDelayP99Ms.toFixed(1)} ms, max ${moat.eventLoopDelayMaxMs.toFixed(1)} ms (its sampling is in Moat's CPU figure)`,
    );
  }
  console.log(
    JSON.stringify({
      bench: 'mqtt-fanout',
      subscribers: subscriberCount,
      hz,
      seconds,
      warmupSeconds,
      reportBytes,
      moat,
      direct,
      mosquitto: mosq,
      ratios: {
        moatP99OverMosquittoP99: moat.p99 / mosq.p99,
        moatP50OverMosquittoP50: moat.p50 / mosq.p50,
        moatP99OverDirectP99: moat.p99 / direct.p99,
        moatCpuOverMosquittoCpu: moat.cpuMs / mosq.cpuMs,
      },
    }),
  );
} finally {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  await h.close();
}
