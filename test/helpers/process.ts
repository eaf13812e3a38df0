import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { waitFor } from './wait.js';

/**
 * The one way tests run other programs (curl, lftp, openssl, mosquitto_*, python3, the moat CLI): every run
 * bounded in time and always reaped, output kept for the assertions.
 */

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion without blocking this process (the server under test lives in its event loop). */
export function run(
  command: string,
  args: string[],
  timeoutMs = 30_000,
  input?: string,
  env?: NodeJS.ProcessEnv,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(env && { env: { ...process.env, ...env } }),
    });
    let stdout = '';
    let stderr = '';
    // Decoded as streams, so a character split between two chunks arrives whole.
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

/** The same, blocking: for programs that need nothing from this process (the compiled CLI). */
export function runSync(
  command: string,
  args: string[],
  timeoutMs = 60_000,
  input?: string,
  env?: NodeJS.ProcessEnv,
): RunResult {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    input,
    timeout: timeoutMs,
    ...(env && { env: { ...process.env, ...env } }),
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A long-running program whose output lines a test waits for, then stops. */
export class LineProcess {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  exitCode: number | null | undefined;
  private readonly child: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(command: string, args: string[]) {
    this.child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (into: string[]) => {
      let rest = '';
      return (chunk: Buffer) => {
        const text = rest + chunk.toString('utf8');
        const lines = text.split('\n');
        rest = lines.pop() ?? '';
        into.push(...lines);
      };
    };
    this.child.stdout?.on('data', collect(this.stdout));
    this.child.stderr?.on('data', collect(this.stderr));
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => {
        this.exitCode = code;
        resolve(code);
      });
    });
  }

  /** Waits for a line (stdout or stderr) matching the pattern. */
  waitForLine(pattern: RegExp, timeoutMs = 5000): Promise<string> {
    return waitFor(() => [...this.stdout, ...this.stderr].find((l) => pattern.test(l)), {
      what: `a line matching ${pattern}`,
      timeoutMs,
    });
  }

  async kill(): Promise<void> {
    if (this.exitCode === undefined) {
      this.child.kill('SIGTERM');
      await this.exited;
    }
  }
}
