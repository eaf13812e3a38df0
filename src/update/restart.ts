import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Restarting the appliance from the setup page. Moat runs as an unprivileged user and cannot reboot the
 * machine itself: it leaves a request in its runtime directory (/run/moat, made by systemd for moat.service),
 * and moat-reboot.path, watching for that file, starts moat-reboot.service (root, confined) which asks systemd
 * to reboot. /run is a tmpfs, so a request never outlives the boot it was made in: no reboot loop.
 */

/** The file moat-reboot.path watches, inside Moat's runtime directory (appliance/systemd/moat-reboot.path). */
export const restartRequestName = 'reboot-requested';

/**
 * Where this Moat would leave a restart request, or undefined where nothing would act on it (a development
 * machine, a test): systemd sets RUNTIME_DIRECTORY for a unit with RuntimeDirectory= (several are joined by ':').
 */
export function restartRequestFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = env.RUNTIME_DIRECTORY?.split(':')[0];
  return dir ? join(dir, restartRequestName) : undefined;
}

/** Leaves the request; the time in it is for whoever reads the file, not for the path unit. */
export async function requestRestart(file: string, reason: string): Promise<void> {
  await writeFile(file, `${new Date().toISOString()} ${reason}\n`, { mode: 0o600 });
}
