import { spawn } from 'node:child_process';
import wifi, { type NodeWifiNetwork } from 'node-wifi';

/**
 * Wi-Fi client control through NetworkManager: the one place Moat touches nmcli. Status goes through
 * node-wifi. Scanning does not: node-wifi's scan parser splits an SSID containing a colon (nmcli escapes it
 * as `\:`) and shifts every later field. Connecting does not either: node-wifi puts the passphrase on
 * nmcli's command line (visible to every local user in `ps`); here nmcli runs with `--ask` and reads it
 * from stdin.
 */

export interface WifiNetwork {
  ssid: string;
  /** 0–100, as NetworkManager reports it. */
  signal: number;
  channel: number;
  security: string;
}

export interface WifiStatus {
  available: boolean;
  /** The network the interface is on, when connected. */
  connected?: WifiNetwork;
  /** Why Wi-Fi control is unavailable, in the owner's words. */
  problem?: string;
}

/** A failure explained for the owner; the message is safe to show and to log. */
export class WifiError extends Error {
  override name = 'WifiError';
}

const ssidMax = 32;

export function validateSsid(ssid: unknown): string {
  if (typeof ssid !== 'string' || ssid.length === 0) throw new WifiError('Choose a Wi-Fi network name.');
  if (Buffer.byteLength(ssid) > ssidMax) throw new WifiError('A Wi-Fi network name is at most 32 bytes long.');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(ssid)) throw new WifiError('The network name contains invalid characters.');
  return ssid;
}

/** WPA2/WPA3 personal: 8–63 printable ASCII characters (or 64 hex digits, the raw key). */
export function validatePassphrase(passphrase: unknown): string {
  if (typeof passphrase !== 'string') throw new WifiError('Enter the Wi-Fi passphrase.');
  if (/^[0-9a-fA-F]{64}$/.test(passphrase)) return passphrase;
  if (passphrase.length < 8 || passphrase.length > 63)
    throw new WifiError('A Wi-Fi passphrase has 8 to 63 characters.');
  if (!/^[\x20-\x7e]+$/.test(passphrase))
    throw new WifiError('A Wi-Fi passphrase may contain only letters, digits, spaces and common symbols.');
  return passphrase;
}

/** One line of `nmcli --terse` output: fields split at unescaped colons, `\\:` and `\\\\` unescaped. */
export function splitTerse(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && i + 1 < line.length) field += line[++i];
    else if (c === ':') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}

function toNetwork(n: NodeWifiNetwork): WifiNetwork {
  return {
    ssid: n.ssid,
    signal: Number.isFinite(n.quality) ? n.quality : 0,
    channel: Number.isFinite(n.channel) ? n.channel : 0,
    security: n.security || 'none',
  };
}

function explain(error: unknown): WifiError {
  const err = error as NodeJS.ErrnoException & { stdout?: string };
  if (err.code === 'ENOENT')
    return new WifiError('Wi-Fi control is not available: NetworkManager (nmcli) is not installed on this device.');
  return new WifiError('NetworkManager did not answer as expected; check that it is running.');
}

export interface WifiControlOptions {
  /** The interface to use (wlan0 on a Pi); undefined: whichever NetworkManager picks. */
  iface?: string;
  /** Seconds nmcli may wait for the connection to come up. */
  connectTimeoutSeconds?: number;
}

export class WifiControl {
  constructor(private readonly options: WifiControlOptions = {}) {
    // node-wifi keeps one module-wide configuration; Moat has one Wi-Fi client interface, so that is fine.
    wifi.init({ iface: options.iface ?? null });
  }

  async scan(): Promise<WifiNetwork[]> {
    const args = ['--terse', '--fields', 'ssid,chan,signal,security', 'device', 'wifi', 'list'];
    if (this.options.iface) args.push('ifname', this.options.iface);
    const { code, output } = await runNmcli(args, '');
    if (code !== 0) throw new WifiError('NetworkManager could not scan for Wi-Fi networks; check that it is running.');
    // One entry per name (the strongest access point), hidden networks left out, strongest first.
    const best = new Map<string, WifiNetwork>();
    for (const line of output.split('\n')) {
      const [ssid = '', channel = '', signal = '', security = ''] = splitTerse(line);
      if (!ssid) continue;
      const network = {
        ssid,
        channel: Number(channel) || 0,
        signal: Number(signal) || 0,
        security: security || 'none',
      };
      const seen = best.get(ssid);
      if (!seen || seen.signal < network.signal) best.set(ssid, network);
    }
    return [...best.values()].sort((a, b) => b.signal - a.signal);
  }

  async status(): Promise<WifiStatus> {
    try {
      const [current] = await wifi.getCurrentConnections();
      return current ? { available: true, connected: toNetwork(current) } : { available: true };
    } catch (error) {
      return { available: false, problem: explain(error).message };
    }
  }

  /** Joins a network; the passphrase goes to nmcli on stdin only. */
  async connect(ssidInput: unknown, passphraseInput: unknown): Promise<void> {
    const ssid = validateSsid(ssidInput);
    const passphrase = validatePassphrase(passphraseInput);
    const args = ['--ask', '-w', String(this.options.connectTimeoutSeconds ?? 30), 'device', 'wifi', 'connect', ssid];
    if (this.options.iface) args.push('ifname', this.options.iface);
    const { code, output } = await runNmcli(args, `${passphrase}\n`);
    if (code === 0) return;
    throw connectFailure(output, ssid);
  }
}

function connectFailure(output: string, ssid: string): WifiError {
  if (/No network with SSID/i.test(output)) return new WifiError(`No Wi-Fi network named "${ssid}" is in range.`);
  if (/Secrets were required|psk.*invalid|802-1x|authentication/i.test(output))
    return new WifiError(`The passphrase for "${ssid}" was not accepted.`);
  if (/timeout|timed out/i.test(output)) return new WifiError(`"${ssid}" did not answer in time; try again closer.`);
  if (/No Wi-Fi device found|not available/i.test(output))
    return new WifiError('This device has no usable Wi-Fi interface.');
  return new WifiError(`Could not join "${ssid}".`);
}

/** Runs nmcli with the C locale (its messages are matched above) and the given stdin. */
function runNmcli(args: string[], stdin: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('nmcli', args, {
      env: { ...process.env, LANG: 'C', LC_ALL: 'C' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('error', (error) => reject(explain(error)));
    child.once('close', (code) => resolve({ code: code ?? 1, output }));
    child.stdin.on('error', () => {
      // nmcli may exit before reading the passphrase (unknown network); the exit code tells the story.
    });
    child.stdin.end(stdin);
  });
}
