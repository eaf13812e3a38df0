/**
 * What the simulated printer saw: tests and benchmarks read it (over HTTP on loopback, or directly)
 * to prove what reached the printer and what did not.
 */
export interface ReceivedCommand {
  at: string;
  topic: string;
  /** The payload exactly as received, as UTF-8 text. */
  payload: string;
  /** Position among commands and file events together (timestamps can tie within a millisecond). */
  order: number;
}

/** A file that became complete in the printer's storage: a STOR's 226, or a rename onto its name. */
export interface FileEvent {
  at: string;
  event: 'stored' | 'renamed';
  /** The path inside the storage (`/x.gcode.3mf`). */
  path: string;
  order: number;
}

export class SimulatorStats {
  mqttConnections = 0;
  mqttPeakConnections = 0;
  mqttRefusedConnections = 0;
  pushallCount = 0;
  commands: ReceivedCommand[] = [];
  ftpBytesStored = 0;
  ftpUploads = 0;
  /** In order, with `commands`' clock: whether a file was there before the command that named it. */
  files: FileEvent[] = [];
  private order = 0;
  /** FTP control connections open now, and the most there ever were at once. */
  ftpConnections = 0;
  ftpPeakConnections = 0;
  notifySent = 0;
  /** Connections accepted by the camera, file-tunnel and bind services, by service. */
  tcpConnections = { rtsps: 0, tunnel: 0, bind: 0, bindTls: 0 };

  mqttConnected(): void {
    this.mqttConnections++;
    this.mqttPeakConnections = Math.max(this.mqttPeakConnections, this.mqttConnections);
  }

  mqttDisconnected(): void {
    this.mqttConnections = Math.max(0, this.mqttConnections - 1);
  }

  ftpConnected(): void {
    this.ftpConnections++;
    this.ftpPeakConnections = Math.max(this.ftpPeakConnections, this.ftpConnections);
  }

  ftpDisconnected(): void {
    this.ftpConnections = Math.max(0, this.ftpConnections - 1);
  }

  commandReceived(topic: string, payload: Buffer): void {
    // Bounded so a long benchmark cannot grow the simulator without limit.
    if (this.commands.length >= 10000) this.commands.shift();
    this.commands.push({ at: new Date().toISOString(), topic, payload: payload.toString('utf8'), order: ++this.order });
  }

  fileEvent(event: FileEvent['event'], path: string): void {
    if (this.files.length >= 10000) this.files.shift();
    this.files.push({ at: new Date().toISOString(), event, path, order: ++this.order });
  }

  toJSON() {
    return {
      mqtt: {
        connections: this.mqttConnections,
        peakConnections: this.mqttPeakConnections,
        refusedConnections: this.mqttRefusedConnections,
      },
      pushallCount: this.pushallCount,
      commands: this.commands,
      ftp: {
        bytesStored: this.ftpBytesStored,
        uploads: this.ftpUploads,
        connections: this.ftpConnections,
        peakConnections: this.ftpPeakConnections,
        files: this.files,
      },
      notifySent: this.notifySent,
      tcpConnections: this.tcpConnections,
    };
  }
}
