/**
 * bench/mqtt-fanout: report latency from the printer to 50 TLS subscribers — via Moat, directly from the
 * simulated printer, and via Mosquitto bridged to the same printer — in one run, plus Moat's and Mosquitto's
 * CPU time and peak RSS. Prints a table and, last, one JSON line with the figures and ratios.
 *
 * All three paths run side by side from the start, each with its own subscribers, and are measured the same
 * way: first `--warmup` seconds of reports at the full rate to every path at once, not counted (the first
 * reports through a cold process — JIT, TLS buffers, V8's post-start collections — say nothing about the
 * steady state); then the timed window, cut into `--rounds` rounds in which each path in turn has its
 * subscribers alone subscribed for a slice (a probe seen by every one of them first), the order turned each
 * round. A broker out of its slice still reads each report from the printer but sends it to nobody. Measured
 * one after another instead, minutes apart, the same build's CPU ratio ranged 1.44–2.49 over ten runs: a
 * change on the shared machine between two paths' windows counted as a difference between the brokers.
 * CPU time and event-loop delay cover each path's own slices only; peak RSS is the process's peak.
 *
 * Usage: npm run build && node dist/bench/mqtt-fanout.js [--seconds 30] [--rounds 4] [--subscribers 50] [--hz 5] [--bytes 10240] [--warmup 60]
 *        [--node-flags='--max-semi-space-size=1 --cpu-prof'] [--loop-delay]
 *   --seconds: each path's timed seconds in all, --rounds: in how many slices.
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
import { peakResidentBytes } from '../test/helpers/proc-memory.js';
import { freePort, moatEnvironment, moatNodeFlags, startMosquitto } from './helpers.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    subscribers: { type: 'string', default: '50' },
    hz: { type: 'string', default: '5' },
    bytes: { type: 'string', default: '10240' },
    // Past V8's memory reducer, which collects three times in a row 16-26 s after Moat starts (docs/benchmarks.md):
    // a start-up cost, not a per-report one. majorGcsInWindow says whether a collection still landed in the window.
    // And past most of V8's optimising: at 5 Hz the upstream path's functions reach TurboFan slowly, and Moat's
    // first 15 s slice after a 30 s warm-up cost 13–35 % more than its later ones (`slices` in the JSON line).
    warmup: { type: 'string', default: '60' },
    rounds: { type: 'string', default: '4' },
    'node-flags': { type: 'string', default: '' },
    'loop-delay': { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const subscriberCount = Number(values.subscribers);
const hz = Number(values.hz);
const reportBytes = Number(values.bytes);
const warmupSeconds = Number(values.warmup);
const rounds = Number(values.rounds);
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
   * Event-loop delay of this (publishing and subscribing) process in the path's worst slice: a stall here
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

/** Each timed slice's CPU time, in the order they ran: whether a path's cost drifts over the run. */
const sliceUsage: { path: string; cpuMs: number; systemMs: number }[] = [];

/** One path's subscribers and what they saw, across every slice of the run. */
interface Path {
  name: string;
  clients: MqttClient[];
  usage?: () => Promise<Usage>;
  /** The timed publishes of this path, by sequence number. */
  timed: Set<number>;
  latencies: number[];
  slowestPerPublish: Map<number, number>;
  probesSeen: number;
  /** This process's event-loop delay in the path's worst slice (p99, max). */
  benchLoopDelay: { p99Ms: number; maxMs: number };
  /** The path's usage summed over its timed slices (a Usage whose counters are deltas, its peak the last). */
  used?: Usage;
}

async function connectPath(name: string, endpoint: Endpoint, usage?: () => Promise<Usage>): Promise<Path> {
  const path: Path = {
    name,
    clients: await Promise.all(Array.from({ length: subscriberCount }, () => connect(endpoint))),
    ...(usage && { usage }),
    timed: new Set(),
    latencies: [],
    slowestPerPublish: new Map(),
    probesSeen: 0,
    benchLoopDelay: { p99Ms: 0, maxMs: 0 },
  };
  for (const client of path.clients) {
    client.on('message', (_topic, payload) => {
      const now = performance.now();
      const match = /"bench_seq":(-?\d+),"bench_t":([\d.]+)/.exec(payload.subarray(0, 120).toString('latin1'));
      if (!match) return;
      const seq = Number(match[1]);
      if (seq < 0) path.probesSeen++;
      if (!path.timed.has(seq)) return;
      const latency = now - Number(match[2]);
      path.latencies.push(latency);
      path.slowestPerPublish.set(seq, Math.max(latency, path.slowestPerPublish.get(seq) ?? 0));
    });
  }
  return path;
}

/** Subscribes a path's clients and waits until a probe has reached every one (a bridge subscribes upstream on its own schedule). */
async function subscribePath(path: Path, topic: string, publish: (payload: Buffer) => void): Promise<void> {
  await Promise.all(path.clients.map((c) => c.subscribeAsync(topic)));
  path.probesSeen = 0;
  const ready = Date.now() + 10000;
  while (path.probesSeen < subscriberCount) {
    if (Date.now() > ready) throw new Error(`${path.name}: subscribers did not receive the probe`);
    publish(report(-1));
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function unsubscribePath(path: Path, topic: string): Promise<unknown> {
  return Promise.all(path.clients.map((c) => c.unsubscribeAsync(topic)));
}

/** Publishes `count` reports at the configured rate, numbered from `first`. */
async function publishAtRate(first: number, count: number, publish: (payload: Buffer) => void): Promise<void> {
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const wait = started + (i * 1000) / hz - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    publish(report(first + i));
  }
}

/**
 * One timed slice of a path: its subscribers alone subscribed, `count` reports at the full rate, its CPU time
 * sampled from the slice's first publish until every report of the slice has been delivered.
 */
async function timedSlice(
  path: Path,
  topic: string,
  first: number,
  count: number,
  publish: (payload: Buffer) => void,
): Promise<void> {
  await subscribePath(path, topic, publish);
  for (let seq = first; seq < first + count; seq++) path.timed.add(seq);
  const expected = path.timed.size * subscriberCount;
  const before = await path.usage?.();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  await publishAtRate(first, count, publish);
  const drain = Date.now() + 3000;
  while (path.latencies.length < expected && Date.now() < drain)
    await new Promise((resolve) => setTimeout(resolve, 50));
  const after = await path.usage?.();
  loopDelay.disable();
  path.benchLoopDelay.p99Ms = Math.max(path.benchLoopDelay.p99Ms, loopDelay.percentile(99) / 1e6);
  path.benchLoopDelay.maxMs = Math.max(path.benchLoopDelay.maxMs, loopDelay.max / 1e6);
  await unsubscribePath(path, topic);
  if (before && after) {
    path.used = addUsage(path.used, before, after);
    sliceUsage.push({ path: path.name, cpuMs: after.cpuMs - before.cpuMs, systemMs: after.systemMs - before.systemMs });
  }
}

/** The usage of a slice (after − before) added to what the path used in its earlier slices. */
function addUsage(sum: Usage | undefined, before: Usage, after: Usage): Usage {
  const delta = (key: 'cpuMs' | 'systemMs' | 'majorGcs' | 'majorGcPauseMs') =>
    (sum?.[key] ?? 0) + ((after[key] ?? Number.NaN) - (before[key] ?? Number.NaN));
  return {
    cpuMs: delta('cpuMs'),
    systemMs: delta('systemMs'),
    peakRssKb: after.peakRssKb,
    majorGcs: delta('majorGcs'),
    majorGcPauseMs: delta('majorGcPauseMs'),
    // Moat resets its loop-delay histogram at each sample: the worst slice's figures stand for the run.
    loopDelayP99Ms: Math.max(sum?.loopDelayP99Ms ?? 0, after.loopDelayP99Ms ?? Number.NaN),
    loopDelayMaxMs: Math.max(sum?.loopDelayMaxMs ?? 0, after.loopDelayMaxMs ?? Number.NaN),
  };
}

function result(path: Path): Result {
  const sorted = [...path.latencies].sort((a, b) => a - b);
  const slowest = [...path.slowestPerPublish]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([seq, ms]) => `${seq}: ${ms.toFixed(0)}`)
    .join(', ');
  const socket = path.clients[0]?.stream as
    | { getProtocol?(): string | null; getCipher?(): { name: string } }
    | undefined;
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
    samples: sorted.length,
    expected: path.timed.size * subscriberCount,
    tls: `${socket?.getProtocol?.() ?? '?'} ${socket?.getCipher?.().name ?? '?'}`,
    slowest,
    benchLoopDelayP99Ms: path.benchLoopDelay.p99Ms,
    benchLoopDelayMaxMs: path.benchLoopDelay.maxMs,
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
  return { cpuMs: onCpuNs / 1e6, systemMs: (system * 1000) / 100, peakRssKb: peakResidentBytes(pid) / 1024 };
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

  // Moat, in its own process, started with the appliance's Node flags and environment.
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

  // Mosquitto: a TLS listener with Moat's certificate, bridged to the same printer.
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

  const paths = [
    await connectPath('moat', { port: moatPort, ca: moatCa, username: 'bblp', password: h.codes.viewer }, moatUsage),
    await connectPath('direct', {
      port: h.sim.ports.mqtt as number,
      ca: readFileSync(h.printerCaFile),
      username: 'bblp',
      password: h.printerAccessCode,
    }),
    await connectPath('mosquitto', { port: mosquittoPort, ca: moatCa }, async () => procUsage(mosquitto.pid as number)),
  ];
  // The warm-up: every path subscribed at once, nothing counted.
  for (const path of paths) await subscribePath(path, topic, publish);
  let sequence = 0;
  await publishAtRate(sequence, Math.round(warmupSeconds * hz), publish);
  sequence += Math.round(warmupSeconds * hz);
  for (const path of paths) await unsubscribePath(path, topic);
  // The timed slices, each path in turn and the order turned each round, so a change on the machine
  // during the run falls on every path alike.
  const perSlice = Math.round((seconds * hz) / rounds);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < paths.length; i++) {
      const path = paths[(i + round) % paths.length] as Path;
      await timedSlice(path, topic, sequence, perSlice, publish);
      sequence += perSlice;
    }
  }
  const [viaMoat, direct, viaMosquitto] = paths.map((path) => ({ ...result(path), used: path.used })) as [
    Result & { used?: Usage },
    Result & { used?: Usage },
    Result & { used?: Usage },
  ];

  const figures = ({ used: u, ...r }: Result & { used?: Usage }) => ({
    ...r,
    cpuMs: u?.cpuMs ?? Number.NaN,
    cpuSystemMs: u?.systemMs ?? Number.NaN,
    peakRssMb: u ? u.peakRssKb / 1024 : Number.NaN,
  });
  const moat = {
    ...figures(viaMoat),
    eventLoopDelayP99Ms: viaMoat.used?.loopDelayP99Ms ?? Number.NaN,
    eventLoopDelayMaxMs: viaMoat.used?.loopDelayMaxMs ?? Number.NaN,
    majorGcsInWindow: viaMoat.used?.majorGcs ?? Number.NaN,
    majorGcPauseMsInWindow: viaMoat.used?.majorGcPauseMs ?? Number.NaN,
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
      `${name.padEnd(10)}${r.tls}; slowest publishes (#: ms) ${r.slowest}; bench process loop delay p99 ${r.benchLoopDelayP99Ms.toFixed(1)} / max ${r.benchLoopDelayMaxMs.toFixed(1)} ms`,
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
      slices: sliceUsage,
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
