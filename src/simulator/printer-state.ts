import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ipv4ToUint32LE } from '../net/ipv4-uint32.js';
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
  system: ['ledctrl', 'get_access_code'],
};

const totalLayers = 50;
const printSeconds = 600;

export class PrinterState {
  private readonly print: Json;
  private readonly version: Json;

  constructor(
    private readonly model: PrinterModel,
    serial: string,
    ownAddress: string,
  ) {
    const fixture = JSON.parse(readFileSync(join(bambuReportsDir, model.fixture), 'utf8')) as {
      pushall: { print: Json };
      get_version: { info: Json };
    };
    this.print = fixture.pushall.print;
    this.version = fixture.get_version.info;
    // A real printer reports its own address; the bridge must rewrite it, so make it observable.
    const net = this.print.net as { info?: { ip: number }[] } | undefined;
    if (net?.info?.[0]) net.info[0].ip = ipv4ToUint32LE(ownAddress);
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

  private printControl(command: string, body: Json): Json | 'refused' | undefined {
    const state = this.gcodeState;
    switch (command) {
      case 'project_file':
        if (state === 'RUNNING' || state === 'PAUSE') return 'refused';
        return {
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
