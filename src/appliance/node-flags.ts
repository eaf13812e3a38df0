/**
 * The flags the appliance starts Node with (appliance/systemd/moat.service), in one place so the unit, its
 * test and the benchmarks that measure Moat as it runs on the appliance cannot drift apart.
 *
 * `--single-threaded-gc`: Moat's heap is small (about 25 MB) and almost all of its garbage is off-heap TLS
 * record buffers, 16 KiB each. With V8's helper threads, freeing those buffers lags behind on a busy small
 * machine, and V8 answers with repeated scavenges and full marking cycles: a 200 MB FTPS upload cost ~8
 * major collections and ~6 ms of CPU per relayed MB. Collecting on the main thread costs ~3.4 ms per MB with
 * one major collection per run, and cuts Moat's CPU for the MQTT fan-out by about a third without raising
 * its latency (docs/benchmarks.md).
 */
export const serviceNodeFlags: readonly string[] = ['--single-threaded-gc'];
