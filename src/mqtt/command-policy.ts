import { roleAllows } from '../auth/access-codes.js';
import type { Role } from '../config/schema.js';

/**
 * Which role may send which command on `device/{serial}/request`. A command is named `kind.command`
 * (`print.pause`, `pushing.pushall`) from the payload's one top-level object; a signed payload may carry
 * a `header` object beside it (Authorization Control firmware).
 */
const viewerCommands = ['pushing.pushall', 'info.get_version'];
const operatorCommands = [
  'pushing.start',
  'pushing.stop',
  'print.pause',
  'print.resume',
  'print.stop',
  'print.project_file',
  'print.print_speed',
  'system.ledctrl',
  'print.ams_change_filament',
  'print.ams_control',
  'print.ams_filament_setting',
  'print.ams_user_setting',
];
const adminCommands = ['print.gcode_line', 'print.gcode_file', 'upgrade.start'];

/**
 * Commands Moat answers itself and never forwards, whatever the role, with the reason it replies: the
 * printer's answer would carry a secret (its access code) that LAN clients must never see.
 */
const answeredByMoat: Record<string, string> = {
  'system.get_access_code':
    "refused by Moat: the printer's access code never leaves Moat; LAN clients log in with their own Moat access codes",
};

/** Moat's refusal reason for a command it never forwards; undefined for any other command. */
export function neverForwarded(name: string): string | undefined {
  return Object.hasOwn(answeredByMoat, name) ? answeredByMoat[name] : undefined;
}

/** A payload that names one command. */
export interface Command {
  ok: true;
  name: string;
  kind: string;
  command: string;
  sequenceId?: string;
}

export type ParsedCommand = Command | { ok: false; name: string; reason: string };

export function parseCommand(payload: Buffer): ParsedCommand {
  let message: unknown;
  try {
    message = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, name: 'malformed', reason: 'payload is not JSON' };
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return { ok: false, name: 'malformed', reason: 'payload is not a JSON object' };
  }
  const kinds = Object.keys(message).filter((k) => k !== 'header');
  if (kinds.length !== 1) return { ok: false, name: 'malformed', reason: 'payload must hold exactly one command' };
  const kind = kinds[0] as string;
  const body = (message as Record<string, unknown>)[kind];
  if (typeof body !== 'object' || body === null || typeof (body as { command?: unknown }).command !== 'string') {
    return { ok: false, name: `${kind}.?`, reason: 'command has no name' };
  }
  const command = (body as { command: string }).command;
  const sequenceId = (body as { sequence_id?: unknown }).sequence_id;
  return {
    ok: true,
    name: `${kind}.${command}`,
    kind,
    command,
    ...(sequenceId !== undefined && { sequenceId: String(sequenceId) }),
  };
}

export function requiredRole(name: string, unknownCommandRole: Role): Role {
  if (viewerCommands.includes(name)) return 'viewer';
  if (operatorCommands.includes(name)) return 'operator';
  if (adminCommands.includes(name)) return 'admin';
  return unknownCommandRole;
}

export function commandAllowed(role: Role, name: string, unknownCommandRole: Role): boolean {
  return roleAllows(role, requiredRole(name, unknownCommandRole));
}
