import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { serviceEnvironment, serviceNodeFlags } from '../../src/appliance/node-flags.js';
import { waitFor } from './wait.js';

/**
 * Moat in a process of its own, started as the appliance starts it (its Node flags and environment), for tests
 * that measure Moat's memory alone (not the simulator's or the clients') or kill it as a power cut would. Shaped
 * like the harness's in-process Moat, so `{ ...harness, moat }` works with the client helpers.
 */
export interface MoatProcess {
  child: ChildProcess;
  mqtt: { port: number };
  ftp: { port: number };
  /** SIGTERM, and the exit. */
  stop(): Promise<void>;
}

export async function startMoatProcess(stateDir: string): Promise<MoatProcess> {
  const child = spawn(process.execPath, [...serviceNodeFlags, 'dist/test/helpers/moat-child.js', stateDir], {
    env: { ...process.env, ...serviceEnvironment },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const out: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => out.push(chunk.toString()));
  const ports = await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`Moat exited with ${child.exitCode}`);
      const line = out
        .join('')
        .split('\n')
        .find((l) => l.startsWith('{"mqtt"'));
      return line ? (JSON.parse(line) as { mqtt: number; ftp: number }) : undefined;
    },
    { what: 'Moat to start', timeoutMs: 20_000 },
  );
  return {
    child,
    mqtt: { port: ports.mqtt },
    ftp: { port: ports.ftp },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
