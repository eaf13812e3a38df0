// What the TCP relay costs: bytes pushed through Moat's relay vs straight to the same server, on loopback,
// in the same run, printed as a ratio. Bounded: a fixed volume per round, a fixed number of rounds.
// Usage: npm run build && node dist/bench/relay-throughput.js [MEGABYTES=64] [ROUNDS=3]
import { once } from 'node:events';
import { type AddressInfo, connect, createServer } from 'node:net';
import { startTcpRelay } from '../src/relay/tcp-relay.js';

const megabytes = Number(process.argv[2] ?? 64);
const rounds = Number(process.argv[3] ?? 3);
const chunk = Buffer.alloc(64 * 1024, 0x5a);

/** A sink that counts what it receives and says "done" when it has it all. */
async function startSink(): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((socket) => {
    let received = 0;
    socket.on('data', (d: Buffer) => {
      received += d.length;
      if (received >= megabytes * 1024 * 1024) socket.end('done');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function pushTo(port: number): Promise<number> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const started = process.hrtime.bigint();
  const total = megabytes * 1024 * 1024;
  for (let sent = 0; sent < total; sent += chunk.length) {
    if (!socket.write(chunk)) await once(socket, 'drain');
  }
  socket.resume(); // read the sink's "done" so that 'end' can arrive
  await once(socket, 'end');
  socket.destroy();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const sink = await startSink();
const relay = await startTcpRelay({
  name: 'bench',
  listenHost: '127.0.0.1',
  listenPort: 0,
  targetHost: '127.0.0.1',
  targetPort: sink.port,
  maxConnections: 2,
  idleTimeoutMs: 60000,
});
const direct: number[] = [];
const relayed: number[] = [];
for (let i = 0; i < rounds; i++) {
  direct.push(await pushTo(sink.port));
  relayed.push(await pushTo(relay.port));
}
await relay.close();
await sink.close();
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const mbps = (seconds: number) => (megabytes / seconds).toFixed(0);
console.log(`direct   ${mbps(median(direct))} MB/s (median of ${rounds} × ${megabytes} MB)`);
console.log(`relayed  ${mbps(median(relayed))} MB/s`);
console.log(`relay/direct throughput ratio: ${(median(direct) / median(relayed)).toFixed(2)}`);
