import { readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { bambuReportsDir } from '../paths.js';
import type { PrinterModel } from '../printer-models.js';

/**
 * The simulated printer's state and its answers to commands, without any networking: the MQTT part
 * feeds it request payloads and publishes what it returns. Starts from the model's real fixture.
 */
type Json = Record<string, unknown>;

export interface CommandOutcome {
  /** Messages the printer publishes on its report topic in answer. */
  replies: Json[];
  /** Fields of `print` that changed (the printer then pushes them). */
  changed?: Json;
  pushall?: boolean;
}

/** Commands a printer acknowledges without a visible state change in the simulator. */
const acknowledged: Record<string, readonly string[]> = {
  print: ['gcode_line', 'print_speed', 'ams_change_filament', 'ams_control', 'ams_filament_setting', 'calibration'],
  system: ['ledctrl'],
};

/** print_error 0500_4002, "Unsupported print file path or name": what a printer reports for a file it cannot open. */
export const printFileError = 0x05004002;

/** Where the printer's storage is mounted in its own file system, as `file://` URLs name it. */
const storageMounts = ['/mnt/sdcard/', '/sdcard/'];

/** What the simulated printer is beyond its model: its secret and its storage. */
export interface SimulatedPrinterIdentity {
  serial: string;
  /** Its own address, reported in `net.info` and `ipcam.rtsp_url`. */
  ownAddress: string;
  accessCode: string;
  /** The storage its FTP server serves; absent = no storage, so no `ftp://` or `file://` file exists. */
  storageDir?: string;
}

const totalLayers = 50;
const printSeconds = 600;

export class PrinterState {
  private readonly print: Json;
  private readonly version: Json;

  constructor(
    private readonly model: PrinterModel,
    private readonly identity: SimulatedPrinterIdentity,
  ) {
    const { serial, ownAddress } = identity;
    const fixture = JSON.parse(readFileSync(join(bambuReportsDir, model.fixture), 'utf8')) as {
      pushall: { print: Json };
      get_version: { info: Json };
    };
    this.print = fixture.pushall.print;
    this.version = fixture.get_version.info;
    // A real printer reports its own address; the bridge must rewrite it, so make it observable.
    const net = this.print.net as { info?: { ip: number }[] } | undefined;
    // Encoded here as the printer's firmware stores it (the four octets read as a little-endian uint32), not with
    // the bridge's own encoder, so the bridge's rewrite is tested against an independent writer.
    if (net?.info?.[0]) net.info[0].ip = Buffer.from(ownAddress.split('.').map(Number)).readUInt32LE(0);
    const ipcam = (this.print.ipcam ?? {}) as Json;
    if (model.camera === 'rtsps') ipcam.rtsp_url = `rtsps://${ownAddress}/streaming/live/1`;
    this.print.ipcam = ipcam;
    const modules = this.version.module as Json[] | undefined;
    if (modules?.[0]) modules[0].sn = serial;
  }

  get gcodeState(): string {
    return String(this.print.gcode_state);
  }

  /** The answer to `pushall`: everything, as one push_status. */
  fullReport(sequenceId = '0'): Json {
    return { print: { ...this.print, command: 'push_status', msg: 0, sequence_id: sequenceId } };
  }

  /** What the printer pushes after a change: X1/H2 the full state, P1/A1 only the changed fields. */
  updateReport(changed: Json, sequenceId = '0'): Json {
    if (this.model.reportMode === 'full') return this.fullReport(sequenceId);
    return { print: { ...changed, command: 'push_status', msg: 1, sequence_id: sequenceId } };
  }

  /** Handles one request payload. Malformed JSON is ignored, as a printer ignores it. */
  handle(payload: Buffer): CommandOutcome {
    let message: unknown;
    try {
      message = JSON.parse(payload.toString('utf8'));
    } catch {
      return { replies: [] };
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) return { replies: [] };
    const [kind, body] = Object.entries(message as Json)[0] ?? [];
    if (kind === undefined || typeof body !== 'object' || body === null) return { replies: [] };
    const command = String((body as Json).command ?? '');
    const sequenceId = String((body as Json).sequence_id ?? '0');
    const reply = (result: 'success' | 'fail', reason: string, extra: Json = {}): Json => ({
      [kind]: { command, sequence_id: sequenceId, ...extra, result, reason },
    });

    if (kind === 'pushing' && command === 'pushall') return { replies: [this.fullReport(sequenceId)], pushall: true };
    if (kind === 'pushing' && (command === 'start' || command === 'stop')) return { replies: [] };
    if (kind === 'info' && command === 'get_version') {
      return { replies: [{ info: { ...this.version, command, sequence_id: sequenceId, result: 'success' } }] };
    }
    if (kind === 'system' && command === 'get_access_code') {
      // As printers answer it: the access code in clear, on the report topic.
      return { replies: [reply('success', 'success', { access_code: this.identity.accessCode })] };
    }
    if (kind === 'print' && command === 'project_file' && !this.busy()) {
      const problem = this.projectFileProblem((body as Json).url);
      if (problem !== undefined) {
        const changed = { print_error: printFileError };
        Object.assign(this.print, changed);
        return { replies: [reply('fail', problem)], changed };
      }
    }
    if (kind === 'print') {
      const changed = this.printControl(command, body as Json);
      if (changed === 'refused') return { replies: [reply('fail', `cannot ${command} while ${this.gcodeState}`)] };
      if (changed) {
        Object.assign(this.print, changed);
        return { replies: [reply('success', 'success', { param: (body as Json).param ?? '' })], changed };
      }
    }
    if (acknowledged[kind]?.includes(command)) return { replies: [reply('success', 'success')] };
    return { replies: [reply('fail', 'unsupported command')] };
  }

  /** Advances a running print by one step; returns the changed fields, if any. */
  tick(): Json | undefined {
    if (this.print.gcode_state !== 'RUNNING') return undefined;
    const percent = Math.min(100, Number(this.print.mc_percent ?? 0) + 2);
    const changed: Json = {
      mc_percent: percent,
      layer_num: Math.round((percent / 100) * totalLayers),
      mc_remaining_time: Math.round(((100 - percent) / 100) * (printSeconds / 60)),
      gcode_state: percent >= 100 ? 'FINISH' : 'RUNNING',
    };
    Object.assign(this.print, changed);
    return changed;
  }

  private busy(): boolean {
    return this.gcodeState === 'RUNNING' || this.gcodeState === 'PAUSE';
  }

  /**
   * Why the file a `project_file` names cannot be printed, or undefined when it can. `ftp://NAME` and
   * `ftp:///NAME` name a file in the FTP storage, `file:///sdcard/NAME` the same storage by its mount point.
   * `brtc://emmc/NAME` came over the port-6000 tunnel, which the simulator does not store: accepted unchecked.
   * No `url` at all is the simulator's shortcut for tests that only need a print running.
   */
  private projectFileProblem(url: unknown): string | undefined {
    if (url === undefined) return undefined;
    if (typeof url !== 'string') return 'url is not a string';
    if (url.startsWith('brtc://emmc/')) return undefined;
    let path: string;
    if (url.startsWith('ftp://')) path = `/${url.slice('ftp://'.length).replace(/^\/+/, '')}`;
    else if (url.startsWith('file://')) {
      const absolute = url.slice('file://'.length);
      const mount = storageMounts.find((prefix) => absolute.startsWith(prefix));
      path = mount ? `/${absolute.slice(mount.length)}` : absolute;
    } else return `unsupported url ${url}`;
    const inStorage = posix.normalize(path);
    const { storageDir } = this.identity;
    if (storageDir === undefined || inStorage !== path || !isFile(join(storageDir, inStorage)))
      return `file not found: ${url}`;
    return undefined;
  }

  private printControl(command: string, body: Json): Json | 'refused' | undefined {
    const state = this.gcodeState;
    switch (command) {
      case 'project_file':
        if (this.busy()) return 'refused';
        return {
          print_error: 0,
          gcode_state: 'RUNNING',
          mc_percent: 0,
          layer_num: 0,
          total_layer_num: totalLayers,
          mc_remaining_time: printSeconds / 60,
          subtask_name: String(body.subtask_name ?? body.param ?? ''),
          gcode_file: String(body.param ?? ''),
        };
      case 'pause':
        return state === 'RUNNING' ? { gcode_state: 'PAUSE' } : 'refused';
      case 'resume':
        return state === 'PAUSE' ? { gcode_state: 'RUNNING' } : 'refused';
      case 'stop':
        return state === 'RUNNING' || state === 'PAUSE' ? { gcode_state: 'FAILED' } : 'refused';
      default:
        return undefined;
    }
  }
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}
