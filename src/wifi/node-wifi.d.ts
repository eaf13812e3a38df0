// node-wifi ships no types; only the calls Moat makes are declared.
declare module 'node-wifi' {
  export interface NodeWifiNetwork {
    ssid: string;
    bssid: string;
    mode: string;
    channel: number;
    frequency: number;
    signal_level: number;
    quality: number;
    security: string;
    iface?: string;
  }
  export function init(options: { iface: string | null; debug?: boolean }): void;
  export function scan(): Promise<NodeWifiNetwork[]>;
  export function getCurrentConnections(): Promise<NodeWifiNetwork[]>;
  const wifi: { init: typeof init; scan: typeof scan; getCurrentConnections: typeof getCurrentConnections };
  export default wifi;
}
