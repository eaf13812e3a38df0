import type { MoatConfig } from '../../src/config/schema.js';

/** What the store-and-forward tests share: the setting, and the print command a slicer sends after its upload. */

/** Store-and-forward on for the harness's printer, with spool settings laid over the defaults. */
export function spoolOn(spool: Partial<MoatConfig['spool']> = {}) {
  return (config: MoatConfig): MoatConfig => ({
    ...config,
    printers: config.printers.map((printer) => ({ ...printer, storeAndForward: true })),
    spool: { ...config.spool, ...spool },
  });
}

/** `print.project_file` as the slicers send it for a file they uploaded to the root. */
export function projectFile(name: string, sequenceId: string): string {
  return JSON.stringify({
    print: {
      sequence_id: sequenceId,
      command: 'project_file',
      param: 'Metadata/plate_1.gcode',
      url: `ftp://${name}`,
      md5: 'from_sd_card',
    },
  });
}
