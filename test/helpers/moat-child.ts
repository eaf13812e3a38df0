import { statePaths } from '../../src/config/state-dir.js';
import { silentLogger } from '../../src/log.js';
import { startMoat } from '../../src/service.js';

/**
 * Moat in a process of its own, for tests that measure Moat alone (its resident set): starts on the state
 * directory given as argument, prints its MQTT port as one JSON line, and stops on SIGTERM.
 */
const moat = await startMoat({
  paths: statePaths(process.argv[2] as string),
  developmentMode: true,
  logger: silentLogger(),
});
process.stdout.write(`${JSON.stringify({ mqtt: moat.mqtt.port, ftp: moat.ftp.port })}\n`);
process.once('SIGTERM', () => {
  moat.close().then(() => process.exit(0));
});
