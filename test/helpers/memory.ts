import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// node --test gives no way to pass --expose-gc to a test file's process; V8 allows switching it on at run time.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/**
 * The peak growth of this process's resident set while `work` runs, in MB, from a baseline taken right after a
 * collection. Sampled every 50 ms; a collection every `collectEveryMs` (default 500) keeps garbage that the
 * collector has merely not got to yet (the process shares a loaded machine) from counting as memory that is held.
 */
export async function peakRssGrowthMb(work: () => Promise<void>, { collectEveryMs = 500 } = {}): Promise<number> {
  collectGarbage();
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  let samples = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
    if (++samples % Math.max(1, Math.round(collectEveryMs / 50)) === 0) collectGarbage();
  }, 50);
  try {
    await work();
  } finally {
    clearInterval(sampler);
  }
  return (peak - baseline) / (1024 * 1024);
}
