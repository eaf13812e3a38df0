import type { Role } from '../config/schema.js';
import { type Command, commandAllowed, neverForwarded, type ParsedCommand, requiredRole } from './command-policy.js';

/** What `decide` needs of the client that sent a command. */
export interface CommandSender {
  role: Role;
  /** Whether this publish was within the client's rate (the caller took its token). */
  withinRate: boolean;
}

/** What `decide` needs of the printer a command is for. */
export interface CommandTarget {
  online: boolean;
  /** Moat holds the printer's full state, so a `pushall` can be answered at once. */
  fullState: boolean;
  /** For a `print.project_file`: the upload it waits for while Moat drains it to the printer (the print gate). */
  awaitingUpload?: string;
}

export interface CommandRules {
  /** The role a command in none of the lists needs (`mqtt.unknownCommandRole`). */
  unknownCommandRole: Role;
}

/**
 * - `refuse`: not forwarded, audited refused with `reason`.
 * - `answer`: a command Moat never forwards; refused likewise, and Moat replies in the printer's shape.
 * - `answer-from-cache`: a `pushall`; the asking client gets the cached full state (when `fullState`).
 * - `hold`: a print of a file still draining to the printer; forwarded byte for byte once it landed, else dropped.
 * - `forward`: sent to the printer byte for byte.
 */
export type CommandDecision =
  | { action: 'refuse'; reason: string }
  | { action: 'answer'; reason: string; reply: Record<string, unknown> }
  | { action: 'answer-from-cache'; command: Command; fullState: boolean }
  | { action: 'hold'; command: Command; awaiting: string }
  | { action: 'forward'; command: Command };

/** What happens to one command a LAN client published: the rate, the payload, Moat's own answers, the role, the printer. */
export function decide(
  sender: CommandSender,
  printer: CommandTarget,
  command: ParsedCommand,
  rules: CommandRules,
): CommandDecision {
  if (!sender.withinRate) return { action: 'refuse', reason: 'publish rate limit' };
  if (!command.ok) return { action: 'refuse', reason: command.reason };
  const moatsAnswer = neverForwarded(command.name);
  if (moatsAnswer !== undefined) {
    const reply = {
      command: command.command,
      sequence_id: command.sequenceId ?? '0',
      result: 'fail',
      reason: moatsAnswer,
    };
    return { action: 'answer', reason: moatsAnswer, reply: { [command.kind]: reply } };
  }
  if (!commandAllowed(sender.role, command.name, rules.unknownCommandRole)) {
    const needed = requiredRole(command.name, rules.unknownCommandRole);
    return { action: 'refuse', reason: `role ${sender.role} may not send ${command.name} (needs ${needed})` };
  }
  if (!printer.online) return { action: 'refuse', reason: 'printer offline' };
  if (command.name === 'print.project_file' && printer.awaitingUpload !== undefined)
    return { action: 'hold', command, awaiting: printer.awaitingUpload };
  if (command.name === 'pushing.pushall') return { action: 'answer-from-cache', command, fullState: printer.fullState };
  return { action: 'forward', command };
}
