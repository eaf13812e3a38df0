import { readFileSync, writeFileSync } from 'node:fs';

/** A process's memory as the kernel counts it (/proc/PID/status): for tests and benchmarks that measure Moat or a peer. */

/** A process's resident set now, in bytes. */
export function residentBytes(pid: number): number {
  return statusKb(pid, 'VmRSS') * 1024;
}

/**
 * How far a process's resident set rose above where it stood when `work` started, in MB. The peak is the
 * kernel's own high-water mark (reset to the current resident set first), so no sampling interval can miss it.
 */
export async function peakResidentGrowthMb(pid: number, work: () => Promise<void>): Promise<number> {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
  const start = statusKb(pid, 'VmRSS');
  await work();
  return (statusKb(pid, 'VmHWM') - start) / 1024;
}

/** The highest resident set a process has had (since it started, or since `peakResidentGrowthMb` reset it), in bytes. */
export function peakResidentBytes(pid: number): number {
  return statusKb(pid, 'VmHWM') * 1024;
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const kb = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kb === undefined) throw new Error(`no ${field} for process ${pid} (has it exited?)`);
  return Number(kb);
}
