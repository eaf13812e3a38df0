import { startMoat } from '../service.js';
import { parseCommandArgs, resolveStatePaths } from './common.js';

/** Runs the service until SIGINT/SIGTERM. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    args,
    { development: { type: 'boolean' } },
    'usage: moat serve [--state-dir DIR] [--development]   (--development: start without a firewall)',
  );
  const moat = await startMoat({ paths: resolveStatePaths(values), developmentMode: values.development === true });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await moat.close();
  return 0;
}
