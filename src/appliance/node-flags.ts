/**
 * The flags the appliance starts Node with (appliance/systemd/moat.service), in one place so the unit, its
 * test and the benchmarks that measure Moat as it runs on the appliance cannot drift apart.
 *
 * `--single-threaded-gc`: Moat's heap is small (about 14 MB live) and almost all of its garbage is off-heap TLS
 * record buffers, 16 KiB each. With V8's helper threads, freeing those buffers lags behind on a busy small
 * machine, and V8 answers with repeated scavenges and full marking cycles: a 200 MB FTPS upload cost ~8
 * major collections and ~6 ms of CPU per relayed MB. Collecting on the main thread costs ~3.4 ms per MB with
 * one major collection per run, and cuts Moat's CPU for the MQTT fan-out by about a third without raising
 * its latency (docs/benchmarks.md).
 *
 * `--max-semi-space-size=2` (MB): V8 lets the young generation grow to 3 × 16 MB on a 64-bit machine, and
 * what it grew into stays resident. Moat's young garbage is small and short-lived, so 2 MB semi-spaces hold
 * it: idle RSS ~5–8 MB lower and the peak with subscribers ~7 MB lower in bench/footprint, with no CPU cost
 * that bench/mqtt-fanout or bench/ftp-throughput showed (runs on a loaded machine: within their noise).
 * 1 MB saved no more memory and cost CPU; `--optimize-for-size` saved ~4 MB more and cost 40–80 % more CPU
 * per report (docs/benchmarks.md).
 *
 * `--v8-pool-size=1`: one V8 worker thread instead of one per core. With `--single-threaded-gc` the workers only
 * compile (TurboFan in the background), and each keeps a malloc arena whose freed compile scratch stays
 * resident: 1–5 MB of idle RSS and most of its run-to-run spread. One worker: every bench/footprint figure ~3 MB
 * lower (idle 62.9–63.0 MB against 65.5–67.4), and no CPU cost bench/mqtt-fanout could tell from its noise
 * (docs/benchmarks.md, issue 17's fifth pass). `--no-concurrent-recompilation` (no worker at all) saved ~2 MB
 * more but put optimising compiles on the main thread, where they showed as 22–30 ms publishes: not chosen.
 *
 * Not chosen: `--lite-mode` (no optimising compilers) takes ~15 MB off idle and loaded RSS but costs ~10–20 % more
 * CPU per report in bench/mqtt-fanout, and implies `--jitless`, which turns WebAssembly and so Node's `fetch`
 * off (docs/benchmarks.md).
 */
export const serviceNodeFlags: readonly string[] = [
  '--single-threaded-gc',
  '--max-semi-space-size=2',
  '--v8-pool-size=1',
];

/**
 * The environment the appliance starts Node with (moat.service's `Environment=` lines), beside the flags.
 *
 * `MALLOC_MMAP_THRESHOLD_=131072`: glibc serves blocks above 128 KiB with their own mappings, but after such a
 * block is freed it raises that threshold to the block's size (up to 32 MiB) and the trim threshold with it.
 * Moat's large blocks are short-lived: scrypt's 16 MiB per access-code check (in a libuv worker's arena) and
 * the TLS and FTP buffers of a transfer. Once the threshold has moved they come from the arenas and stay
 * resident after they are freed. Fixing the threshold keeps it from moving: in bench/footprint (same machine,
 * same session) the peak with 1 printer and 5 subscribers fell from 83.9 to 78.1 MB and the RSS before an
 * upload from 92.2 to 70.2 MB. Blocks up to 128 KiB (TLS records, reports) are unaffected. `MALLOC_ARENA_MAX=2`
 * on top made no difference beyond the run-to-run noise.
 */
export const serviceEnvironment: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' };
