import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { serviceEnvironment, serviceNodeFlags } from '../src/appliance/node-flags.js';

/** What the benchmarks share: ports on loopback and the simulator child's hand-over. */

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

/** Resolves once something accepts TCP connections on the port (a freshly spawned Mosquitto). */
export async function listening(port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const socket = createConnection({ host: '127.0.0.1', port });
    const accepted = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      socket.once('error', () => resolve(false));
    });
    socket.destroy();
    if (accepted) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A benchmark's child process (simulated printers): tells the parent where they listen in one JSON line on
 * stdout, then runs until the parent closes its stdin.
 */
export function serveUntilStdinCloses(info: unknown, close: () => Promise<void>): void {
  process.stdout.write(`${JSON.stringify(info)}\n`);
  process.stdin.resume();
  process.stdin.on('end', async () => {
    await close();
    process.exit(0);
  });
}

/**
 * Mosquitto as a child process with this configuration (its `listener` on `port`), once it accepts connections
 * (within `timeoutMs`).
 */
export async function startMosquitto(
  dir: string,
  port: number,
  conf: string[],
  timeoutMs?: number,
): Promise<ChildProcess> {
  const file = join(dir, 'mosquitto.conf');
  writeFileSync(file, [...conf, ''].join('\n'), { mode: 0o600 });
  const mosquitto = spawn('mosquitto', ['-c', file], { stdio: ['ignore', 'inherit', 'inherit'] });
  try {
    await listening(port, timeoutMs);
  } catch (error) {
    mosquitto.kill('SIGTERM');
    throw error;
  }
  return mosquitto;
}

/** Moat's Node flags in a benchmark: the appliance's, plus any under trial given as one string (`--node-flags`). */
export function moatNodeFlags(trial: string | undefined): string[] {
  return [...serviceNodeFlags, ...(trial ?? '').split(/\s+/).filter(Boolean)];
}

/** Moat's environment in a benchmark: this process's, the appliance's (moat.service's `Environment=`), then `extra`. */
export function moatEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...serviceEnvironment, ...extra };
}
